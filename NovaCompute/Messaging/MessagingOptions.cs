using NovaCompute.Config;

namespace NovaCompute.Messaging;

/// <summary>
/// oslo.messaging's options (<c>[DEFAULT]</c> transport and RPC options, <c>[oslo_messaging_rabbit]</c>)
/// with oslo's names, groups, defaults, bounds, deprecated names and help, so an existing nova.conf
/// reads the same. nova sets <c>control_exchange</c> to <c>nova</c>. The connection-pool options are
/// accepted for compatibility but unused (this transport has no pool to exhaust); they are declared
/// in <c>[oslo_messaging_rabbit]</c>, where the driver reads them, not in <c>[DEFAULT]</c> where oslo's
/// sample misplaces two of them.
/// </summary>
public static class MessagingOptions
{
    private const string RabbitGroup = "oslo_messaging_rabbit";

    public static readonly IntOpt RpcConnPoolSize = new("rpc_conn_pool_size", 30)
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        Min = 1,
        DeprecatedNames = [new("DEFAULT", null)],
        Help = """
            Size of RPC connection pool.
            """,
    };

    public static readonly IntOpt ConnPoolMinSize = new("conn_pool_min_size", 2)
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        Help = """
            The pool size limit for connections expiration policy
            """,
    };

    public static readonly IntOpt ConnPoolTtl = new("conn_pool_ttl", 1200)
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        Help = """
            The time-to-live in sec of idle connections in the pool
            """,
    };

    public static readonly IntOpt ExecutorThreadPoolSize = new("executor_thread_pool_size", 64)
    {
        Namespace = "oslo.messaging",
        DeprecatedNames = [new(null, "rpc_thread_pool_size")],
        Help = """
            Size of executor thread pool when executor is threading or eventlet.
            """,
    };

    public static readonly IntOpt RpcResponseTimeout = new("rpc_response_timeout", 60)
    {
        Namespace = "oslo.messaging",
        Help = """
            Seconds to wait for a response from a call.
            """,
    };

    public static readonly StrOpt TransportUrl = new("transport_url", "rabbit://")
    {
        Namespace = "oslo.messaging",
        Secret = true,
        Help = """
            The network address and optional user credentials for connecting to the messaging backend, in URL format. The expected format is:
            
            driver://[user:pass@]host:port[,[userN:passN@]hostN:portN]/virtual_host?query
            
            Example: rabbit://rabbitmq:password@127.0.0.1:5672//
            
            For full details on the fields in the URL see the documentation of oslo_messaging.TransportURL at https://docs.openstack.org/oslo.messaging/latest/reference/transport.html
            """,
    };

    public static readonly StrOpt ControlExchange = new("control_exchange", "nova")
    {
        Namespace = "oslo.messaging",
        Help = """
            The default exchange under which topics are scoped. May be overridden by an exchange name specified in the transport_url option.
            """,
    };

    public static readonly BoolOpt RpcPingEnabled = new("rpc_ping_enabled", false)
    {
        Namespace = "oslo.messaging",
        Help = """
            Add an endpoint to answer to ping calls. Endpoint is named oslo_rpc_server_ping
            """,
    };

    public static readonly BoolOpt AmqpDurableQueues = new("amqp_durable_queues", false)
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        Help = """
            Use durable queues in AMQP. If rabbit_quorum_queue is enabled, queues will be durable and this value will be ignored.
            """,
    };

    public static readonly BoolOpt AmqpAutoDelete = new("amqp_auto_delete", false)
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        DeprecatedNames = [new("DEFAULT", null)],
        Help = """
            Auto-delete queues in AMQP.
            """,
    };

    public static readonly BoolOpt Ssl = new("ssl", false)
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        DeprecatedNames = [new(null, "rabbit_use_ssl")],
        Help = """
            Connect over SSL.
            """,
    };

    public static readonly StrOpt SslVersion = new("ssl_version", "")
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        DeprecatedNames = [new(null, "kombu_ssl_version")],
        Help = """
            SSL version to use (valid only if SSL enabled). Valid values are TLSv1 and SSLv23. SSLv2, SSLv3, TLSv1_1, and TLSv1_2 may be available on some distributions.
            """,
    };

    public static readonly StrOpt SslKeyFile = new("ssl_key_file", "")
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        DeprecatedNames = [new(null, "kombu_ssl_keyfile")],
        Help = """
            SSL key file (valid only if SSL enabled).
            """,
    };

    public static readonly StrOpt SslCertFile = new("ssl_cert_file", "")
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        DeprecatedNames = [new(null, "kombu_ssl_certfile")],
        Help = """
            SSL cert file (valid only if SSL enabled).
            """,
    };

    public static readonly StrOpt SslCaFile = new("ssl_ca_file", "")
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        DeprecatedNames = [new(null, "kombu_ssl_ca_certs")],
        Help = """
            SSL certification authority file (valid only if SSL enabled).
            """,
    };

    public static readonly BoolOpt SslEnforceHostnameVerification = new("ssl_enforce_hostname_verification", false)
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        Help = """
            When true, verify the broker hostname against the certificate when ``ssl_ca_file`` is set. When false (default on stable branches), ``ssl`` with ``ssl_ca_file`` still validates the certificate chain but does not verify the broker hostname. ``ssl=true`` without ``ssl_ca_file`` never enables hostname verification.
            """,
    };

    public static readonly BoolOpt SslEnforceFipsMode = new("ssl_enforce_fips_mode", false)
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        Help = """
            Global toggle for enforcing the OpenSSL FIPS mode. This feature requires Python support. This is available in Python 3.9 in all environments and may have been backported to older Python versions on select environments. If the Python executable used does not support OpenSSL FIPS mode, an exception will be raised.
            """,
    };

    public static readonly BoolOpt HeartbeatInPthread = new("heartbeat_in_pthread", false)
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        Help = """
            Run the health check heartbeat thread through a native python thread by default. If this option is equal to False then the health check heartbeat will inherit the execution model from the parent process. For example if the parent process has monkey patched the stdlib by using eventlet/greenlet then the heartbeat will be run through a green thread. This option should be set to True only for the wsgi services.
            """,
    };

    public static readonly FloatOpt KombuReconnectDelay = new("kombu_reconnect_delay", 1.0)
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        Min = 0.0,
        Max = 4.5,
        DeprecatedNames = [new("DEFAULT", null)],
        Help = """
            How long to wait (in seconds) before reconnecting in response to an AMQP consumer cancel notification.
            """,
    };

    public static readonly StrOpt KombuCompression = new("kombu_compression", null)
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        Help = """
            EXPERIMENTAL: Possible values are: gzip, bz2. If not set compression will not be used. This option may not be available in future versions.
            """,
    };

    public static readonly IntOpt KombuMissingConsumerRetryTimeout = new("kombu_missing_consumer_retry_timeout", 60)
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        DeprecatedNames = [new(null, "kombu_reconnect_timeout")],
        Help = """
            How long to wait a missing client before abandoning to send it its replies. This value should not be longer than rpc_response_timeout.
            """,
    };

    public static readonly StrOpt KombuFailoverStrategy = new("kombu_failover_strategy", "round-robin")
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        Choices = [new("round-robin"), new("shuffle")],
        Help = """
            Determines how the next RabbitMQ node is chosen in case the one we are currently connected to becomes unavailable. Takes effect only if more than one RabbitMQ node is provided in config.
            """,
    };

    public static readonly StrOpt RabbitLoginMethod = new("rabbit_login_method", "AMQPLAIN")
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        Choices = [new("PLAIN"), new("AMQPLAIN"), new("EXTERNAL"), new("RABBIT-CR-DEMO")],
        DeprecatedNames = [new("DEFAULT", null)],
        Help = """
            The RabbitMQ login method.
            """,
    };

    public static readonly IntOpt RabbitRetryInterval = new("rabbit_retry_interval", 1)
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        Help = """
            How frequently to retry connecting with RabbitMQ.
            """,
    };

    public static readonly IntOpt RabbitRetryBackoff = new("rabbit_retry_backoff", 2)
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        DeprecatedNames = [new("DEFAULT", null)],
        Help = """
            How long to backoff for between retries when connecting to RabbitMQ.
            """,
    };

    public static readonly IntOpt RabbitIntervalMax = new("rabbit_interval_max", 30)
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        Help = """
            Maximum interval of RabbitMQ connection retries. Default is 30 seconds.
            """,
    };

    public static readonly BoolOpt RabbitHaQueues = new("rabbit_ha_queues", false)
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        DeprecatedNames = [new("DEFAULT", null)],
        Help = """
            Try to use HA queues in RabbitMQ (x-ha-policy: all). If you change this option, you must wipe the RabbitMQ database. In RabbitMQ 3.0, queue mirroring is no longer controlled by the x-ha-policy argument when declaring a queue. If you just want to make sure that all queues (except those with auto-generated names) are mirrored across all nodes, run: "rabbitmqctl set_policy HA '^(?!amq\.).*' '{"ha-mode": "all"}' "
            """,
    };

    public static readonly BoolOpt RabbitQuorumQueue = new("rabbit_quorum_queue", false)
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        Help = """
            Use quorum queues in RabbitMQ (x-queue-type: quorum). The quorum queue is a modern queue type for RabbitMQ implementing a durable, replicated FIFO queue based on the Raft consensus algorithm. It is available as of RabbitMQ 3.8.0. If set this option will conflict with the HA queues (``rabbit_ha_queues``) aka mirrored queues, in other words the HA queues should be disabled, quorum queues durable by default so the amqp_durable_queues opion is ignored when this option enabled.
            """,
    };

    public static readonly IntOpt RabbitQuorumDeliveryLimit = new("rabbit_quorum_delivery_limit", 0)
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        Help = """
            Each time a message is redelivered to a consumer, a counter is incremented. Once the redelivery count exceeds the delivery limit the message gets dropped or dead-lettered (if a DLX exchange has been configured) Used only when rabbit_quorum_queue is enabled, Default 0 which means dont set a limit.
            """,
    };

    public static readonly IntOpt RabbitQuroumMaxMemoryLength = new("rabbit_quroum_max_memory_length", 0)
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        Help = """
            By default all messages are maintained in memory if a quorum queue grows in length it can put memory pressure on a cluster. This option can limit the number of messages in the quorum queue. Used only when rabbit_quorum_queue is enabled, Default 0 which means dont set a limit.
            """,
    };

    public static readonly IntOpt RabbitQuroumMaxMemoryBytes = new("rabbit_quroum_max_memory_bytes", 0)
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        Help = """
            By default all messages are maintained in memory if a quorum queue grows in length it can put memory pressure on a cluster. This option can limit the number of memory bytes used by the quorum queue. Used only when rabbit_quorum_queue is enabled, Default 0 which means dont set a limit.
            """,
    };

    public static readonly IntOpt RabbitTransientQueuesTtl = new("rabbit_transient_queues_ttl", 1800)
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        Min = 1,
        Help = """
            Positive integer representing duration in seconds for queue TTL (x-expires). Queues which are unused for the duration of the TTL are automatically deleted. The parameter affects only reply and fanout queues.
            """,
    };

    public static readonly IntOpt RabbitQosPrefetchCount = new("rabbit_qos_prefetch_count", 0)
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        Help = """
            Specifies the number of messages to prefetch. Setting to zero allows unlimited messages.
            """,
    };

    /// <summary>
    /// Not an oslo option (oslo decodes whatever arrives, however big): a body above it is refused
    /// before it is copied or parsed. In [oslo_messaging_rabbit] because it limits what the rabbit
    /// driver accepts, next to the broker's own max_message_size that it must stay below to matter.
    /// </summary>
    public static readonly IntOpt RabbitMaxMessageSize = new("rabbit_max_message_size", 32 * 1024 * 1024)
    {
        Group = RabbitGroup,
        Min = 1024,
        Max = 512 * 1024 * 1024,
        Help = """
            Largest RPC message body, in bytes, that the RPC server accepts. A bigger body is refused with an error in the log (and an error reply when it names its reply queue) before it is copied or decoded. RabbitMQ's max_message_size still applies to every client.
            """,
    };

    public static readonly IntOpt HeartbeatTimeoutThreshold = new("heartbeat_timeout_threshold", 60)
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        Help = """
            Number of seconds after which the Rabbit broker is considered down if heartbeat's keep-alive fails (0 disables heartbeat).
            """,
    };

    public static readonly IntOpt HeartbeatRate = new("heartbeat_rate", 2)
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        Help = """
            How often times during the heartbeat_timeout_threshold we check the heartbeat.
            """,
    };

    public static readonly BoolOpt DirectMandatoryFlag = new("direct_mandatory_flag", true)
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        DeprecatedForRemoval = true,
        Help = """
            (DEPRECATED) Enable/Disable the RabbitMQ mandatory flag for direct send. The direct send is used as reply, so the MessageUndeliverable exception is raised in case the client queue does not exist.MessageUndeliverable exception will be used to loop for a timeout to lets a chance to sender to recover.This flag is deprecated and it will not be possible to deactivate this functionality anymore
            """,
    };

    public static readonly BoolOpt EnableCancelOnFailover = new("enable_cancel_on_failover", false)
    {
        Group = RabbitGroup,
        Namespace = "oslo.messaging",
        Help = """
            Enable x-cancel-on-ha-failover flag so that rabbitmq server will cancel and notify consumerswhen queue is down
            """,
    };

    public static IReadOnlyList<Opt> All { get; } =
    [
        RpcConnPoolSize,
        ConnPoolMinSize,
        ConnPoolTtl,
        ExecutorThreadPoolSize,
        RpcResponseTimeout,
        TransportUrl,
        ControlExchange,
        RpcPingEnabled,
        AmqpDurableQueues,
        AmqpAutoDelete,
        Ssl,
        SslVersion,
        SslKeyFile,
        SslCertFile,
        SslCaFile,
        SslEnforceHostnameVerification,
        SslEnforceFipsMode,
        HeartbeatInPthread,
        KombuReconnectDelay,
        KombuCompression,
        KombuMissingConsumerRetryTimeout,
        KombuFailoverStrategy,
        RabbitLoginMethod,
        RabbitRetryInterval,
        RabbitRetryBackoff,
        RabbitIntervalMax,
        RabbitHaQueues,
        RabbitQuorumQueue,
        RabbitQuorumDeliveryLimit,
        RabbitQuroumMaxMemoryLength,
        RabbitQuroumMaxMemoryBytes,
        RabbitTransientQueuesTtl,
        RabbitQosPrefetchCount,
        RabbitMaxMessageSize,
        HeartbeatTimeoutThreshold,
        HeartbeatRate,
        DirectMandatoryFlag,
        EnableCancelOnFailover,
    ];
}
