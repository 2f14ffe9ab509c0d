namespace NovaCompute.Messaging;

/// <summary>
/// The state of this daemon's connection to its message broker, for the status document. The RPC
/// layer implements it; until it is registered the document says the broker is not known.
/// </summary>
public interface IBrokerConnectionStatus
{
    /// <summary>True while a connection to the broker is open.</summary>
    bool IsConnected { get; }

    /// <summary>Where it is connected to (password masked), or why it is not.</summary>
    string? Detail { get; }

    /// <summary>When <see cref="IsConnected"/> last changed (this process's clock).</summary>
    DateTimeOffset? Since { get; }
}
