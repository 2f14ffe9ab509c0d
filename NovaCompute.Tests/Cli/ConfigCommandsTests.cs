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
        var conf = Write("[DEFAULT]\nhost = node7\n\n[database]\nconnection = postgresql://nova:Sup3rS3cret@db.example:5432/nova\n");
        var result = await Shell.RunAsync(TestServices.PublishedDaemon, ["check-config", "--config-file", conf, "--debug"],
            null);
        Assert.That(result.ExitCode, Is.Zero, result.Output);
        Assert.That(result.Stdout, Does.Match(@"host\s+= node7\s+\(file " + System.Text.RegularExpressions.Regex.Escape(conf) + @":2\)"));
        Assert.That(result.Stdout, Does.Match(@"connection\s+= \*\*\*\*\s+\(file .*:5\)"));
        Assert.That(result.Stdout, Does.Match(@"debug\s+= true\s+\(command line --debug\)"));
        Assert.That(result.Stdout, Does.Match(@"report_interval\s+= 10\s+\(default\)"));
        Assert.That(result.Output, Does.Not.Contain("Sup3rS3cret"));
    }

    [Test]
    public async Task CheckConfig_EnvironmentOverride_NamesTheVariable()
    {
        var conf = Write("[DEFAULT]\nreport_interval = 5\n");
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
    public async Task GenConfig_PrintsTheCommittedSample()
    {
        var result = await Shell.RunAsync(TestServices.PublishedDaemon, "genconfig");
        Assert.That(result.ExitCode, Is.Zero);
        Assert.That(result.Stdout, Is.EqualTo(await File.ReadAllTextAsync(Path.Combine(TestServices.RepositoryRoot, "nova-compute.conf.sample"))));
    }
}
