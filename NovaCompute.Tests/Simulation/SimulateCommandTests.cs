using System.Diagnostics;
using System.Text.Json;
using NovaCompute.Db;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Simulation;

/// <summary>
/// <c>nova-compute simulate</c> as the published daemon, with a few hundred computes on the test
/// PostgreSQL and RabbitMQ: all up in <c>service list</c>, nova's own <c>ComputeAPI</c> answered by
/// random ones, SIGHUP reaching every compute, kill -9 seen as all down after
/// <c>service_down_time</c>, a restart reusing the rows, SIGTERM exiting 0. The tests run in order
/// on one simulation (its start-up is the expensive part).
/// </summary>
[NonParallelizable]
public partial class SimulateCommandTests
{
    private const int Count = 200;
    private const int ServiceDownTime = 6;
    private TestDatabase _database = null!;
    private DirectoryInfo _dir = null!;
    private string _conf = null!;
    private string _prefix = null!;
    private DaemonProcess? _daemon;

    [OneTimeSetUp]
    public async Task StartSimulation()
    {
        _dir = Directory.CreateTempSubdirectory("nova-simulate-");
        _database = await TestDatabase.CreateAsync(DatabaseDialect.PostgreSql);
        _prefix = RabbitTestBroker.UniqueName("sim");
        _conf = Path.Combine(_dir.FullName, "nova-compute.conf");
        WriteConfig(reportInterval: 2);
        _daemon = await StartAsync();
    }

    // Null-safe: a missing service fails the set-up, and that failure is what the report must show.
    [OneTimeTearDown]
    public async Task TearDown()
    {
        if (_daemon is not null)
        {
            _daemon.Dispose();
            // The compute.<host> queues outlive the process (oslo declares them non-exclusive); the vhost is shared by later runs.
            await using var connection = await RabbitTestBroker.RawConnectionAsync();
            await using var channel = await connection.CreateChannelAsync();
            for (var i = 1; i <= Count; i++)
            {
                await channel.QueueDeleteAsync($"compute.{Host(i)}", ifUnused: false, ifEmpty: false);
            }
        }
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
        _dir?.Delete(recursive: true);
    }

    private string Host(int index) => $"{_prefix}-{index:00000}";

    // No host: every simulated service takes its own from --host-prefix.
    private void WriteConfig(int reportInterval) => DaemonConfig.Database(_dir.FullName, _database.ConnectionText)
        .Without("DEFAULT", "host")
        .With("report_interval", $"{reportInterval}")
        .With("service_down_time", $"{ServiceDownTime}")
        .WriteTo(_conf);

    private async Task<DaemonProcess> StartAsync()
    {
        var daemon = DaemonProcess.Start(["simulate", "--count", $"{Count}", "--host-prefix", _prefix, "--start-concurrency", "16", "--config-file", _conf]);
        await daemon.WaitForLineAsync($"All {Count}/{Count} compute services serve", TimeSpan.FromSeconds(120));
        return daemon;
    }

    /// <summary><c>nova-compute service list --format json</c>: this simulation's rows, by host.</summary>
    private async Task<Dictionary<string, JsonElement>> ServiceListAsync()
    {
        var result = await Shell.RunAsync(TestServices.PublishedDaemon, ["service", "list", "--format", "json", "--config-file", _conf]);
        Assert.That(result.ExitCode, Is.Zero, result.Output);
        using var document = JsonDocument.Parse(result.Stdout);
        return document.RootElement.GetProperty("services").EnumerateArray()
            .Where(s => s.GetProperty("host").GetString()!.StartsWith(_prefix, StringComparison.Ordinal))
            .ToDictionary(s => s.GetProperty("host").GetString()!, s => s.Clone());
    }

    private static int CountInState(Dictionary<string, JsonElement> services, string state) =>
        services.Values.Count(s => s.GetProperty("state").GetString() == state);

    private static async Task<JsonElement> NovaComputeApiAsync(params string[] args)
    {
        var script = Path.Combine(TestContext.CurrentContext.TestDirectory, "Compute", "Python", "compute_rpcapi_peer.py");
        var result = await Shell.RunAsync(TestServices.SystemPython, [script, .. args], TimeSpan.FromSeconds(60));
        var line = result.Stdout.Split('\n').LastOrDefault(l => l.StartsWith('{'));
        Assert.That(line, Is.Not.Null, $"no JSON from nova's client; stderr: {result.Stderr}");
        return JsonDocument.Parse(line!).RootElement.Clone();
    }

    [Test, Order(1)]
    public async Task Simulate_TwoHundredComputes_AllUpEachWithItsNodeAndHeartbeat()
    {
        var services = await ServiceListAsync();
        Assert.That(services.Keys, Is.EquivalentTo(Enumerable.Range(1, Count).Select(Host)));
        // Polled, not read once: one slow database round on a loaded machine can leave a compute's
        // last beat a moment past service_down_time (6 s) and list it down until its next one.
        await Eventually.Until(async () => CountInState(await ServiceListAsync(), "up") == Count, TimeSpan.FromSeconds(30),
            () => "every compute to be listed up", TimeSpan.FromSeconds(1));
        Assert.That(await _database.ScalarAsync<long>("SELECT count(*) FROM compute_nodes WHERE deleted = 0 AND host LIKE @p", new { p = _prefix + "-%" }),
            Is.EqualTo(Count));
        // Every compute's heartbeat reaches the database, not only its registration.
        await Eventually.Until(async () => await _database.ScalarAsync<long>(
                "SELECT count(*) FROM services WHERE deleted = 0 AND host LIKE @p AND report_count >= 2", new { p = _prefix + "-%" }) == Count,
            TimeSpan.FromSeconds(30), () => "every service to have reported twice");
    }

    [Test, Order(2)]
    public async Task NovasComputeApi_RandomHosts_EachAnsweredByItsOwnCompute()
    {
        var random = new Random();
        var hosts = Enumerable.Range(1, Count).OrderBy(_ => random.Next()).Take(3).Select(Host).ToList();
        foreach (var host in hosts)
        {
            var answer = await NovaComputeApiAsync("set_host_enabled", "--url", TestServices.TransportUrl, "--host", host, "--enabled", "false");
            Assert.That(answer.GetProperty("ok").GetString(), Is.EqualTo("disabled"), answer.ToString());
        }
        var power = await NovaComputeApiAsync("host_power_action", "--url", TestServices.TransportUrl, "--host", hosts[0], "--action", "reboot");
        Assert.That(power.GetProperty("ok").GetString(), Is.EqualTo("reboot"), power.ToString());

        var services = await ServiceListAsync();
        Assert.That(services.Where(s => s.Value.GetProperty("status").GetString() == "disabled").Select(s => s.Key), Is.EquivalentTo(hosts));
    }

    [Test, Order(3)]
    public async Task Sighup_ReportIntervalChanged_EveryComputeReset()
    {
        WriteConfig(reportInterval: 1);
        _daemon!.Signal(DaemonProcess.SIGHUP);
        await _daemon.WaitForLineAsync("Configuration reloaded");
        Assert.That(_daemon.Output, Does.Contain("Option DEFAULT.report_interval changed from [2] to [1]"));
        Assert.That(_daemon.Count("Reloading compute RPC API"), Is.EqualTo(Count));
    }

    [Test, Order(4)]
    public async Task KillNine_AllComputes_DownAfterServiceDownTime()
    {
        _daemon!.Signal(DaemonProcess.SIGKILL);
        await _daemon.WaitForExitAsync();
        var killedAt = Stopwatch.StartNew();

        await Eventually.Until(async () => CountInState(await ServiceListAsync(), "down") == Count, TimeSpan.FromSeconds(30),
            () => "every compute to be down", TimeSpan.FromSeconds(1));
        // Last beats were about one interval (1 s) before the kill; down means service_down_time
        // without one. A second of slack for a beat slowed on a loaded machine.
        Assert.That(killedAt.Elapsed, Is.GreaterThan(TimeSpan.FromSeconds(ServiceDownTime - 3)));
    }

    [Test, Order(5)]
    public async Task Restart_SameHosts_RowsReusedAllUpAndSigtermExitsZero()
    {
        _daemon!.Dispose();
        _daemon = await StartAsync();

        await Eventually.Until(async () => CountInState(await ServiceListAsync(), "up") == Count, TimeSpan.FromSeconds(30),
            () => "every compute up again", TimeSpan.FromSeconds(1));
        Assert.That(await _database.ScalarAsync<long>("SELECT count(*) FROM services WHERE host LIKE @p", new { p = _prefix + "-%" }), Is.EqualTo(Count));

        var fanoutQueues = _daemon.Lines.Select(l => FanoutQueue().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
        Assert.That(fanoutQueues, Has.Count.EqualTo(Count).And.Unique);
        _daemon.Signal(DaemonProcess.SIGTERM);
        Assert.That(await _daemon.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.Zero, _daemon.Output);
        Assert.That(_daemon.Output, Does.Contain($"Deleted {Count} fanout queues").And.Contain($"Stopped {Count} compute services"));
        // oslo deletes a listener's fanout queue when it closes; x-expires is only the fallback.
        Assert.That((await RabbitTestBroker.QueueNamesAsync()).Intersect(fanoutQueues), Is.Empty);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"RPC server listening on exchange nova: queues compute, compute\.\S+ and (compute_fanout_[0-9a-f]{32}) ")]
    private static partial System.Text.RegularExpressions.Regex FanoutQueue();
}
