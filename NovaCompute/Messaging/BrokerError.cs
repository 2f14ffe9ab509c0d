using RabbitMQ.Client.Exceptions;

namespace NovaCompute.Messaging;

/// <summary>What a broker operation throws when the connection or channel went away under it.</summary>
internal static class BrokerError
{
    /// <summary>The channel or connection is closed, was closed by the broker, or the socket failed or timed out.</summary>
    public static bool IsGone(Exception ex) =>
        ex is AlreadyClosedException or OperationInterruptedException or IOException or TimeoutException;
}
