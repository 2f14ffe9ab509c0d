using System.Text.RegularExpressions;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Reports;

/// <summary>The published daemon and SIGUSR2: a report where oslo writes it, and the daemon goes on.</summary>
public partial class GuruMeditationProcessTests
{
    private DirectoryInfo _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("nova-gmr-");

    [TearDown]
    public void TearDown() => _dir.Delete(recursive: true);

    private DaemonConfig Config() => DaemonConfig.Sqlite(_dir.FullName, $"gmr-test-{Guid.NewGuid():N}");

    private DaemonProcess Start(DaemonConfig config) =>
        DaemonProcess.Start(["--config-file", config.WriteTo(Path.Combine(_dir.FullName, "nova-compute.conf"))]);

    private static readonly string[] Headings =
    [
        "====                        Guru Meditation                         ====",
        "====                            Package                             ====",
        "====                            Threads                             ====",
        "====                         Green Threads                          ====",
        "====                           Processes                            ====",
        "====                         Configuration                          ====",
        "====                       Requests In Flight                       ====",
        "====                         Periodic Tasks                         ====",
        "====                           Heartbeat                            ====",
        "====                         Message Broker                         ====",
    ];

    [Test]
    public async Task SigUsr2_NoLogDir_WritesTheReportToStderrAndKeepsRunning()
    {
        using var daemon = Start(Config());
        await daemon.WaitForLineAsync("Service ready");
        daemon.Signal(DaemonProcess.SIGUSR2);
        await daemon.WaitForLineAsync("Guru Meditation Report written to stderr");
        // The log line comes on stdout, the report on stderr: two pipes, read independently.
        await daemon.WaitForLineAsync("since = ");

        var lines = daemon.Lines;
        var at = Headings.Select(h => lines.ToList().IndexOf(h)).ToList();
        Assert.That(at, Has.None.EqualTo(-1), daemon.Output);
        Assert.That(at, Is.Ordered, "sections in oslo's order, the daemon's after Configuration");
        Assert.That(lines, Has.Some.EqualTo("product = OpenStack Nova"));
        Assert.That(lines, Has.Some.EqualTo("  transport_url = ***"), "secrets masked as oslo masks them");
        Assert.That(daemon.Output, Does.Not.Contain(TestServices.TransportUrl));
        Assert.That(lines, Has.Some.Matches(@"^Process \d+ \(under \d+\) \[ run by: \w+ \(\d+\), state: \w+ \]$"));
        Assert.That(lines, Has.Some.Matches(@"^------ +Thread #\d+ \(.*\) +------$"));

        daemon.Signal(DaemonProcess.SIGTERM);
        Assert.That(await daemon.WaitForExitAsync(), Is.EqualTo(0), daemon.Output);
    }

    [Test]
    public async Task SigUsr2_WithLogDir_WritesFilesNamedAsOsloWhileTheHeartbeatGoesOn()
    {
        var reports = Directory.CreateDirectory(Path.Combine(_dir.FullName, "reports")).FullName;
        using var daemon = Start(Config().With("report_interval", "1").With("oslo_reports", "log_dir", reports));
        await daemon.WaitForLineAsync("Service ready");

        // Reports taken one after another must show the heartbeat moving on between them.
        var seen = new HashSet<string>();
        var written = 0;
        await Eventually.Until(async () =>
        {
            daemon.Signal(DaemonProcess.SIGUSR2);
            written++;
            await Eventually.Until(() => daemon.Count("Guru Meditation Report written to " + reports) >= written, TimeSpan.FromSeconds(10),
                () => "the report file; output:\n" + daemon.Output);
            var newest = Directory.GetFiles(reports).OrderBy(File.GetLastWriteTimeUtc).Last();
            Assert.That(Path.GetFileName(newest), Does.Match(@"^nova-compute_gurumeditation_\d{14}$"));
            var text = await File.ReadAllTextAsync(newest);
            Assert.That(text, Does.StartWith(new string('=', 72) + "\n" + Headings[0]));
            Assert.That(text, Does.Contain("\nconsecutive_failures = "));
            // A report taken just after a beat slowed past its 1 s (a loaded machine) shows one
            // failure; it does not count, the next ones will.
            if (text.Contains("\nconsecutive_failures = 0\n", StringComparison.Ordinal)
                && LastSuccess().Match(text) is { Success: true } match && match.Groups[1].Value != "None")
            {
                seen.Add(match.Groups[1].Value);
            }
            return seen.Count >= 3;
        }, TimeSpan.FromSeconds(40), () => $"three reports with successive heartbeats; seen {string.Join(", ", seen)}; output:\n{daemon.Output}",
            poll: TimeSpan.FromMilliseconds(700));

        Assert.That(daemon.Lines, Has.None.EqualTo(Headings[0]), "nothing on stderr when log_dir is set");
        daemon.Signal(DaemonProcess.SIGTERM);
        Assert.That(await daemon.WaitForExitAsync(), Is.EqualTo(0), daemon.Output);
    }

    [Test]
    public async Task FileEventHandler_Touched_WritesTheReportAndSigUsr2IsIgnoredNotFatal()
    {
        var trigger = Path.Combine(_dir.FullName, "gmr-trigger");
        File.WriteAllText(trigger, "");
        File.SetLastWriteTimeUtc(trigger, DateTime.UtcNow.AddMinutes(-1));
        using var daemon = Start(Config().With("oslo_reports", "file_event_handler", trigger).With("oslo_reports", "file_event_handler_interval", "1"));
        await daemon.WaitForLineAsync("Service ready");

        daemon.Signal(DaemonProcess.SIGUSR2);
        await daemon.WaitForLineAsync("Caught SIGUSR2, ignored");
        Assert.That(daemon.Lines, Has.None.EqualTo(Headings[0]), "oslo: the file replaces the signal trigger");

        File.SetLastWriteTimeUtc(trigger, DateTime.UtcNow.AddSeconds(1));
        await daemon.WaitForLineAsync("Guru Meditation Report written to stderr");
        Assert.That(daemon.Lines, Has.Some.EqualTo(Headings[0]));

        daemon.Signal(DaemonProcess.SIGTERM);
        Assert.That(await daemon.WaitForExitAsync(), Is.EqualTo(0), daemon.Output);
    }

    [GeneratedRegex(@"\nlast_success = (\S+)\n")]
    private static partial Regex LastSuccess();
}
