using System.Diagnostics;
using NovaCompute.Config;
using NovaCompute.Logging;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Logging;

public class LoggingOptionsTests
{
    [Test]
    public void ToSettings_Defaults_MatchLoggingSettingsDefaults()
    {
        var config = NovaConfig.FromValues(LoggingOptions.All);
        Assert.That(LoggingOptions.ToSettings(config), Is.EqualTo(new LoggingSettings()).Using<LoggingSettings>(SameSettings));
    }

    [Test]
    public void ToSettings_ConfiguredValues_AreCarriedOver()
    {
        var config = NovaConfig.FromValues(LoggingOptions.All, new Dictionary<Opt, string>
        {
            [LoggingOptions.Debug] = "true",
            [LoggingOptions.LogFile] = "compute.log",
            [LoggingOptions.LogDir] = "/var/log/nova",
            [LoggingOptions.UseJournal] = "yes",
            [LoggingOptions.UseStderr] = "1",
            [LoggingOptions.SyslogLogFacility] = "LOG_LOCAL3",
            [LoggingOptions.DefaultLogLevels] = "amqp=WARN, nova.compute=DEBUG",
            [LoggingOptions.LogDateFormat] = "%H:%M",
            [LoggingOptions.InstanceUuidFormat] = "(%(uuid)s) ",
            [LoggingOptions.LoggingDebugFormatSuffix] = "",
        });
        var settings = LoggingOptions.ToSettings(config);
        Assert.Multiple(() =>
        {
            Assert.That(settings.Debug, Is.True);
            Assert.That(settings.ResolveLogFilePath("nova-compute"), Is.EqualTo("/var/log/nova/compute.log"));
            Assert.That(settings.UseJournal && settings.UseStderr, Is.True);
            Assert.That(settings.SyslogLogFacility, Is.EqualTo("LOG_LOCAL3"));
            Assert.That(settings.DefaultLogLevelPairs, Is.EqualTo(new[] { "amqp=WARN", "nova.compute=DEBUG" }));
            Assert.That(settings.LogDateFormat, Is.EqualTo("%H:%M"));
            Assert.That(settings.InstanceUuidFormat, Is.EqualTo("(%(uuid)s) "));
            Assert.That(settings.LoggingDebugFormatSuffix, Is.Empty);
        });
    }

    [Test]
    public void Debug_IsTheOnlyMutableOptionBesideLogConfigAppend()
    {
        Assert.That(LoggingOptions.All.Where(o => o.Mutable).Select(o => o.Name), Is.EqualTo(new[] { "debug", "log_config_append" }));
    }

    [Test]
    public void All_DefaultGroupOsloLogNamespace_NoDuplicates()
    {
        Assert.That(LoggingOptions.All.Select(o => o.Name), Is.Unique);
        Assert.That(LoggingOptions.All.All(o => o.Group == ConfigGroups.Default && o.Namespace == "oslo.log"), Is.True);
    }

    [TestCase("logfile", "log_file")]
    [TestCase("logdir", "log_dir")]
    [TestCase("log_config", "log_config_append")]
    public void DeprecatedName_StillReadFromTheFile(string deprecated, string current)
    {
        var directory = Directory.CreateTempSubdirectory("nova-logopts-").FullName;
        try
        {
            var file = Path.Combine(directory, "nova.conf");
            File.WriteAllText(file, $"[DEFAULT]\n{deprecated} = /somewhere\n");
            var loaded = new ConfigLoader(LoggingOptions.All).Load(new ConfigArguments { Sources = [new ConfigSourceArgument(ConfigSourceKind.File, file)] });
            Assert.That(loaded.Succeeded, Is.True, string.Join("; ", loaded.Errors));
            var option = (StrOpt)LoggingOptions.All.Single(o => o.Name == current);
            Assert.That(loaded.Config!.Get(option), Is.EqualTo("/somewhere"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// Our sample section for oslo.log must read as oslo-config-generator writes it, apart from
    /// the documented differences (rotation choices, default_log_levels additions).
    /// </summary>
    [Test]
    public void Sample_MatchesOsloConfigGeneratorApartFromDocumentedDifferences()
    {
        var python = TestServices.SystemPython;
        var start = new ProcessStartInfo(python, ["-m", "oslo_config.generator", "--namespace", "oslo.log"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var oslo = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            TestServices.Unavailable("oslo-config-generator is not usable here: " + process.StandardError.ReadToEnd());
        }

        var ours = SampleGenerator.Generate(LoggingOptions.All);
        static string Normalise(string sample, bool oslo)
        {
            var lines = sample.Split('\n').ToList();
            // Rotation options carry no Choices (oslo matches them case-insensitively; StrOpt cannot yet).
            lines.RemoveAll(l => l.StartsWith("# Possible values:", StringComparison.Ordinal)
                || l is "# Seconds - <No description provided>" or "# Minutes - <No description provided>" or "# Hours - <No description provided>"
                    or "# Days - <No description provided>" or "# Weekday - <No description provided>" or "# Midnight - <No description provided>"
                    or "# interval - Rotate logs at predefined time intervals." or "# size - Rotate logs once they reach a predefined size."
                    or "# none - Do not rotate log files.");
            return string.Join('\n', lines.Where(l => !l.StartsWith("#default_log_levels = ", StringComparison.Ordinal))).TrimEnd();
        }
        Assert.That(Normalise(ours, false), Is.EqualTo(Normalise(oslo, true)));
        var osloLevels = oslo.Split('\n').Single(l => l.StartsWith("#default_log_levels = ", StringComparison.Ordinal))["#default_log_levels = ".Length..].Split(',');
        Assert.That(LoggingSettings.DefaultLogLevels.Take(osloLevels.Length), Is.EqualTo(osloLevels), "oslo's list comes first, unchanged");
    }

    private static bool SameSettings(LoggingSettings a, LoggingSettings b) =>
        a with { DefaultLogLevelPairs = [] } == b with { DefaultLogLevelPairs = [] }
        && a.DefaultLogLevelPairs.SequenceEqual(b.DefaultLogLevelPairs);
}
