using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NovaCompute.Logging;
using NovaCompute.Tests.Logging.Journald;
using Serilog;

namespace NovaCompute.Tests.Logging;

public class LoggingSetupTests
{
    private string _directory = "";
    private StringWriter _stdout = new();
    private StringWriter _stderr = new();

    [SetUp]
    public void CreateDirectory()
    {
        _directory = Directory.CreateTempSubdirectory("nova-logsetup-").FullName;
        _stdout = new StringWriter();
        _stderr = new StringWriter();
    }

    [TearDown]
    public void RemoveDirectory()
    {
        Serilog.Debugging.SelfLog.Disable();
        Directory.Delete(_directory, recursive: true);
    }

    private LoggingEnvironment Environment(bool stdoutIsJournal = false, bool stderrIsJournal = false, string? journalSocket = null) => new()
    {
        ProcessId = 4242,
        TimeZone = LogEvents.Zone,
        Stdout = _stdout,
        Stderr = _stderr,
        StdoutIsJournal = stdoutIsJournal,
        StderrIsJournal = stderrIsJournal,
        JournalSocketPath = journalSocket ?? Path.Combine(_directory, "no-journal.socket"),
    };

    /// <summary>The daemon's wiring (Daemon.BuildHost): Serilog.Extensions.Hosting makes Serilog the host's logger factory.</summary>
    private static ServiceProvider Host(NovaLogging logging)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSerilog(logging.Logger, dispose: false);
        return services.BuildServiceProvider();
    }

    private static IEnumerable<string> Lines(StringWriter writer) =>
        writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.Contains(" nova.logging.logging_setup ", StringComparison.Ordinal));

    [Test]
    public void CreateLogger_ThroughMicrosoftLogging_ScopePropertiesReachTheLine()
    {
        using var logging = LoggingSetup.CreateLogger(new LoggingSettings(), Environment());
        using var provider = Host(logging);
        var logger = provider.GetRequiredService<ILogger<NovaCompute.Tests.Logging.Fixtures.HeartbeatWriter>>();

        using (logger.BeginScope(new Dictionary<string, object?>
        {
            ["RequestId"] = "req-1",
            ["GlobalRequestId"] = null,
            ["UserId"] = "u1",
            ["ProjectId"] = "p1",
            ["InstanceUuid"] = "8f2a1c3e-0000-4000-8000-000000000001",
        }))
        {
            logger.LogInformation("Reported state of {Host}", "compute-01");
        }
        logger.LogInformation("Outside any request");

        var lines = Lines(_stdout).ToList();
        Assert.That(lines, Has.Count.EqualTo(2));
        Assert.That(lines[0], Does.Match(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} 4242 INFO nova\.tests\.logging\.fixtures\.heartbeat_writer "
            + @"\[None req-1 u1 p1 - - - -\] \[instance: 8f2a1c3e-0000-4000-8000-000000000001\] Reported state of compute-01$"));
        Assert.That(lines[1], Does.EndWith(" INFO nova.tests.logging.fixtures.heartbeat_writer [-] Outside any request"));
    }

    [Test]
    public void CreateLogger_LoggerMessageEvent_DebugSuffixNamesTheEvent()
    {
        using var logging = LoggingSetup.CreateLogger(new LoggingSettings { Debug = true }, Environment());
        using var provider = Host(logging);
        var logger = provider.GetRequiredService<ILogger<NovaCompute.Tests.Logging.Fixtures.HeartbeatWriter>>();

        NovaCompute.Tests.Logging.Fixtures.HeartbeatWriter.Log.Joined(logger, "compute-01");

        Assert.That(Lines(_stdout).Single(), Does.EndWith(
            "DEBUG nova.tests.logging.fixtures.heartbeat_writer [-] Joined the compute group as compute-01 "
            + "Joined NovaCompute.Tests.Logging.Fixtures.HeartbeatWriter:2101"));
    }

    [Test]
    public void CreateLogger_DebugOff_DebugSuppressedUntilSwitchedAtRunTime()
    {
        using var logging = LoggingSetup.CreateLogger(new LoggingSettings(), Environment());
        using var provider = Host(logging);
        var logger = provider.GetRequiredService<ILogger<NovaCompute.Tests.Logging.Fixtures.HeartbeatWriter>>();

        logger.LogDebug("hidden");
        Assert.That(logger.IsEnabled(LogLevel.Debug), Is.False);

        logging.Levels.Debug = true;
        logger.LogDebug("shown");
        logging.Levels.Debug = false;
        logger.LogDebug("hidden again");

        Assert.That(Lines(_stdout).Single(), Does.Contain("[-] shown "));
    }

    [Test]
    public void CreateLogger_DefaultLogLevels_ApplyToMappedNames()
    {
        var settings = new LoggingSettings { Debug = true, DefaultLogLevelPairs = ["oslo.messaging=INFO", "microsoft.hosting=WARN"] };
        using var logging = LoggingSetup.CreateLogger(settings, Environment());
        using var provider = Host(logging);
        var factory = provider.GetRequiredService<ILoggerFactory>();

        factory.CreateLogger("NovaCompute.Messaging.Rpc.RpcServer").LogDebug("rpc debug");
        factory.CreateLogger("NovaCompute.Messaging.Rpc.RpcServer").LogInformation("rpc info");
        factory.CreateLogger("Microsoft.Hosting.Lifetime").LogInformation("lifetime info");
        factory.CreateLogger("NovaCompute.Compute.ComputeManager").LogDebug("manager debug");

        var lines = Lines(_stdout).ToList();
        Assert.That(lines.Select(l => l[(l.IndexOf("[-] ", StringComparison.Ordinal) + 4)..].Split(' ')[0] + " " + l.Split(' ')[4]),
            Is.EqualTo(new[] { "rpc oslo.messaging.rpc.rpc_server", "manager nova.compute.compute_manager" }));
        Assert.That(lines[0], Does.Contain("rpc info"));
    }

    [Test]
    public void CreateLogger_NothingSelected_WritesToStdoutOnly()
    {
        using var logging = LoggingSetup.CreateLogger(new LoggingSettings(), Environment());
        logging.Logger.Information("hello");
        Assert.That(_stdout.ToString(), Does.Contain(" root [-] hello\n"));
        Assert.That(_stderr.ToString(), Is.Empty);
        Assert.That(logging.Destinations, Is.EqualTo(new[] { "stdout" }));
    }

    [Test]
    public void CreateLogger_UseStderrAndLogFile_WritesToBoth()
    {
        var settings = new LoggingSettings { UseStderr = true, LogFile = "compute.log", LogDir = _directory };
        using (var logging = LoggingSetup.CreateLogger(settings, Environment()))
        {
            logging.Logger.Warning("to both");
            Assert.That(logging.Destinations, Is.EqualTo(new[] { $"file {Path.Combine(_directory, "compute.log")}", "stderr" }));
        }
        Assert.That(Lines(_stderr).Single(), Does.EndWith("WARNING root [-] to both"));
        Assert.That(File.ReadAllText(Path.Combine(_directory, "compute.log")), Does.EndWith("WARNING root [-] to both\n"));
        Assert.That(_stdout.ToString(), Is.Empty);
    }

    [Test]
    public void CreateLogger_LogDirAlone_UsesProgramNameDotLog()
    {
        using (var logging = LoggingSetup.CreateLogger(new LoggingSettings { LogDir = _directory }, Environment()))
        {
            logging.Logger.Information("x");
        }
        Assert.That(File.Exists(Path.Combine(_directory, "nova-compute.log")), Is.True);
        Assert.That(_stdout.ToString(), Is.Empty, "a log file replaces stdout, as in oslo");
    }

    [Test]
    public void CreateLogger_UseJournal_SendsToJournalAndNotStdout()
    {
        using var receiver = new JournalReceiver(_directory);
        using (var logging = LoggingSetup.CreateLogger(new LoggingSettings { UseJournal = true, SyslogLogFacility = "LOG_LOCAL0" },
                   Environment(journalSocket: receiver.Path)))
        {
            logging.Logger.ForContext("SourceContext", "NovaCompute.Compute.ComputeManager").Information("to the journal");
        }
        var fields = ReceiveSkippingSetupLines(receiver);
        Assert.That(fields["MESSAGE"], Does.EndWith("INFO nova.compute.compute_manager [-] to the journal"));
        Assert.That(fields["SYSLOG_FACILITY"], Is.EqualTo("16"));
        Assert.That(_stdout.ToString(), Is.Empty);
    }

    [Test]
    public void CreateLogger_StdoutIsTheJournal_JournaldReplacesTheConsole()
    {
        using var receiver = new JournalReceiver(_directory);
        using (var logging = LoggingSetup.CreateLogger(new LoggingSettings(), Environment(stdoutIsJournal: true, journalSocket: receiver.Path)))
        {
            Assert.That(logging.Destinations, Is.EqualTo(new[] { $"journald ({receiver.Path})" }));
            logging.Logger.Information("once");
        }
        Assert.That(ReceiveSkippingSetupLines(receiver)["MESSAGE"], Does.EndWith("[-] once"));
        Assert.That(_stdout.ToString(), Is.Empty, "no line may reach the journal twice");
    }

    [Test]
    public void CreateLogger_StderrIsTheJournalWithUseStderr_JournaldReplacesStderr()
    {
        using var receiver = new JournalReceiver(_directory);
        using var logging = LoggingSetup.CreateLogger(new LoggingSettings { UseStderr = true }, Environment(stderrIsJournal: true, journalSocket: receiver.Path));
        Assert.That(logging.Destinations, Is.EqualTo(new[] { $"journald ({receiver.Path})" }));
    }

    [Test]
    public void CreateLogger_StdoutIsTheJournalButNoJournalSocket_KeepsTheConsole()
    {
        using var logging = LoggingSetup.CreateLogger(new LoggingSettings(), Environment(stdoutIsJournal: true));
        Assert.That(logging.Destinations, Is.EqualTo(new[] { "stdout" }));
    }

    [Test]
    public void CreateLogger_UseJson_WritesOsloJsonLines()
    {
        using var logging = LoggingSetup.CreateLogger(new LoggingSettings { UseJson = true }, Environment());
        logging.Logger.ForContext("SourceContext", "NovaCompute.Service").Information("json {Thing}", "works");
        var line = Lines(_stdout).Single(l => l.Contains("json works", StringComparison.Ordinal));
        using var json = System.Text.Json.JsonDocument.Parse(line);
        Assert.That(json.RootElement.GetProperty("message").GetString(), Is.EqualTo("json works"));
        Assert.That(json.RootElement.GetProperty("name").GetString(), Is.EqualTo("nova.service"));
    }

    [Test]
    public void CreateLogger_InvalidOptions_ReportsEveryProblemAtOnce()
    {
        var settings = new LoggingSettings
        {
            SyslogLogFacility = "LOG_NOWHERE",
            DefaultLogLevelPairs = ["amqp=LOUD"],
            LoggingContextFormatString = "%(asctime",
        };
        var e = Assert.Throws<LoggingConfigurationException>(() => LoggingSetup.CreateLogger(settings, Environment()));
        Assert.That(e!.Problems, Has.Count.EqualTo(3));
        Assert.That(e.Message, Does.Contain("syslog_log_facility").And.Contain("amqp=LOUD").And.Contain("%(asctime"));
    }

    [Test]
    public void CreateLogger_UnsupportedOptionsSet_WarnsAboutEach()
    {
        var settings = new LoggingSettings { LogConfigAppend = "/etc/nova/logging.conf", UseSyslog = true, LogRotationType = "size", PublishErrors = true };
        using var logging = LoggingSetup.CreateLogger(settings, Environment());
        var warnings = _stdout.ToString().Split('\n').Where(l => l.Contains(" WARNING nova.logging.logging_setup ", StringComparison.Ordinal)).ToList();
        Assert.That(warnings, Has.Count.EqualTo(4));
        Assert.That(warnings, Has.Some.Contains("Option log_config_append is not supported"));
        Assert.That(warnings, Has.Some.Contains("Option log_rotation_type is not supported"));
    }

    [Test]
    public void CreateLogger_FormatAsksForThread_ThreadOfTheCallerIsPrinted()
    {
        var settings = new LoggingSettings { LoggingDefaultFormatString = "%(threadName)s %(message)s" };
        using var logging = LoggingSetup.CreateLogger(settings, Environment());
        var thread = new Thread(() => logging.Logger.Information("from a named thread")) { Name = "periodic-tasks" };
        thread.Start();
        thread.Join();
        Assert.That(_stdout.ToString(), Does.Contain("periodic-tasks from a named thread\n"));
    }

    [Test]
    public void CreateLogger_LoggedSecrets_NeverReachAnySink()
    {
        var settings = new LoggingSettings { UseStderr = true, LogFile = Path.Combine(_directory, "secret.log") };
        using (var logging = LoggingSetup.CreateLogger(settings, Environment()))
        {
            logging.Logger.Error(new InvalidOperationException("password=hunter2"), "Connecting to {Url}", "rabbit://nova:s3cret@h1,nova:t0p@h2/");
        }
        foreach (var text in new[] { _stderr.ToString(), File.ReadAllText(Path.Combine(_directory, "secret.log")) })
        {
            Assert.That(text, Does.Contain("rabbit://nova:****@h1,nova:****@h2/").And.Contain("password=***"));
            Assert.That(text, Does.Not.Contain("s3cret").And.Not.Contain("t0p").And.Not.Contain("hunter2"));
        }
    }

    private static Dictionary<string, string> ReceiveSkippingSetupLines(JournalReceiver receiver)
    {
        while (true)
        {
            var fields = receiver.ReceiveFields(TimeSpan.FromSeconds(10));
            if (fields["LOGGER_NAME"] != "nova.logging.logging_setup")
            {
                return fields;
            }
        }
    }
}
