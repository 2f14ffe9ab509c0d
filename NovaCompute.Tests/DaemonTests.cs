using NovaCompute.Tests.Support;

namespace NovaCompute.Tests;

/// <summary>The published daemon as a process: exit statuses, signals, reload.</summary>
public partial class DaemonTests
{
    private DirectoryInfo _dir = null!;
    private string _conf = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("nova-daemon-");
        _conf = Path.Combine(_dir.FullName, "nova-compute.conf");
    }

    [TearDown]
    public void TearDown() => _dir.Delete(recursive: true);

    private DaemonProcess Start(string conf, params string[] extra)
    {
        File.WriteAllText(_conf, conf);
        return DaemonProcess.Start(["--config-file", _conf, .. extra]);
    }

    // Direct mode on a SQLite file of the test's own; a later [database] section in extra overrides it.
    private string BaseConfig(string extra = "") => $"""
        [database]
        connection = sqlite:///{_dir.FullName}/nova.sqlite
        [DEFAULT]
        host = daemon-test-{Guid.NewGuid():N}
        compute_driver = fake.FakeDriver
        state_path = {_dir.FullName}
        transport_url = {TestServices.TransportUrl}
        graceful_shutdown_timeout = 20
        {extra}
        """;

    [Test]
    public async Task Run_BrokenConfigFile_Exits78NamingEveryProblemBeforeStarting()
    {
        using var daemon = Start("[DEFAULT]\ndebug = sometimes\nthis line is broken\ngraceful_shutdown_timeout = -x\n");
        Assert.That(await daemon.WaitForExitAsync(), Is.EqualTo(78));
        Assert.That(daemon.Output, Does.Contain($"{_conf}:2: Value for option debug in group [DEFAULT] (sometimes) is not valid: Unexpected boolean value 'sometimes'"));
        Assert.That(daemon.Output, Does.Contain($"{_conf}:3: parse error: No ':' or '=' found in assignment: 'this line is broken'"));
        Assert.That(daemon.Output, Does.Contain($"{_conf}:4: Value for option graceful_shutdown_timeout"));
        Assert.That(daemon.Output, Does.Not.Contain("Starting compute node"));
    }

    [Test]
    public async Task Run_MissingConfigFile_Exits78()
    {
        using var daemon = DaemonProcess.Start(["--config-file", Path.Combine(_dir.FullName, "absent.conf")]);
        Assert.That(await daemon.WaitForExitAsync(), Is.EqualTo(78));
        Assert.That(daemon.Output, Does.Contain("Failed to find some config files: " + Path.Combine(_dir.FullName, "absent.conf")));
    }

    [Test]
    public async Task Run_UnknownArgument_Exits2()
    {
        using var daemon = DaemonProcess.Start(["--no-such-flag"]);
        Assert.That(await daemon.WaitForExitAsync(), Is.EqualTo(2));
        Assert.That(daemon.Output, Does.Contain("--no-such-flag"));
    }

    [TestCase(DaemonProcess.SIGTERM, "SIGTERM")]
    [TestCase(DaemonProcess.SIGINT, "SIGINT")]
    public async Task Run_StopSignal_StopsGracefullyWithStatus0(int signal, string name)
    {
        using var daemon = Start(BaseConfig());
        await daemon.WaitForLineAsync("Service ready");
        Assert.That(daemon.Output, Does.Contain("Starting compute node (version 26.2.2)"));
        daemon.Signal(signal);
        Assert.That(await daemon.WaitForExitAsync(), Is.EqualTo(0), daemon.Output);
        Assert.That(daemon.Output, Does.Contain($"Caught {name}, stopping gracefully"));
        Assert.That(daemon.Output, Does.Contain("Stopped compute node"));
    }

    [Test]
    public async Task Run_SigHupWithMutableChange_AppliesItAndKeepsRunning()
    {
        using var daemon = Start(BaseConfig("debug = false"));
        await daemon.WaitForLineAsync("Service ready");
        File.WriteAllText(_conf, File.ReadAllText(_conf).Replace("debug = false", "debug = true") + "\ngraceful_shutdown_timeout = 30\n");
        daemon.Signal(DaemonProcess.SIGHUP);
        await daemon.WaitForLineAsync("Option DEFAULT.debug changed from [false] to [true]");
        await daemon.WaitForLineAsync("Ignoring change to immutable option DEFAULT.graceful_shutdown_timeout");
        await daemon.WaitForLineAsync("Full set of CONF:");
        daemon.Signal(DaemonProcess.SIGTERM);
        Assert.That(await daemon.WaitForExitAsync(), Is.EqualTo(0), daemon.Output);
    }

    [Test]
    public async Task Run_SigHupWithBrokenFile_KeepsRunningOnOldConfiguration()
    {
        using var daemon = Start(BaseConfig());
        await daemon.WaitForLineAsync("Service ready");
        File.AppendAllText(_conf, "\nbroken line\n");
        daemon.Signal(DaemonProcess.SIGHUP);
        await daemon.WaitForLineAsync("Configuration reload rejected, keeping the running configuration");
        daemon.Signal(DaemonProcess.SIGTERM);
        Assert.That(await daemon.WaitForExitAsync(), Is.EqualTo(0), daemon.Output);
    }

    [Test]
    public async Task Run_TempDirInvalid_StartupFailsWithStatus1()
    {
        using var daemon = Start(BaseConfig($"tempdir = {Path.Combine(_dir.FullName, "file-not-dir")}"));
        File.WriteAllText(Path.Combine(_dir.FullName, "file-not-dir"), "");
        Assert.That(await daemon.WaitForExitAsync(), Is.EqualTo(1), daemon.Output);
        Assert.That(daemon.Output, Does.Contain("Temporary directory is invalid"));
    }

    [Test]
    public async Task Run_UnderNotifySocket_SendsReadyAfterStartReloadingAndStopping()
    {
        using var receiver = DatagramReceiver.BindPath();
        File.WriteAllText(_conf, BaseConfig());
        using var daemon = DaemonProcess.Start(["--config-file", _conf], new Dictionary<string, string> { ["NOTIFY_SOCKET"] = receiver.Address });

        var beforeReady = new List<string>();
        for (var message = await receiver.ReceiveAsync(TimeSpan.FromSeconds(30)); message != "READY=1"; message = await receiver.ReceiveAsync(TimeSpan.FromSeconds(30)))
        {
            beforeReady.Add(message);
        }
        Assert.That(beforeReady[0], Is.EqualTo("STATUS=Starting"));
        Assert.That(beforeReady[^1], Does.StartWith("STATUS=Running; Registered as daemon-test-").And.Contain("(nova-compute); reporting every 10 s"),
            "READY=1 only once the service record exists");
        Assert.That(daemon.Output, Does.Contain("Starting compute node"));

        // STATUS= updates (heartbeat, broker) may come at any time; the state changes come in order.
        async Task<List<string>> Until(string state)
        {
            var seen = new List<string>();
            for (var message = await receiver.ReceiveAsync(TimeSpan.FromSeconds(30)); message != state; message = await receiver.ReceiveAsync(TimeSpan.FromSeconds(30)))
            {
                seen.Add(message);
            }
            return seen;
        }

        daemon.Signal(DaemonProcess.SIGHUP);
        var reloading = (await Until("READY=1")).Where(m => !m.StartsWith("STATUS=", StringComparison.Ordinal)).ToList();
        Assert.That(reloading, Has.Count.EqualTo(1));
        Assert.That(reloading[0], Does.Match(@"^RELOADING=1\nMONOTONIC_USEC=\d+$"));

        daemon.Signal(DaemonProcess.SIGTERM);
        var stopping = await Until("STOPPING=1");
        Assert.That(stopping, Has.Some.StartWith("STATUS=Stopping; Registered as"));
        Assert.That(await daemon.WaitForExitAsync(), Is.EqualTo(0));
    }

    private async Task<System.Text.Json.Nodes.JsonObject> ServiceRowAsync(string host)
    {
        var list = await Shell.RunAsync(TestServices.PublishedDaemon, ["service", "list", "--config-file", _conf, "--host", host, "--format", "json"]);
        Assert.That(list.ExitCode, Is.Zero, list.Output);
        var rows = System.Text.Json.Nodes.JsonNode.Parse(list.Stdout)!["services"]!.AsArray();
        Assert.That(rows, Has.Count.EqualTo(1), list.Stdout);
        return rows[0]!.AsObject();
    }

    /// <summary>
    /// The heartbeat end to end: the real daemon registers, beats every report_interval, follows a
    /// SIGHUP change of report_interval, and recreates its record after `service delete`.
    /// </summary>
    [Test]
    public async Task Run_Heartbeat_RegistersBeatsFollowsReloadAndRecreatesDeletedRecord()
    {
        var host = "hb-" + Guid.NewGuid().ToString("N")[..12];
        var config = $"""
            [DEFAULT]
            host = {host}
            compute_driver = fake.FakeDriver
            state_path = {_dir.FullName}
            transport_url = {TestServices.TransportUrl}
            report_interval = 1
            service_down_time = 60
            graceful_shutdown_timeout = 20
            [database]
            connection = sqlite:///{_dir.FullName}/nova.sqlite
            """;
        using var daemon = Start(config);
        await daemon.WaitForLineAsync("Service ready");

        var row = await ServiceRowAsync(host);
        Assert.That((string?)row["state"], Is.EqualTo("up"));
        Assert.That((string?)row["status"], Is.EqualTo("enabled"));

        // INITIAL_REPORTING_DELAY (5 s), then one beat a second.
        await Eventually.Until(async () => await CountAsync(host) >= 3, TimeSpan.FromSeconds(20), poll: TimeSpan.FromMilliseconds(250));

        File.WriteAllText(_conf, config.Replace("report_interval = 1", "report_interval = 30"));
        daemon.Signal(DaemonProcess.SIGHUP);
        await daemon.WaitForLineAsync("Option DEFAULT.report_interval changed from [1] to [30]");
        var afterReload = await CountAsync(host);
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.That(await CountAsync(host), Is.LessThanOrEqualTo(afterReload + 1), "beats follow the new 30 s interval");

        File.WriteAllText(_conf, config);
        daemon.Signal(DaemonProcess.SIGHUP);
        var delete = await Shell.RunAsync(TestServices.PublishedDaemon, ["service", "delete", host, "--config-file", _conf]);
        Assert.That(delete.ExitCode, Is.Zero, delete.Output);
        await daemon.WaitForLineAsync("is gone. Recreating it", TimeSpan.FromSeconds(20));
        Assert.That((string?)(await ServiceRowAsync(host))["state"], Is.EqualTo("up"));

        daemon.Signal(DaemonProcess.SIGTERM);
        Assert.That(await daemon.WaitForExitAsync(), Is.EqualTo(0), daemon.Output);
    }

    /// <summary>report_count straight from the daemon's SQLite file (the API shape does not carry it).</summary>
    private async Task<long> CountAsync(string host)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_dir.FullName, "nova.sqlite")};Mode=ReadOnly");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT report_count FROM services WHERE host = $host AND deleted = 0";
        command.Parameters.AddWithValue("$host", host);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Test]
    public async Task Run_StopDuringStartUp_ExitsZero()
    {
        // An unreachable PostgreSQL keeps the start in its connection retries.
        using var daemon = Start(BaseConfig("[database]\nconnection = postgresql://nova:pw@127.0.0.1:1/nova\nmax_retries = -1\nretry_interval = 1"));
        await daemon.WaitForLineAsync("Could not reach the database");
        daemon.Signal(DaemonProcess.SIGTERM);
        Assert.That(await daemon.WaitForExitAsync(), Is.EqualTo(0), daemon.Output);
        Assert.That(daemon.Output, Does.Contain("Stopped during start-up"));
        Assert.That(daemon.Output, Does.Not.Contain(":pw@"));
    }

    /// <summary>The running daemon answers a real oslo client on its compute.&lt;host&gt; queue.</summary>
    [Test]
    public async Task Run_RpcServer_AnswersOsloClient()
    {
        using var daemon = Start(BaseConfig());
        await daemon.WaitForLineAsync("Service ready");
        var realHost = System.Text.RegularExpressions.Regex.Match(File.ReadAllText(_conf), @"host = (\S+)").Groups[1].Value;
        var script = Path.Combine(TestContext.CurrentContext.TestDirectory, "Messaging", "Python", "oslo_peer.py");

        var ping = await Shell.RunAsync(TestServices.SystemPython, [script, "call", "--url", TestServices.TransportUrl, "--topic", "compute",
            "--server", realHost, "--namespace", "baseapi", "--version", "1.0", "--method", "ping", "--args", "{\"arg\": \"1.21 GigaWatts\"}"]);
        Assert.That(ping.Stdout, Does.Contain("\"ok\": {\"service\": \"compute\", \"arg\": \"1.21 GigaWatts\"}"), ping.Output);

        var unknown = await Shell.RunAsync(TestServices.SystemPython, [script, "call", "--url", TestServices.TransportUrl, "--topic", "compute",
            "--server", realHost, "--namespace", "baseapi", "--method", "no_such_method", "--args", "{}"]);
        Assert.That(unknown.Stdout, Does.Contain("NoSuchMethod"), unknown.Output);

        daemon.Signal(DaemonProcess.SIGTERM);
        Assert.That(await daemon.WaitForExitAsync(), Is.EqualTo(0), daemon.Output);
    }
}
