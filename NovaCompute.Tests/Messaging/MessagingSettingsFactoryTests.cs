using NovaCompute.Config;
using NovaCompute.Messaging;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Messaging;

public class MessagingSettingsFactoryTests
{
    [Test]
    public void Defaults_NovasExchangeLocalBrokerAndOslosNumbers()
    {
        var config = TestConfigMonitor.Build((ServiceOptions.Host, "compute-01"));

        var rabbit = MessagingSettingsFactory.Rabbit(config);
        var server = MessagingSettingsFactory.RpcServer(config);
        var client = MessagingSettingsFactory.RpcClient(config);

        Assert.That(rabbit.TransportUrl.Hosts, Is.Empty);
        Assert.That(rabbit.ControlExchange, Is.EqualTo("nova"));
        Assert.That((server.Topic, server.Server, server.ExecutorThreadPoolSize, server.GracefulShutdownTimeout),
            Is.EqualTo(("compute", "compute-01", 64, TimeSpan.FromSeconds(60))));
        Assert.That(client.RpcResponseTimeout, Is.EqualTo(TimeSpan.FromSeconds(60)));
        Assert.That(MessagingSettingsFactory.Validate(config), Is.Empty);
    }

    [Test]
    public void Options_FromTheRabbitGroupAndTheUrlQuery_UrlWins()
    {
        var config = TestConfigMonitor.Build(
            (MessagingOptions.TransportUrl, "rabbit://u:p@r1,u:p@r2:5673/nova?heartbeat_timeout_threshold=15"),
            (MessagingOptions.HeartbeatTimeoutThreshold, "30"),
            (MessagingOptions.RabbitQuorumQueue, "true"),
            (MessagingOptions.ExecutorThreadPoolSize, "16"));

        var rabbit = MessagingSettingsFactory.Rabbit(config);

        Assert.That(rabbit.HeartbeatTimeoutThreshold, Is.EqualTo(15));
        Assert.That(rabbit.RabbitQuorumQueue, Is.True);
        Assert.That(rabbit.TransportUrl.Hosts.Select(h => h.ToString()), Is.EqualTo(new[] { "r1:5672", "r2:5673" }));
        Assert.That(MessagingSettingsFactory.RpcServer(config).ExecutorThreadPoolSize, Is.EqualTo(16));
    }

    [Test]
    public void Validate_BadUrlAndConflictingQueues_Reported()
    {
        var badUrl = TestConfigMonitor.Build((MessagingOptions.TransportUrl, "rabbit://h/?bogus=1"));
        var conflict = TestConfigMonitor.Build((MessagingOptions.RabbitQuorumQueue, "true"), (MessagingOptions.RabbitHaQueues, "true"));

        Assert.That(MessagingSettingsFactory.Validate(badUrl).Single().Message, Does.Contain("Unknown query option 'bogus'"));
        Assert.That(MessagingSettingsFactory.Validate(conflict).Select(p => p.Message), Has.Some.StartsWith("Configuration Error: rabbit_quorum_queue and rabbit_ha_queues"));
    }

    [Test]
    public void Declarations_OslosNamesGroupsAndSecrets()
    {
        Assert.That(MessagingOptions.TransportUrl.Secret, Is.True);
        Assert.That(MessagingOptions.TransportUrl.Group, Is.EqualTo("DEFAULT"));
        Assert.That(MessagingOptions.HeartbeatTimeoutThreshold.Key, Is.EqualTo("oslo_messaging_rabbit.heartbeat_timeout_threshold"));
        Assert.That(MessagingOptions.Ssl.DeprecatedNames, Is.EqualTo(new[] { new DeprecatedOpt(null, "rabbit_use_ssl") }));
        Assert.That(OptionCatalog.All, Is.SupersetOf(MessagingOptions.All));
    }
}
