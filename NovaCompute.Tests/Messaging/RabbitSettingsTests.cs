using NovaCompute.Messaging;

namespace NovaCompute.Tests.Messaging;

public class RabbitSettingsTests
{
    private static RabbitSettings For(string url) => new() { TransportUrl = TransportUrl.Parse(url) };

    [Test]
    public void Defaults_AreOslosAndNovasExchange()
    {
        var s = For("rabbit://h/");
        Assert.That((s.ControlExchange, s.HeartbeatTimeoutThreshold, s.RabbitRetryInterval, s.RabbitRetryBackoff, s.RabbitIntervalMax,
            s.RabbitTransientQueuesTtl, s.KombuMissingConsumerRetryTimeout, s.RabbitLoginMethod),
            Is.EqualTo(("nova", 60, 1, 2, 30, 1800, 60, "AMQPLAIN")));
        Assert.That(s.Validate(), Is.Empty);
    }

    [Test]
    public void WithUrlOverrides_KnownKeys_OverrideTheGroupOptions()
    {
        var s = For("rabbit://h/?heartbeat_timeout_threshold=30&amqp_durable_queues=yes&ssl=true&kombu_reconnect_delay=0.5").WithUrlOverrides();
        Assert.That((s.HeartbeatTimeoutThreshold, s.AmqpDurableQueues, s.Ssl, s.KombuReconnectDelay), Is.EqualTo((30, true, true, 0.5)));
        Assert.That(s.DefaultPort, Is.EqualTo(5671));
    }

    [Test]
    public void WithUrlOverrides_UnknownKeyOrBadValue_Error()
    {
        Assert.That(() => For("rabbit://h/?no_such_option=1").WithUrlOverrides(),
            Throws.TypeOf<InvalidTransportUrlException>().With.Property("Reason").EqualTo("Unknown query option 'no_such_option'"));
        Assert.That(() => For("rabbit://h/?ssl=maybe").WithUrlOverrides(),
            Throws.TypeOf<InvalidTransportUrlException>().With.Property("Reason").Contains("'maybe' is not a boolean"));
    }

    [Test]
    public void Validate_QuorumAndHa_OslosConfigurationErrorAmongOthers()
    {
        var s = For("amqp://h/") with { RabbitQuorumQueue = true, RabbitHaQueues = true, KombuReconnectDelay = 9 };
        Assert.That(s.Validate(), Is.EqualTo(new[]
        {
            "transport_url: unsupported driver 'amqp' (only rabbit is implemented)",
            "Configuration Error: rabbit_quorum_queue and rabbit_ha_queues both enabled, queue type is quorum or HA (mirrored) not both",
            "kombu_reconnect_delay: must be between 0.0 and 4.5",
        }));
    }

    [Test]
    public void QueueArguments_HaQuorumAndTransient_AsOsloDeclaresThem()
    {
        var quorum = For("rabbit://h/") with { RabbitQuorumQueue = true, RabbitQuorumDeliveryLimit = 5, RabbitQuorumMaxMemoryLength = 10, RabbitQuorumMaxMemoryBytes = 20 };
        var ha = For("rabbit://h/") with { RabbitHaQueues = true };

        Assert.That(quorum.TopicQueueArguments(), Is.EqualTo(new Dictionary<string, object?>
        {
            ["x-queue-type"] = "quorum",
            ["x-delivery-limit"] = 5,
            ["x-max-in-memory-length"] = 10,
            ["x-max-in-memory-bytes"] = 20,
        }));
        Assert.That(quorum.TopicDurable, Is.True);
        Assert.That(ha.TopicQueueArguments(), Is.EqualTo(new Dictionary<string, object?> { ["x-ha-policy"] = "all" }));
        Assert.That(ha.TransientQueueArguments(), Is.EqualTo(new Dictionary<string, object?> { ["x-expires"] = 1800000, ["x-ha-policy"] = "all" }));
        Assert.That(quorum.TransientQueueArguments().ContainsKey("x-queue-type"), Is.False);
    }
}
