using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Deploy;

/// <summary>
/// deploy/nova-compute.service under a real systemd: installed with the real <c>./build.sh install</c>
/// into a sandbox, then started, reloaded, stopped, broken and frozen the way an operator and a
/// failure would.
/// </summary>
[NonParallelizable]
public class NovaComputeUnitTests
{
    private const string Unit = "nova-compute.service";
    private static readonly TimeSpan SystemdTimeout = TimeSpan.FromSeconds(30);
    private SystemdSandbox _sandbox = null!;
    private string _host = null!;

    [OneTimeSetUp]
    public async Task InstallIntoSandbox()
    {
        _ = TestServices.PublishedDaemon;
        _sandbox = await SystemdSandbox.StartAsync("nova-unit-test");
        await _sandbox.MustAsync(Path.Combine(TestServices.RepositoryRoot, "build.sh"), "install");
        await _sandbox.LoadUnitAsync("/lib/systemd/system/" + Unit);
    }

    [OneTimeTearDown]
    public async Task RemoveSandbox()
    {
        if (_sandbox is not null)
        {
            await _sandbox.DisposeAsync();
        }
    }

    [SetUp]
    public async Task WriteConfig()
    {
        _host = "unit-test-" + Guid.NewGuid().ToString("N")[..8];
        await _sandbox.WriteFileAsync("/etc/nova/nova-compute.conf", Config().Render());
        await _sandbox.RunAsync("rm", "-rf", "/run/sandbox-units/nova-compute.service.d");
        await _sandbox.RunAsync("systemctl", "daemon-reload");
    }

    [TearDown]
    public async Task StopService()
    {
        if (_sandbox is null)
        {
            return;
        }
        await _sandbox.RunAsync("systemctl", "stop", Unit);
        await _sandbox.RunAsync("systemctl", "reset-failed", Unit);
    }

    /// <summary>The unit's second file, /etc/nova/nova-compute.conf; the installed nova.conf holds [database].</summary>
    private DaemonConfig Config() => DaemonConfig.InstalledUnit(_host);

    /// <summary><c>systemctl start</c>; a failure shows the unit's journal, which says why.</summary>
    private async Task StartAsync()
    {
        var start = await _sandbox.RunAsync("systemctl", "start", Unit);
        if (start.ExitCode != 0)
        {
            var journal = await _sandbox.RunAsync("journalctl", "--no-pager", "-n", "60", "-u", Unit);
            Assert.Fail($"systemctl start failed:\n{start.Output}\njournal:\n{journal.Output}");
        }
    }

    /// <summary>This test's row as the operator's CLI shows it inside the sandbox.</summary>
    private async Task<System.Text.Json.Nodes.JsonObject?> ServiceRowAsync()
    {
        var json = await _sandbox.MustAsync("nova-compute", "service", "list", "--config-file", "/etc/nova/nova.conf",
            "--config-file", "/etc/nova/nova-compute.conf", "--host", _host, "--format", "json");
        return System.Text.Json.Nodes.JsonNode.Parse(json)!["services"]!.AsArray().SingleOrDefault()?.AsObject();
    }

    private async Task<long> ReportCountAsync() => (await LastBeatAsync()).Count;

    /// <summary>report_count and last_seen_up (the database's clock) of this test's row, read inside the sandbox.</summary>
    private async Task<(long Count, DateTime LastSeenUp)> LastBeatAsync()
    {
        var row = (await _sandbox.MustAsync("sqlite3", "-separator", "|", "/var/lib/nova/nova.sqlite",
            $"SELECT report_count, coalesce(last_seen_up, created_at) FROM services WHERE host = '{_host}' AND deleted = 0")).Trim().Split('|');
        Assert.That(row, Has.Length.EqualTo(2), $"no live row for {_host}");
        return (long.Parse(row[0], System.Globalization.CultureInfo.InvariantCulture), DateTime.Parse(row[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    private Task<string> Journal() => _sandbox.MustAsync("journalctl", "-u", Unit, "--no-pager", "-o", "cat");

    [Test]
    public async Task Start_ReturnsOnlyWhenReady_StatusShowsState()
    {
        await StartAsync();

        var row = await ServiceRowAsync();
        Assert.That(row, Is.Not.Null, "the service record exists once systemctl start returns");
        Assert.That((string?)row!["state"], Is.EqualTo("up"));
        Assert.That(await _sandbox.PropertyAsync(Unit, "ActiveState"), Is.EqualTo("active"));
        Assert.That(await _sandbox.PropertyAsync(Unit, "SubState"), Is.EqualTo("running"));
        Assert.That(await _sandbox.PropertyAsync(Unit, "StatusText"), Does.Contain("Running").And.Contain($"Registered as {_host}").And.Contain("reporting every 10 s"));
        Assert.That(await Journal(), Does.Contain("Starting compute node (version 26.2.2)"));
        var status = await _sandbox.RunAsync("systemctl", "status", "--no-pager", Unit);
        Assert.That(status.Stdout, Does.Contain("Status: \"Running"));
    }

    [Test]
    public async Task Reload_MutableOptionChanged_AppliedInSameProcess()
    {
        await StartAsync();
        var pid = await _sandbox.PropertyAsync(Unit, "MainPID");

        await _sandbox.WriteFileAsync("/etc/nova/nova-compute.conf", Config().With("debug", "true").Render());
        await _sandbox.MustAsync("systemctl", "reload", Unit);

        // With Type=notify (systemd 252 has no notify-reload) `systemctl reload` returns once the
        // signal is sent; the daemon's RELOADING=1 … READY=1 then shows as "reloading" until done.
        await Eventually.Until(async () => await _sandbox.PropertyAsync(Unit, "ActiveState") == "active"
            && (await Journal()).Contains("Option DEFAULT.debug changed from [false] to [true]", StringComparison.Ordinal), SystemdTimeout);
        Assert.That(await _sandbox.PropertyAsync(Unit, "MainPID"), Is.EqualTo(pid));
    }

    [Test]
    public async Task Stop_Graceful_ExitsZeroWithSuccess()
    {
        await StartAsync();
        await _sandbox.MustAsync("systemctl", "stop", Unit);

        Assert.That(await _sandbox.PropertyAsync(Unit, "Result"), Is.EqualTo("success"));
        Assert.That(await _sandbox.PropertyAsync(Unit, "ExecMainStatus"), Is.EqualTo("0"));
        var journal = await Journal();
        Assert.That(journal, Does.Contain("Caught SIGTERM, stopping gracefully"));
        Assert.That(journal, Does.Contain("Stopped compute node"));
    }

    [Test]
    public async Task Start_BrokenConfig_FailsWith78AndIsNotRestarted()
    {
        await _sandbox.WriteFileAsync("/etc/nova/nova-compute.conf", "[DEFAULT]\nreport_interval = often\nnot a line\n");

        var start = await _sandbox.RunAsync("systemctl", "start", Unit);

        Assert.That(start.ExitCode, Is.Not.Zero);
        Assert.That(await _sandbox.PropertyAsync(Unit, "ActiveState"), Is.EqualTo("failed"));
        Assert.That(await _sandbox.PropertyAsync(Unit, "ExecMainStatus"), Is.EqualTo("78"));
        Assert.That(await _sandbox.PropertyAsync(Unit, "NRestarts"), Is.EqualTo("0"));
        Assert.That(await Journal(), Does.Contain("/etc/nova/nova-compute.conf:3: parse error"));
    }

    [Test]
    public async Task Watchdog_FrozenDaemon_IsKilledAndRestarted()
    {
        await _sandbox.WriteFileAsync("/run/sandbox-units/nova-compute.service.d/watchdog.conf", "[Service]\nWatchdogSec=3s\nTimeoutAbortSec=1s\nRestartSec=100ms\n");
        await _sandbox.MustAsync("systemctl", "daemon-reload");
        await StartAsync();
        var pid = await _sandbox.PropertyAsync(Unit, "MainPID");

        await _sandbox.MustAsync("kill", "-STOP", pid);

        await Eventually.Until(async () => await _sandbox.PropertyAsync(Unit, "NRestarts") != "0"
            && await _sandbox.PropertyAsync(Unit, "ActiveState") == "active", SystemdTimeout, () => "systemd to kill and restart the frozen daemon",
            poll: TimeSpan.FromMilliseconds(200));
        Assert.That(int.Parse(await _sandbox.PropertyAsync(Unit, "NRestarts"), System.Globalization.CultureInfo.InvariantCulture), Is.GreaterThanOrEqualTo(1));
        Assert.That(await _sandbox.PropertyAsync(Unit, "ActiveState"), Is.EqualTo("active"));
        Assert.That(await _sandbox.PropertyAsync(Unit, "MainPID"), Is.Not.EqualTo(pid));
        Assert.That((string?)(await ServiceRowAsync())!["state"], Is.EqualTo("up"), "reported up again after the restart");
        var journal = await _sandbox.MustAsync("journalctl", "--no-pager", "-o", "cat");
        Assert.That(journal, Does.Contain("Watchdog timeout"));
    }

    /// <summary>
    /// Under systemd stdout is the journal (JOURNAL_STREAM), so the daemon logs natively: every entry
    /// arrives once, with its structured fields, and journalctl's filters find what an operator expects.
    /// </summary>
    [Test]
    public async Task Journal_UnderSystemd_StructuredEntriesOncePriorityFilterWorks()
    {
        await _sandbox.WriteFileAsync("/etc/nova/nova-compute.conf", Config().With("an_unknown_option", "1").Render());
        await StartAsync();

        var entries = (await _sandbox.MustAsync("journalctl", "-u", Unit, "--no-pager", "-o", "json"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => System.Text.Json.Nodes.JsonNode.Parse(line)!.AsObject())
            .ToList();
        var starting = entries.Where(e => ((string?)e["MESSAGE"])?.Contains("Starting compute node", StringComparison.Ordinal) == true).ToList();
        Assert.That(starting, Has.Count.EqualTo(1), "each line reaches the journal once");
        var entry = starting[0];
        Assert.That((string?)entry["PRIORITY"], Is.EqualTo("6"));
        Assert.That((string?)entry["SYSLOG_IDENTIFIER"], Is.EqualTo("nova-compute"));
        Assert.That((string?)entry["LOGGER_NAME"], Is.EqualTo("nova.service"));
        Assert.That((string?)entry["LOGGER_LEVEL"], Is.EqualTo("INFO"));
        Assert.That((string?)entry["CODE_FUNC"], Is.EqualTo("Starting"));
        Assert.That((string?)entry["_SYSTEMD_UNIT"], Is.EqualTo(Unit));

        var warnings = await _sandbox.MustAsync("journalctl", "-u", Unit, "--no-pager", "-o", "cat", "-p", "warning");
        Assert.That(warnings, Does.Contain("Unknown option an_unknown_option in [DEFAULT] ignored"));
        Assert.That(warnings, Does.Not.Contain("Starting compute node"));
    }

    [Test]
    public async Task Reload_ReportIntervalChanged_HeartbeatFollowsWithoutRestart()
    {
        await _sandbox.WriteFileAsync("/etc/nova/nova-compute.conf", Config().With("report_interval", "1").Render());
        await StartAsync();
        var pid = await _sandbox.PropertyAsync(Unit, "MainPID");
        await Eventually.Until(async () => await ReportCountAsync() >= 3, SystemdTimeout);

        // Reloaded to 4 s: the beats go on (two more must come), spaced by the new interval as the
        // database's clock stamped them, not by the old 1 s.
        await _sandbox.WriteFileAsync("/etc/nova/nova-compute.conf", Config().With("report_interval", "4").Render());
        await _sandbox.MustAsync("systemctl", "reload", Unit);
        await Eventually.Until(async () => (await Journal()).Contains("Option DEFAULT.report_interval changed from [1] to [4]", StringComparison.Ordinal), SystemdTimeout);
        var afterReload = await ReportCountAsync();
        var stamps = new Dictionary<long, DateTime>();
        await Eventually.Until(async () =>
        {
            var (count, at) = await LastBeatAsync();
            stamps.TryAdd(count, at);
            return count >= afterReload + 2;
        }, SystemdTimeout, () => $"two beats after the reload (report_count {afterReload} at the reload, seen {string.Join(", ", stamps.Keys)})",
            poll: TimeSpan.FromMilliseconds(100));

        Assert.That(stamps.Keys, Does.Contain(afterReload + 1).And.Contain(afterReload + 2), "no two beats within one poll");
        Assert.That(stamps[afterReload + 2] - stamps[afterReload + 1], Is.GreaterThan(TimeSpan.FromSeconds(2)), "beats now every 4 s, not every 1 s (a beat may start late on a loaded machine)");
        Assert.That(await _sandbox.PropertyAsync(Unit, "MainPID"), Is.EqualTo(pid), "same process");
        Assert.That(await _sandbox.PropertyAsync(Unit, "StatusText"), Does.Contain("reporting every 4 s"));
    }
}
