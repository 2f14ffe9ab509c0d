using Microsoft.Extensions.Logging;

namespace NovaCompute.Messaging;

/// <summary>
/// Log events of the AMQP transport (event ids 4000–4049). Texts follow oslo.messaging's
/// <c>impl_rabbit</c> lines where one exists; brokers appear as host:port only, never with credentials.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(4000, LogLevel.Information,
        "[{ConnectionId}] Connected to AMQP server on {Host}:{Port} via [amqp] client with port {ClientPort}. ({Purpose} connection)")]
    public static partial void Connected(ILogger logger, string connectionId, string host, int port, string purpose, int clientPort);

    [LoggerMessage(4001, LogLevel.Error, "[{ConnectionId}] Connection failed: {Error} (brokers {Brokers}; retrying in {RetryIn} seconds)")]
    public static partial void ConnectFailed(ILogger logger, string connectionId, string brokers, string error, double retryIn);

    [LoggerMessage(4002, LogLevel.Error,
        "[{ConnectionId}] AMQP server on {Host}:{Port} is unreachable: {Error}. Trying again in {RetryIn} seconds.")]
    public static partial void ConnectionLost(ILogger logger, string connectionId, string host, int port, string error, int retryIn);

    [LoggerMessage(4003, LogLevel.Information,
        "[{ConnectionId}] Reconnected to AMQP server on {Host}:{Port} via [amqp] client with port {ClientPort}. ({Purpose} connection)")]
    public static partial void Reconnected(ILogger logger, string connectionId, string host, int port, string purpose, int clientPort);

    [LoggerMessage(4004, LogLevel.Warning,
        "[{ConnectionId}] Reconnecting to AMQP server on {Host}:{Port} failed: {Error}. Trying again in {RetryIn} seconds.")]
    public static partial void ReconnectFailed(ILogger logger, string connectionId, string host, int port, string error, int retryIn);

    [LoggerMessage(4005, LogLevel.Error, "The broker has blocked the connection: {Reason}")]
    public static partial void Blocked(ILogger logger, string reason);

    [LoggerMessage(4006, LogLevel.Information, "The broker has unblocked the connection")]
    public static partial void Unblocked(ILogger logger);

    [LoggerMessage(4007, LogLevel.Error, "[{ConnectionId}] Unexpected error in an AMQP callback")]
    public static partial void CallbackFailed(ILogger logger, Exception exception, string connectionId);

    [LoggerMessage(4008, LogLevel.Warning, "[{ConnectionId}] Closing the AMQP connection failed")]
    public static partial void CloseFailed(ILogger logger, Exception exception, string connectionId);

    [LoggerMessage(4009, LogLevel.Warning,
        "All hosts must be set with username/password or not at the same time. Hosts with credentials are: {WithCredentials}. Hosts without credentials are {WithoutCredentials}.")]
    public static partial void MixedCredentials(ILogger logger, string withCredentials, string withoutCredentials);

    [LoggerMessage(4010, LogLevel.Error, "Failed to publish message to exchange '{Exchange}' with routing key '{RoutingKey}': {Error}. Retrying in {RetryIn} seconds.")]
    public static partial void PublishFailed(ILogger logger, string exchange, string routingKey, string error, double retryIn);

    [LoggerMessage(4011, LogLevel.Warning, "Publisher channel closed: {Reason}; unconfirmed messages will be published again")]
    public static partial void PublisherChannelClosed(ILogger logger, string reason);

    [LoggerMessage(4012, LogLevel.Debug, "[{ConnectionId}] A connect attempt its caller stopped waiting for ended: {Outcome}")]
    public static partial void AbandonedConnectEnded(ILogger logger, string connectionId, string outcome);
}
