using NovaCompute.Logging;

namespace NovaCompute.Tests.Logging;

public class LoggerNamesTests
{
    [TestCase("NovaCompute.ServiceGroup.HeartbeatWriter", "nova.servicegroup.heartbeat_writer")]
    [TestCase("NovaCompute.Compute.ComputeManager", "nova.compute.manager")]
    [TestCase("NovaCompute.NovaService", "nova.service")]
    [TestCase("NovaCompute.Daemon", "nova.daemon")]
    [TestCase("NovaCompute", "nova")]
    [TestCase("NovaCompute.Messaging.Rpc.RpcServer", "oslo.messaging.rpc.rpc_server")]
    [TestCase("NovaCompute.Messaging.ConnectionKeeper", "oslo.messaging.connection_keeper")]
    [TestCase("NovaCompute.Db.DbConnectionFactory", "nova.db.db_connection_factory")]
    [TestCase("NovaCompute.Compute.ComputeManager+PeriodicTasks", "nova.compute.computemanager.periodic_tasks")]
    [TestCase("NovaCompute.Config.ConfigMonitor`1", "nova.config.config_monitor")]
    [TestCase("Microsoft.Hosting.Lifetime", "microsoft.hosting.lifetime")]
    [TestCase("RabbitMQ.Client", "rabbitmq.client")]
    [TestCase("Npgsql.Command", "npgsql.command")]
    [TestCase("NovaComputeExtra.Thing", "novacomputeextra.thing")]
    public void FromCategory_MapsToNovaStyleName(string category, string expected)
    {
        Assert.That(LoggerNames.FromCategory(category), Is.EqualTo(expected));
    }

    [TestCase(null)]
    [TestCase("")]
    public void FromCategory_NoCategory_IsRoot(string? category)
    {
        Assert.That(LoggerNames.FromCategory(category), Is.EqualTo("root"));
    }

    [Test]
    public void FromCategory_SameCategoryTwice_ReturnsCachedInstance()
    {
        var first = LoggerNames.FromCategory("NovaCompute.Periodic.PeriodicTaskRunner");
        Assert.That(LoggerNames.FromCategory("NovaCompute.Periodic.PeriodicTaskRunner"), Is.SameAs(first));
    }
}
