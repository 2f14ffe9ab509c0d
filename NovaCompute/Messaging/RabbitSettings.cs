using System.Globalization;

namespace NovaCompute.Messaging;

/// <summary>
/// The RabbitMQ transport as oslo.messaging's <c>[oslo_messaging_rabbit]</c> group and
/// <c>[DEFAULT]transport_url</c>/<c>control_exchange</c> describe it. Defaults are oslo's
/// (nova's for <see cref="ControlExchange"/>). Built from configuration in one place
/// (<see cref="MessagingSettingsFactory"/>); tests build it directly.
/// </summary>
public sealed record RabbitSettings
{
    public required TransportUrl TransportUrl { get; init; }

    /// <summary><c>[DEFAULT]control_exchange</c>: nova overrides oslo's <c>openstack</c> with <c>nova</c>.</summary>
    public string ControlExchange { get; init; } = "nova";

    public bool AmqpDurableQueues { get; init; }
    public bool AmqpAutoDelete { get; init; }
    public bool RabbitHaQueues { get; init; }
    public bool RabbitQuorumQueue { get; init; }
    public int RabbitQuorumDeliveryLimit { get; init; }
    public int RabbitQuorumMaxMemoryLength { get; init; }
    public int RabbitQuorumMaxMemoryBytes { get; init; }

    /// <summary>Seconds; becomes <c>x-expires</c> (ms) of reply and fanout queues.</summary>
    public int RabbitTransientQueuesTtl { get; init; } = 1800;

    /// <summary>0 means "not set": the RPC server then bounds prefetch by its worker pool.</summary>
    public int RabbitQosPrefetchCount { get; init; }

    /// <summary>AMQP heartbeat in seconds; 0 disables.</summary>
    public int HeartbeatTimeoutThreshold { get; init; } = 60;

    public int RabbitRetryInterval { get; init; } = 1;
    public int RabbitRetryBackoff { get; init; } = 2;
    public int RabbitIntervalMax { get; init; } = 30;
    public double KombuReconnectDelay { get; init; } = 1.0;
    public int KombuMissingConsumerRetryTimeout { get; init; } = 60;
    public string KombuFailoverStrategy { get; init; } = "round-robin";
    public string RabbitLoginMethod { get; init; } = "AMQPLAIN";

    public bool Ssl { get; init; }
    public string SslVersion { get; init; } = "";
    public string SslKeyFile { get; init; } = "";
    public string SslCertFile { get; init; } = "";
    public string SslCaFile { get; init; } = "";
    public bool SslEnforceHostnameVerification { get; init; }
    public bool EnableCancelOnFailover { get; init; }

    /// <summary>
    /// First part of the AMQP connection name (oslo: basename of argv[0]); the name is
    /// <c>&lt;prefix&gt;:&lt;pid&gt;:&lt;uuid&gt;</c> as oslo's, so operators find our connections the same way.
    /// </summary>
    public string ConnectionNamePrefix { get; init; } = "nova-compute";

    /// <summary>Whether the topic exchange and topic queues are durable (oslo_messaging/_drivers/impl_rabbit.py: durable or quorum).</summary>
    internal bool TopicDurable => AmqpDurableQueues || RabbitQuorumQueue;

    /// <summary>Port used for hosts written without one: kombu uses 5671 for TLS.</summary>
    internal int DefaultPort => Ssl ? 5671 : 5672;

    /// <summary>Arguments of the shared topic queue and the per-server queue.</summary>
    internal Dictionary<string, object?> TopicQueueArguments()
    {
        var args = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (RabbitHaQueues)
        {
            args["x-ha-policy"] = "all";
        }
        if (RabbitQuorumQueue)
        {
            args["x-queue-type"] = "quorum";
            if (RabbitQuorumDeliveryLimit > 0)
            {
                args["x-delivery-limit"] = RabbitQuorumDeliveryLimit;
            }
            if (RabbitQuorumMaxMemoryLength > 0)
            {
                args["x-max-in-memory-length"] = RabbitQuorumMaxMemoryLength;
            }
            if (RabbitQuorumMaxMemoryBytes > 0)
            {
                args["x-max-in-memory-bytes"] = RabbitQuorumMaxMemoryBytes;
            }
        }
        return args;
    }

    /// <summary>Arguments of reply and fanout queues: never quorum, expire when unused.</summary>
    internal Dictionary<string, object?> TransientQueueArguments()
    {
        var args = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["x-expires"] = RabbitTransientQueuesTtl * 1000,
        };
        if (RabbitHaQueues)
        {
            args["x-ha-policy"] = "all";
        }
        return args;
    }

    /// <summary>Every problem with these settings, all at once (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (TransportUrl.Scheme is not ("rabbit" or "kombu") && !TransportUrl.Scheme.StartsWith("kombu+", StringComparison.Ordinal))
        {
            errors.Add($"transport_url: unsupported driver '{TransportUrl.Scheme}' (only rabbit is implemented)");
        }
        if (RabbitQuorumQueue && RabbitHaQueues)
        {
            errors.Add("Configuration Error: rabbit_quorum_queue and rabbit_ha_queues both enabled, queue type is quorum or HA (mirrored) not both");
        }
        if (RabbitTransientQueuesTtl < 1)
        {
            errors.Add("rabbit_transient_queues_ttl: must be at least 1");
        }
        if (KombuReconnectDelay is < 0.0 or > 4.5)
        {
            errors.Add("kombu_reconnect_delay: must be between 0.0 and 4.5");
        }
        if (KombuFailoverStrategy is not ("round-robin" or "shuffle"))
        {
            errors.Add($"kombu_failover_strategy: '{KombuFailoverStrategy}' is not one of round-robin, shuffle");
        }
        if (RabbitLoginMethod is not ("PLAIN" or "AMQPLAIN" or "EXTERNAL" or "RABBIT-CR-DEMO"))
        {
            errors.Add($"rabbit_login_method: '{RabbitLoginMethod}' is not one of PLAIN, AMQPLAIN, EXTERNAL, RABBIT-CR-DEMO");
        }
        if (RabbitQosPrefetchCount is < 0 or > ushort.MaxValue)
        {
            errors.Add($"rabbit_qos_prefetch_count: must be between 0 and {ushort.MaxValue}");
        }
        if (Ssl && SslCertFile.Length > 0 != SslKeyFile.Length > 0)
        {
            errors.Add("ssl_cert_file and ssl_key_file must be set together");
        }
        return errors;
    }

    /// <summary>
    /// Applies the URL's query string: each key overrides the <c>[oslo_messaging_rabbit]</c> option of
    /// the same name for this transport; an unknown key is an error, as in oslo.
    /// </summary>
    public RabbitSettings WithUrlOverrides()
    {
        var result = this;
        foreach (var (key, value) in TransportUrl.Query)
        {
            if (!Overrides.TryGetValue(key, out var apply))
            {
                throw new InvalidTransportUrlException(TransportUrl.ToString(), $"Unknown query option '{key}'");
            }
            try
            {
                result = apply(result, value);
            }
            catch (FormatException ex)
            {
                throw new InvalidTransportUrlException(TransportUrl.ToString(), $"Invalid value for '{key}': {ex.Message}");
            }
        }
        return result;
    }

    private static readonly Dictionary<string, Func<RabbitSettings, string, RabbitSettings>> Overrides = new(StringComparer.Ordinal)
    {
        ["amqp_durable_queues"] = (s, v) => s with { AmqpDurableQueues = ParseBool(v) },
        ["amqp_auto_delete"] = (s, v) => s with { AmqpAutoDelete = ParseBool(v) },
        ["rabbit_ha_queues"] = (s, v) => s with { RabbitHaQueues = ParseBool(v) },
        ["rabbit_quorum_queue"] = (s, v) => s with { RabbitQuorumQueue = ParseBool(v) },
        ["rabbit_quorum_delivery_limit"] = (s, v) => s with { RabbitQuorumDeliveryLimit = ParseInt(v) },
        ["rabbit_quroum_max_memory_length"] = (s, v) => s with { RabbitQuorumMaxMemoryLength = ParseInt(v) },
        ["rabbit_quroum_max_memory_bytes"] = (s, v) => s with { RabbitQuorumMaxMemoryBytes = ParseInt(v) },
        ["rabbit_transient_queues_ttl"] = (s, v) => s with { RabbitTransientQueuesTtl = ParseInt(v) },
        ["rabbit_qos_prefetch_count"] = (s, v) => s with { RabbitQosPrefetchCount = ParseInt(v) },
        ["heartbeat_timeout_threshold"] = (s, v) => s with { HeartbeatTimeoutThreshold = ParseInt(v) },
        ["heartbeat_rate"] = (s, v) => { ParseInt(v); return s; },
        ["heartbeat_in_pthread"] = (s, v) => { ParseBool(v); return s; },
        ["rabbit_retry_interval"] = (s, v) => s with { RabbitRetryInterval = ParseInt(v) },
        ["rabbit_retry_backoff"] = (s, v) => s with { RabbitRetryBackoff = ParseInt(v) },
        ["rabbit_interval_max"] = (s, v) => s with { RabbitIntervalMax = ParseInt(v) },
        ["kombu_reconnect_delay"] = (s, v) => s with { KombuReconnectDelay = double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture) },
        ["kombu_missing_consumer_retry_timeout"] = (s, v) => s with { KombuMissingConsumerRetryTimeout = ParseInt(v) },
        ["kombu_failover_strategy"] = (s, v) => s with { KombuFailoverStrategy = v },
        ["kombu_compression"] = (s, _) => s,
        ["rabbit_login_method"] = (s, v) => s with { RabbitLoginMethod = v },
        ["ssl"] = (s, v) => s with { Ssl = ParseBool(v) },
        ["ssl_version"] = (s, v) => s with { SslVersion = v },
        ["ssl_key_file"] = (s, v) => s with { SslKeyFile = v },
        ["ssl_cert_file"] = (s, v) => s with { SslCertFile = v },
        ["ssl_ca_file"] = (s, v) => s with { SslCaFile = v },
        ["ssl_enforce_hostname_verification"] = (s, v) => s with { SslEnforceHostnameVerification = ParseBool(v) },
        ["ssl_enforce_fips_mode"] = (s, v) => { ParseBool(v); return s; },
        ["enable_cancel_on_failover"] = (s, v) => s with { EnableCancelOnFailover = ParseBool(v) },
        ["direct_mandatory_flag"] = (s, v) => { ParseBool(v); return s; },
        ["rpc_conn_pool_size"] = (s, v) => { ParseInt(v); return s; },
        ["conn_pool_min_size"] = (s, v) => { ParseInt(v); return s; },
        ["conn_pool_ttl"] = (s, v) => { ParseInt(v); return s; },
    };

    /// <summary>oslo.config's Boolean type: true/1/on/yes and false/0/off/no, any case.</summary>
    internal static bool ParseBool(string value) => value.Trim().ToLowerInvariant() switch
    {
        "true" or "1" or "on" or "yes" => true,
        "false" or "0" or "off" or "no" => false,
        _ => throw new FormatException($"'{value}' is not a boolean"),
    };

    private static int ParseInt(string value) =>
        int.TryParse(value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i)
            ? i
            : throw new FormatException($"'{value}' is not an integer");
}
