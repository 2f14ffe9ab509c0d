using NovaCompute.Config;
using NovaCompute.Messaging.Rpc;

namespace NovaCompute.Messaging;

/// <summary>
/// The one place where configuration becomes messaging settings: the transport from
/// <c>transport_url</c> (with its query overrides), <c>control_exchange</c> and
/// <c>[oslo_messaging_rabbit]</c>; the RPC server from <c>host</c>, <c>executor_thread_pool_size</c>
/// and <c>graceful_shutdown_timeout</c>; the client from <c>rpc_response_timeout</c>.
/// </summary>
public static class MessagingSettingsFactory
{
    /// <summary>
    /// Every problem with the messaging configuration, all at once (empty when valid): the transport
    /// URL's located where it was set, as the loader's are (file:line: ...).
    /// </summary>
    public static IReadOnlyList<ConfigProblem> Validate(NovaConfig config)
    {
        try
        {
            var problems = Rabbit(config).Validate()
                .Select(e => e.StartsWith("transport_url:", StringComparison.Ordinal)
                    ? ConfigProblem.For(config, MessagingOptions.TransportUrl, e)
                    : ConfigProblem.InGroup(MessagingOptions.RabbitQuorumQueue.Group, e))
                .ToList();
            problems.AddRange(RpcServer(config).Validate().Select(e => ConfigProblem.InGroup(ConfigGroups.Default, e)));
            return problems;
        }
        catch (InvalidTransportUrlException ex)
        {
            return [ConfigProblem.For(config, MessagingOptions.TransportUrl, $"transport_url: {ex.Message}")];
        }
    }

    /// <exception cref="InvalidTransportUrlException">transport_url cannot be parsed or has an unknown query option.</exception>
    public static RabbitSettings Rabbit(NovaConfig config, string connectionNamePrefix = "nova-compute")
    {
        var url = TransportUrl.Parse(config.Get(MessagingOptions.TransportUrl) ?? "rabbit://");
        return new RabbitSettings
        {
            TransportUrl = url,
            ControlExchange = config.Get(MessagingOptions.ControlExchange) ?? "nova",
            AmqpDurableQueues = config.Get(MessagingOptions.AmqpDurableQueues),
            AmqpAutoDelete = config.Get(MessagingOptions.AmqpAutoDelete),
            RabbitHaQueues = config.Get(MessagingOptions.RabbitHaQueues),
            RabbitQuorumQueue = config.Get(MessagingOptions.RabbitQuorumQueue),
            RabbitQuorumDeliveryLimit = config.Get(MessagingOptions.RabbitQuorumDeliveryLimit),
            RabbitQuorumMaxMemoryLength = config.Get(MessagingOptions.RabbitQuroumMaxMemoryLength),
            RabbitQuorumMaxMemoryBytes = config.Get(MessagingOptions.RabbitQuroumMaxMemoryBytes),
            RabbitTransientQueuesTtl = config.Get(MessagingOptions.RabbitTransientQueuesTtl),
            RabbitQosPrefetchCount = config.Get(MessagingOptions.RabbitQosPrefetchCount),
            HeartbeatTimeoutThreshold = config.Get(MessagingOptions.HeartbeatTimeoutThreshold),
            RabbitRetryInterval = config.Get(MessagingOptions.RabbitRetryInterval),
            RabbitRetryBackoff = config.Get(MessagingOptions.RabbitRetryBackoff),
            RabbitIntervalMax = config.Get(MessagingOptions.RabbitIntervalMax),
            KombuReconnectDelay = config.Get(MessagingOptions.KombuReconnectDelay),
            KombuMissingConsumerRetryTimeout = config.Get(MessagingOptions.KombuMissingConsumerRetryTimeout),
            KombuFailoverStrategy = config.Get(MessagingOptions.KombuFailoverStrategy) ?? "round-robin",
            RabbitLoginMethod = config.Get(MessagingOptions.RabbitLoginMethod) ?? "AMQPLAIN",
            Ssl = config.Get(MessagingOptions.Ssl),
            SslVersion = config.Get(MessagingOptions.SslVersion) ?? "",
            SslKeyFile = config.Get(MessagingOptions.SslKeyFile) ?? "",
            SslCertFile = config.Get(MessagingOptions.SslCertFile) ?? "",
            SslCaFile = config.Get(MessagingOptions.SslCaFile) ?? "",
            SslEnforceHostnameVerification = config.Get(MessagingOptions.SslEnforceHostnameVerification),
            EnableCancelOnFailover = config.Get(MessagingOptions.EnableCancelOnFailover),
            ConnectionNamePrefix = connectionNamePrefix,
        }.WithUrlOverrides();
    }

    public static RpcServerSettings RpcServer(NovaConfig config, string topic = "compute") => new()
    {
        Topic = topic,
        Server = config.Get(ServiceOptions.Host) ?? "",
        ExecutorThreadPoolSize = config.Get(MessagingOptions.ExecutorThreadPoolSize),
        GracefulShutdownTimeout = TimeSpan.FromSeconds(Math.Max(0, config.Get(ServiceOptions.GracefulShutdownTimeout))),
        RpcResponseTimeout = TimeSpan.FromSeconds(config.Get(MessagingOptions.RpcResponseTimeout)),
        MaxMessageBytes = config.Get(MessagingOptions.RabbitMaxMessageSize),
    };

    public static RpcClientSettings RpcClient(NovaConfig config) => new()
    {
        RpcResponseTimeout = TimeSpan.FromSeconds(config.Get(MessagingOptions.RpcResponseTimeout)),
    };
}
