using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Cli;

/// <summary>genconfig and check-config through the published binary, as an operator runs them.</summary>
public class ConfigCommandsTests
{
    private DirectoryInfo _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("nova-cli-");

    [TearDown]
    public void TearDown() => _dir.Delete(recursive: true);

    private string Write(string text)
    {
        var path = Path.Combine(_dir.FullName, "nova.conf");
        File.WriteAllText(path, text);
        return path;
    }

    [Test]
    public async Task CheckConfig_ValidFile_PrintsEveryValueWithSourceAndMasksSecrets()
    {
        var conf = Write("[DEFAULT]\nhost = node7\ncompute_driver = fake.FakeDriver\n\n[database]\nconnection = postgresql://nova:Sup3rS3cret@db.example:5432/nova\n");
        var result = await Shell.RunAsync(TestServices.PublishedDaemon, ["check-config", "--config-file", conf, "--debug"],
            null);
        Assert.That(result.ExitCode, Is.Zero, result.Output);
        Assert.That(result.Stdout, Does.Match(@"host\s+= node7\s+\(file " + System.Text.RegularExpressions.Regex.Escape(conf) + @":2\)"));
        Assert.That(result.Stdout, Does.Match(@"connection\s+= \*\*\*\*\s+\(file .*:6\)"));
        Assert.That(result.Stdout, Does.Match(@"debug\s+= true\s+\(command line --debug\)"));
        Assert.That(result.Stdout, Does.Match(@"report_interval\s+= 10\s+\(default\)"));
        Assert.That(result.Output, Does.Not.Contain("Sup3rS3cret"));
    }

    [Test]
    public async Task CheckConfig_EnvironmentOverride_NamesTheVariable()
    {
        var conf = Write("[DEFAULT]\nreport_interval = 5\ncompute_driver = fake.FakeDriver\n");
        var start = new System.Diagnostics.ProcessStartInfo(TestServices.PublishedDaemon, ["check-config", "--config-file", conf])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["OS_DEFAULT__REPORT_INTERVAL"] = "7";
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.That(process.ExitCode, Is.Zero);
        Assert.That(output, Does.Match(@"report_interval\s+= 7\s+\(environment OS_DEFAULT__REPORT_INTERVAL\)"));
    }

    [Test]
    public async Task CheckConfig_InvalidFile_Exits78WithEveryProblem()
    {
        var conf = Write("[DEFAULT]\nreport_interval = ten\nservice_down_time = -\n");
        var result = await Shell.RunAsync(TestServices.PublishedDaemon, "check-config", "--config-file", conf);
        Assert.That(result.ExitCode, Is.EqualTo(78));
        Assert.That(result.Stderr, Does.Contain($"{conf}:2: Value for option report_interval"));
        Assert.That(result.Stderr, Does.Contain($"{conf}:3: Value for option service_down_time"));
        Assert.That(result.Stdout, Is.Empty);
    }

    [Test]
    public async Task CheckConfig_DaemonWouldNotStart_Exits78NamingWhy()
    {
        var conf = Write("[DEFAULT]\ntransport_url = rabbit://u:p@host:5672/?no_such_query_option=1\n");
        var result = await Shell.RunAsync(TestServices.PublishedDaemon, "check-config", "--config-file", conf);
        Assert.That(result.ExitCode, Is.EqualTo(78));
        Assert.That(result.Stderr, Does.Contain("transport_url").And.Contain("no_such_query_option"));
        Assert.That(result.Stderr, Does.Contain("compute_driver"));
        Assert.That(result.Output, Does.Not.Contain("u:p@"));
    }

    [Test]
    public async Task CheckConfig_NegativeReportIntervalAndServiceDownTime_Exits78NamingFileLineAndOption()
    {
        var conf = Write("[DEFAULT]\ncompute_driver = fake.FakeDriver\nreport_interval = -5\nservice_down_time = -1\n");
        var result = await Shell.RunAsync(TestServices.PublishedDaemon, "check-config", "--config-file", conf);
        Assert.That(result.ExitCode, Is.EqualTo(78), result.Output);
        Assert.That(result.Stderr, Does.Contain($"{conf}:3: Value for option report_interval in group [DEFAULT] (-5) is not valid: Should be greater than or equal to 0"));
        Assert.That(result.Stderr, Does.Contain($"{conf}:4: Value for option service_down_time in group [DEFAULT] (-1) is not valid: Should be greater than or equal to 0"));
    }

    [TestCase("rabbit://guest:guest@:5672/v", "empty host name")]
    [TestCase("rabbit://guest:guest@host:99999/v", "Invalid port '99999'")]
    [TestCase("amqp://guest:guest@host:5672/v", "unsupported driver 'amqp'")]
    public async Task CheckConfig_BadTransportUrl_Exits78NamingFileAndLineWithoutThePassword(string url, string reason)
    {
        var conf = Write($"[DEFAULT]\ncompute_driver = fake.FakeDriver\n\ntransport_url = {url}\n");
        var result = await Shell.RunAsync(TestServices.PublishedDaemon, "check-config", "--config-file", conf);
        Assert.That(result.ExitCode, Is.EqualTo(78), result.Output);
        Assert.That(result.Stderr, Does.Contain($"{conf}:4: transport_url: ").And.Contain(reason));
        Assert.That(result.Output, Does.Not.Contain("guest:guest"));
    }

    [Test]
    public async Task CheckConfig_HugeGarbageFile_PrintsTheFirstProblemsEscapedAndHowManyMore()
    {
        var garbage = new System.Text.StringBuilder("[DEFAULT]\n");
        for (var i = 0; i < 20_000; i++)
        {
            garbage.Append("\u0001\u001b[31mgarbage\u0000 \u007f").Append(i).Append('\n');
        }
        var conf = Write(garbage.ToString());
        var result = await Shell.RunAsync(TestServices.PublishedDaemon, "check-config", "--config-file", conf);
        Assert.That(result.ExitCode, Is.EqualTo(78));
        var lines = result.Stderr.TrimEnd('\n').Split('\n');
        Assert.That(lines, Has.Length.LessThanOrEqualTo(25), "a capped report, not one line per bad line");
        Assert.That(lines[0], Does.Contain($"{conf}:2: parse error: ").And.Contain("\\x01\\x1b[31mgarbage\\x00 \\x7f0"));
        Assert.That(result.Stderr, Does.Contain("... and 19980 more"));
        Assert.That(result.Stderr, Does.Contain("20000 configuration error(s)"));
        Assert.That(result.Stderr.Where(c => char.IsControl(c) && c != '\n'), Is.Empty, "no raw control bytes echoed to the terminal");
    }

    [Test]
    public async Task CheckConfig_DirectoryAsConfigFile_SaysItIsADirectory()
    {
        var result = await Shell.RunAsync(TestServices.PublishedDaemon, "check-config", "--config-file", _dir.FullName);
        Assert.That(result.ExitCode, Is.EqualTo(78));
        Assert.That(result.Stderr, Does.Contain($"Failed to read config file {_dir.FullName}: is a directory"));
        Assert.That(result.Stderr, Does.Not.Contain("permission denied"));
    }

    [Test]
    public async Task Run_UnreadableConfigDir_Exits78NamingThePath()
    {
        // Root reads any directory, so the daemon runs as nobody (setpriv) against one only root may read.
        File.SetUnixFileMode(_dir.FullName, (UnixFileMode)0b111_101_101);
        var locked = Directory.CreateDirectory(Path.Combine(_dir.FullName, "nova.conf.d")).FullName;
        File.WriteAllText(Path.Combine(locked, "10-host.conf"), "[DEFAULT]\nhost = x\n");
        File.SetUnixFileMode(locked, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        // A copy nobody can reach: the checkout may live under a directory only root may enter (CI's clone).
        var published = Path.GetDirectoryName(TestServices.PublishedDaemon)!;
        var copy = Path.Combine(_dir.FullName, "daemon");
        foreach (var file in Directory.EnumerateFiles(published, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(copy, Path.GetRelativePath(published, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        var daemon = Path.Combine(copy, Path.GetFileName(TestServices.PublishedDaemon));
        var result = await Shell.RunAsync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", daemon, "--config-dir", locked], null);

        Assert.That(result.ExitCode, Is.EqualTo(78), result.Output);
        Assert.That(result.Stderr, Does.Contain($"Failed to read config directory {locked}: permission denied"));
        Assert.That(result.Output, Does.Not.Contain("Unhandled").And.Not.Contain("UnauthorizedAccessException"));
    }

    [Test]
    public async Task GenConfig_PrintsTheCommittedSample()
    {
        var result = await Shell.RunAsync(TestServices.PublishedDaemon, "genconfig");
        Assert.That(result.ExitCode, Is.Zero);
        Assert.That(result.Stdout, Is.EqualTo(await File.ReadAllTextAsync(Path.Combine(TestServices.RepositoryRoot, "nova-compute.conf.sample"))));
    }
}
