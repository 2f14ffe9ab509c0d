using NovaCompute.Config;
using NovaCompute.Reports;

namespace NovaCompute.Tests.Reports;

/// <summary>
/// The report's text against a real one: Fixtures/oslo_gurumeditation.txt is what oslo.reports
/// wrote for oslo_gurumeditation.py with oslo_gurumeditation.conf (the script says how to
/// regenerate it). The same package, threads, process and options rendered here must give the
/// same bytes.
/// </summary>
public class GuruMeditationReportTests
{
    private static readonly string Fixtures = Path.Combine(TestContext.CurrentContext.TestDirectory, "Reports", "Fixtures");

    // The options oslo_gurumeditation.py registers, declared as the daemon declares its own.
    private static readonly Opt[] Catalog =
    [
        new StrOpt("host", "node1"),
        new StrOpt("transport_url", "rabbit://") { Secret = true },
        new IntOpt("report_interval", 10),
        new FloatOpt("cpu_allocation_ratio", 16.0),
        new BoolOpt("debug", false),
        new StrOpt("tempdir", null),
        new ListOpt("enabled_apis", ["osapi_compute", "metadata"]),
        new ListOpt("empty_list", []),
        new StrOpt("connection", null) { Group = "database", Secret = true },
        .. ReportOptions.All,
    ];

    [Test]
    public void Render_SameStateAsOsloExample_MatchesOsloReportsByteForByte()
    {
        var conf = Path.Combine(Fixtures, "oslo_gurumeditation.conf");
        var loaded = new ConfigLoader(Catalog).Load(new ConfigArguments { Sources = [new ConfigSourceArgument(ConfigSourceKind.File, conf)] });
        Assert.That(loaded.Errors, Is.Empty);
        var script = "/work/wt/gmr/NovaCompute.Tests/Reports/Fixtures/oslo_gurumeditation.py";
        var report = new GuruMeditationReport
        {
            Vendor = "OpenStack Foundation",
            Product = "OpenStack Nova",
            Version = "26.2.2",
            Threads =
            [
                new ReportThread("139853905383488", [new ReportFrame(script, 51, "<module>", "os.kill(os.getpid(), signal.SIGUSR2)")]),
                new ReportThread("139853884782272",
                [
                    new ReportFrame("/usr/lib/python3.11/threading.py", 995, "_bootstrap", "self._bootstrap_inner()"),
                    new ReportFrame("/usr/lib/python3.11/threading.py", 1038, "_bootstrap_inner", "self.run()"),
                    new ReportFrame("/usr/lib/python3.11/threading.py", 975, "run", "self._target(*self._args, **self._kwargs)"),
                    new ReportFrame(script, 46, "worker", "time.sleep(5)"),
                ]),
            ],
            Process = new ReportProcess(14766, 14761, "root", 0, "running"),
            Configuration = GuruMeditation.Configuration(loaded.Config!),
        };

        // oslo prints the report with print(): one newline after it. The config file was given
        // relative to the fixture directory there, by full path here.
        var expected = File.ReadAllText(Path.Combine(Fixtures, "oslo_gurumeditation.txt"))
            .Replace("    oslo_gurumeditation.conf\n", $"    {conf}\n", StringComparison.Ordinal);
        Assert.That(report.Render() + "\n", Is.EqualTo(expected));
    }

    [Test]
    public void Render_DaemonSections_FollowConfigurationWithOslosHeadingsAndKeyValueLayout()
    {
        var report = new GuruMeditationReport
        {
            Vendor = "v",
            Product = "p",
            Version = "1",
            Process = new ReportProcess(1, 0, "nova", 64060, "sleeping"),
            Configuration = new Dictionary<string, IReadOnlyDictionary<string, object?>>(),
            Sections =
            [
                new ReportSection("Periodic Tasks", new Dictionary<string, object?>
                {
                    ["update_available_resource"] = new Dictionary<string, object?> { ["runs"] = 3L, ["last_start"] = null, ["enabled"] = true },
                }),
            ],
        };
        var text = report.Render();
        Assert.That(text, Does.EndWith("""
            ========================================================================
            ====                         Configuration                          ====
            ========================================================================

            ========================================================================
            ====                         Periodic Tasks                         ====
            ========================================================================
            update_available_resource = 
              enabled = True
              last_start = None
              runs = 3
            """.ReplaceLineEndings("\n").TrimEnd('\n')));
        Assert.That(text, Does.Contain("Process 1 (under 0) [ run by: nova (64060), state: sleeping ]\n"));
    }

    [Test]
    public void Render_ThreadWithoutStack_SaysWhyInsteadOfAnEmptyTrace()
    {
        var report = new GuruMeditationReport
        {
            Vendor = "v",
            Product = "p",
            Version = "1",
            Threads = [new ReportThread("42 (.NET TP Worker, sleeping)", null, GuruMeditation.NoStackReason)],
            Process = new ReportProcess(1, 0, "nova", 0, "running"),
            Configuration = new Dictionary<string, IReadOnlyDictionary<string, object?>>(),
        };
        Assert.That(report.Render(), Does.Contain(
            "------           Thread #42 (.NET TP Worker, sleeping)            ------\n\n" + GuruMeditation.NoStackReason + "\n"));
    }

    [Test]
    public void Threads_ThisProcess_ListsEveryTaskWithTheCallersManagedStack()
    {
        var threads = GuruMeditation.Threads();
        var tasks = Directory.GetDirectories("/proc/self/task").Length;
        Assert.That(threads, Has.Count.GreaterThanOrEqualTo(Math.Min(tasks, 2)));
        var withStack = threads.Where(t => t.Frames is not null).ToList();
        Assert.That(withStack, Has.Count.EqualTo(1), "only the calling thread's stack can be walked");
        Assert.That(withStack[0].Frames!.Select(f => f.Name), Has.Some.Contains(nameof(Threads_ThisProcess_ListsEveryTaskWithTheCallersManagedStack)));
    }
}
