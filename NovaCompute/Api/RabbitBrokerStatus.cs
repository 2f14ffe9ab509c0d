using NovaCompute.Messaging;

namespace NovaCompute.Api;

/// <summary>The RPC layer's consume connection (the one the RPC server listens on), as the status document shows it.</summary>
internal sealed class RabbitBrokerStatus(RabbitTransport transport, TimeProvider time) : IBrokerConnectionStatus
{
    private readonly object _gate = new();
    private bool? _lastSeen;
    private DateTimeOffset? _since;

    public bool IsConnected
    {
        get
        {
            var open = transport.ConsumeConnection.IsOpen;
            lock (_gate)
            {
                // Changes are noticed when someone looks: "since" is when the status first saw this state.
                if (_lastSeen != open)
                {
                    _lastSeen = open;
                    _since = time.GetUtcNow();
                }
            }
            return open;
        }
    }

    public string? Detail => $"{transport.Settings.TransportUrl} ({(transport.ConsumeConnection.IsOpen ? "connected" : "unreachable, retrying")})";

    public DateTimeOffset? Since
    {
        get
        {
            lock (_gate)
            {
                return _since;
            }
        }
    }
}
