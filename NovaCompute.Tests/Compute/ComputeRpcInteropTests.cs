using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using NovaCompute.Compute;
using NovaCompute.Compute.Drivers;
using NovaCompute.Db;
using NovaCompute.Messaging;
using NovaCompute.Messaging.Rpc;
using NovaCompute.Tests.Messaging.Rpc;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Compute;

/// <summary>
/// ComputeManager's RPC methods served by our RPC server on topic <c>compute</c> and called by a
/// real oslo.messaging client and by nova's own <c>nova.compute.rpcapi.ComputeAPI</c> (6.x, and
/// 5.x through the V5 proxy), over the tests' RabbitMQ vhost.
/// </summary>
public class ComputeRpcInteropTests
{
    private TestDatabase _database = null!;
    private DirectoryInfo _dir = null!;
    private RabbitTransport _transport = null!;
    private RpcServer _server = null!;
    private string _host = null!;
    private int _serviceId;

    private async Task StartAsync(IComputeDriver driver)
    {
        _dir = Directory.CreateTempSubdirectory("nova-rpc-compute-");
        _database = await TestDatabase.CreateAsync(DatabaseDialect.Sqlite);
        _host = RabbitTestBroker.UniqueName("cmp");
        _serviceId = (await _database.Repository.CreateAsync(new NewService(_host, "nova-compute", "compute", 64), CancellationToken.None)).Id;
        var logs = new LogCollector();
        var loggers = logs.CreateFactory();
        var identity = new ServiceIdentity(_host, "nova-compute", "compute");
        var config = TestConfigMonitor.With((ServiceOptions.Host, _host));
        await driver.InitHostAsync(_host, CancellationToken.None);
        var tracker = new ResourceTracker(driver, new ComputeNodeRepository(_database.Factory), _database.Repository, identity, config,
            loggers.CreateLogger<ResourceTracker>());
        var manager = new ComputeManager(driver, tracker, _database.Repository, identity, loggers.CreateLogger<ComputeManager>());
        _transport = new RabbitTransport(RabbitTestBroker.Settings(RabbitTestBroker.UniqueName("nova-test")), loggers, TimeProvider.System);
        var dispatcher = new RpcDispatcher([manager, new BaseRpcApi(manager.ServiceName), .. manager.AdditionalEndpoints],
            JsonRpcEntitySerializer.Instance, loggers.CreateLogger<RpcDispatcher>());
        // nova's ComputeAPI always targets topic "compute"; the host name keeps this test's queue its own.
        _server = new RpcServer(_transport, new RpcServerSettings { Topic = "compute", Server = _host, ExecutorThreadPoolSize = 4 },
            dispatcher, loggers.CreateLogger<RpcServer>());
        using var start = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _server.StartAsync(start.Token);
    }

    [TearDown]
    public async Task TearDown()
    {
        // Null-safe: a test whose broker or database is missing fails in StartAsync, and that
        // failure is what the report must show, not a NullReferenceException from here.
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        if (_transport is not null)
        {
            await _transport.DisposeAsync();
        }
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
        _dir?.Delete(recursive: true);
    }

    private static async Task<JsonElement> NovaClientAsync(params string[] args)
    {
        var start = new ProcessStartInfo(TestServices.SystemPython) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(TestContext.CurrentContext.TestDirectory, "Compute", "Python", "compute_rpcapi_peer.py"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(45));
        var line = (await stdout).Split('\n').LastOrDefault(l => l.StartsWith('{'));
        Assert.That(line, Is.Not.Null, $"no JSON from nova's client; stderr: {await stderr}");
        return JsonDocument.Parse(line!).RootElement.Clone();
    }

    private string[] Nova(string method, params string[] more) => [method, "--url", TestServices.TransportUrl, "--host", _host, .. more];

    [Test]
    public async Task NovaComputeApi_GetHostUptime_TheUptimeLine()
    {
        await StartAsync(new HostDriver(Path.Combine(Path.GetTempPath(), "unused")));
        var output = await NovaClientAsync(Nova("get_host_uptime"));
        Assert.That(output.GetProperty("ok").GetString(), Does.Match(@" up .*load average: "));
    }

    [Test]
    public async Task NovaComputeApi_SetHostEnabled_RecordChangesAndNovasAnswer()
    {
        await StartAsync(new FakeDriver());
        var output = await NovaClientAsync(Nova("set_host_enabled", "--enabled", "false"));
        Assert.That(output.GetProperty("ok").GetString(), Is.EqualTo("disabled"));
        Assert.That((await _database.Repository.GetByIdAsync(_serviceId, CancellationToken.None))!.Disabled, Is.True);

        // A 5.x caller (upgrade_levels compute = 5.13) lands on the V5 proxy.
        output = await NovaClientAsync(Nova("set_host_enabled", "--enabled", "true", "--cap", "5.13"));
        Assert.That(output.GetProperty("ok").GetString(), Is.EqualTo("enabled"));
        Assert.That((await _database.Repository.GetByIdAsync(_serviceId, CancellationToken.None))!.Disabled, Is.False);
    }

    [Test]
    public async Task NovaComputeApi_HostActionsOnHostDriver_NotImplementedErrorAsFromNovasDrivers()
    {
        await StartAsync(new HostDriver(Path.Combine(Path.GetTempPath(), "unused")));
        var power = await NovaClientAsync(Nova("host_power_action", "--action", "reboot"));
        var maintenance = await NovaClientAsync(Nova("host_maintenance_mode", "--mode", "true"));
        Assert.That(power.GetProperty("error").GetProperty("class").GetString(), Is.EqualTo("NotImplementedError"));
        Assert.That(maintenance.GetProperty("error").GetProperty("class").GetString(), Is.EqualTo("NotImplementedError"));
    }

    [Test]
    public async Task NovaComputeApi_HostActionsOnFakeDriver_NovasFakeAnswers()
    {
        await StartAsync(new FakeDriver());
        Assert.That((await NovaClientAsync(Nova("host_power_action", "--action", "reboot"))).GetProperty("ok").GetString(), Is.EqualTo("reboot"));
        Assert.That((await NovaClientAsync(Nova("host_maintenance_mode", "--mode", "false"))).GetProperty("ok").GetString(), Is.EqualTo("off_maintenance"));
    }

    [Test]
    public async Task OsloClient_Versions_6xAnd5xServedUnimplementedMethodIsNoSuchMethod()
    {
        await StartAsync(new FakeDriver());
        string[] Peer(string version, string method, string args = "{}") =>
            ["call", "--url", TestServices.TransportUrl, "--topic", "compute", "--server", _host, "--version", version, "--method", method, "--args", args];

        var v61 = await RpcTestRig.RunPeerAsync(Peer("6.1", "host_power_action", """{"action": "startup"}"""));
        Assert.That(v61.GetProperty("ok").GetString(), Is.EqualTo("startup"));
        var v513 = await RpcTestRig.RunPeerAsync(Peer("5.13", "host_power_action", """{"action": "shutdown"}"""));
        Assert.That(v513.GetProperty("ok").GetString(), Is.EqualTo("shutdown"));
        var v62 = await RpcTestRig.RunPeerAsync(Peer("6.2", "host_power_action", """{"action": "startup"}"""));
        Assert.That(v62.GetProperty("error").GetProperty("str").GetString(),
            Does.StartWith("Remote error: UnsupportedVersion Endpoint does not support RPC version 6.2. Attempted method: host_power_action"));
        var absent = await RpcTestRig.RunPeerAsync(Peer("6.0", "build_and_run_instance"));
        Assert.That(absent.GetProperty("error").GetProperty("str").GetString(),
            Does.StartWith("Remote error: NoSuchMethod Endpoint does not support RPC method build_and_run_instance"));
        var ping = await RpcTestRig.RunPeerAsync(["nova-ping", "--url", TestServices.TransportUrl, "--topic", "compute", "--args", "\"x\""]);
        Assert.That(ping.GetProperty("ok").GetProperty("service").GetString(), Is.EqualTo("compute"));
    }
}
