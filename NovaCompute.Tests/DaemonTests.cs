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

    private DaemonProcess Start(DaemonConfig config)
    {
        config.WriteTo(_conf);
        return DaemonProcess.Start(["--config-file", _conf]);
    }

    /// <summary>Direct mode on a SQLite file of the test's own, under a host of its own.</summary>
    private DaemonConfig BaseConfig(string? host = null) => DaemonConfig.Sqlite(_dir.FullName, host);

    [Test]
    public async Task Run_BrokenConfigFile_Exits78NamingEveryProblemBeforeStarting()
    {
        File.WriteAllText(_conf, "[DEFAULT]\ndebug = sometimes\nthis line is broken\ngraceful_shutdown_timeout = -x\n");
        using var daemon = DaemonProcess.Start(["--config-file", _conf]);
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
        var config = BaseConfig().With("debug", "false");
        using var daemon = Start(config);
        await daemon.WaitForLineAsync("Service ready");
        config.With("debug", "true").With("graceful_shutdown_timeout", "30").WriteTo(_conf);
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
        using var daemon = Start(BaseConfig().With("tempdir", Path.Combine(_dir.FullName, "file-not-dir")));
        File.WriteAllText(Path.Combine(_dir.FullName, "file-not-dir"), "");
        Assert.That(await daemon.WaitForExitAsync(), Is.EqualTo(1), daemon.Output);
        Assert.That(daemon.Output, Does.Contain("Temporary directory is invalid"));
    }

    [Test]
    public async Task Run_UnderNotifySocket_SendsReadyAfterStartReloadingAndStopping()
    {
        using var receiver = DatagramReceiver.BindPath();
        BaseConfig().WriteTo(_conf);
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
        var config = BaseConfig(host).With("report_interval", "1").With("service_down_time", "60");
        using var daemon = Start(config);
        await daemon.WaitForLineAsync("Service ready");

        var row = await ServiceRowAsync(host);
        Assert.That((string?)row["state"], Is.EqualTo("up"));
        Assert.That((string?)row["status"], Is.EqualTo("enabled"));

        // INITIAL_REPORTING_DELAY (5 s), then one beat a second.
        await Eventually.Until(async () => (await LastBeatAsync(host)).Count >= 3, TimeSpan.FromSeconds(20), poll: TimeSpan.FromMilliseconds(250));

        // Reloaded to 4 s: the beats go on (two more must come) and are spaced by the new interval,
        // as the database's own clock stamped them, not by the old 1 s.
        config.With("report_interval", "4").WriteTo(_conf);
        daemon.Signal(DaemonProcess.SIGHUP);
        await daemon.WaitForLineAsync("Option DEFAULT.report_interval changed from [1] to [4]");
        var afterReload = (await LastBeatAsync(host)).Count;
        var stamps = new Dictionary<long, DateTime>();
        await Eventually.Until(async () =>
        {
            var (count, at) = await LastBeatAsync(host);
            stamps.TryAdd(count, at);
            return count >= afterReload + 2;
        }, TimeSpan.FromSeconds(20), () => $"two beats after the reload (report_count {afterReload} at the reload, seen {string.Join(", ", stamps.Keys)})",
            poll: TimeSpan.FromMilliseconds(100));
        Assert.That(stamps.Keys, Does.Contain(afterReload + 1).And.Contain(afterReload + 2), "no two beats within one 100 ms poll");
        Assert.That(stamps[afterReload + 2] - stamps[afterReload + 1], Is.GreaterThan(TimeSpan.FromSeconds(2)), "beats follow the new 4 s interval, not the old 1 s (a beat may start late on a loaded machine)");

        config.WriteTo(_conf);
        daemon.Signal(DaemonProcess.SIGHUP);
        var delete = await Shell.RunAsync(TestServices.PublishedDaemon, ["service", "delete", host, "--config-file", _conf]);
        Assert.That(delete.ExitCode, Is.Zero, delete.Output);
        await daemon.WaitForLineAsync("is gone. Recreating it", TimeSpan.FromSeconds(20));
        Assert.That((string?)(await ServiceRowAsync(host))["state"], Is.EqualTo("up"));

        daemon.Signal(DaemonProcess.SIGTERM);
        Assert.That(await daemon.WaitForExitAsync(), Is.EqualTo(0), daemon.Output);
    }

    private async Task<long> CountAsync(string host) => (await LastBeatAsync(host)).Count;

    /// <summary>report_count and last_seen_up straight from the daemon's SQLite file (the API shape carries neither).</summary>
    private async Task<(long Count, DateTime LastSeenUp)> LastBeatAsync(string host)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_dir.FullName, "nova.sqlite")};Mode=ReadOnly");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT report_count, coalesce(last_seen_up, created_at) FROM services WHERE host = $host AND deleted = 0";
        command.Parameters.AddWithValue("$host", host);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.That(await reader.ReadAsync(), Is.True, $"no live row for {host}");
        return (reader.GetInt64(0), DateTime.Parse(reader.GetString(1), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Test]
    public async Task Run_StopDuringStartUp_ExitsZero()
    {
        // An unreachable PostgreSQL keeps the start in its connection retries.
        using var daemon = Start(DaemonConfig.Database(_dir.FullName, "postgresql://nova:pw@127.0.0.1:1/nova")
            .With("database", "max_retries", "-1").With("database", "retry_interval", "1"));
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
        var config = BaseConfig();
        using var daemon = Start(config);
        await daemon.WaitForLineAsync("Service ready");
        var realHost = config.Host;
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
