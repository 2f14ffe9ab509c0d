using NovaCompute.Logging.Journald;
using Serilog;
using Serilog.Core;
using Serilog.Debugging;
using Serilog.Extensions.Logging;
using Serilog.Formatting;

namespace NovaCompute.Logging;

/// <summary>
/// oslo.log's <c>setup()</c> for this daemon: picks the sinks from the options and the process
/// environment, and builds the Serilog logger the host uses through Microsoft.Extensions.Logging:
/// <code>
/// using var logging = LoggingSetup.CreateLogger(settings, LoggingEnvironment.FromProcess());
/// builder.Services.AddSerilog(logging.Logger, dispose: false);   // Serilog.Extensions.Hosting
/// // after the host is disposed, logging.Dispose() flushes the host's last lines
/// // SIGHUP: logging.Levels.Debug = newSettings.Debug;
/// </code>
/// Sinks, as oslo.log chooses handlers: a file for <c>log_file</c>/<c>log_dir</c>; stderr for
/// <c>use_stderr</c>; journald for <c>use_journal</c>; stdout when none of those is set. Better
/// than oslo: when the console stream we would write to is itself connected to the journal
/// (<c>JOURNAL_STREAM</c>, the usual case under systemd), the journald sink replaces it, so every
/// entry arrives with its structured fields and none arrives twice.
/// </summary>
internal static class LoggingSetup
{
    /// <exception cref="LoggingConfigurationException">Every invalid option value, reported together.</exception>
    /// <exception cref="IOException">The log file cannot be opened.</exception>
    public static NovaLogging CreateLogger(LoggingSettings settings, LoggingEnvironment environment)
    {
        var problems = new List<string>();
        var overrides = LogLevelController.ParsePairs(settings.DefaultLogLevelPairs, problems);
        if (!SyslogLevels.TryParseFacility(settings.SyslogLogFacility, out var facility))
        {
            problems.Add($"syslog_log_facility: '{settings.SyslogLogFacility}' is not one of {string.Join(", ", SyslogLevels.FacilityNames)}");
        }
        ITextFormatter? formatter = null;
        var usesThreadFields = false;
        try
        {
            if (settings.UseJson)
            {
                formatter = new OsloJsonFormatter(settings, environment);
            }
            else
            {
                var oslo = new OsloFormatter(settings, environment);
                usesThreadFields = oslo.UsesThreadFields;
                formatter = oslo;
            }
        }
        catch (FormatException e)
        {
            problems.Add(e.Message);
        }
        if (problems.Count > 0 || formatter is null)
        {
            throw new LoggingConfigurationException(problems);
        }

        // Serilog reports sink failures here; stderr reaches the journal or the terminal.
        SelfLog.Enable(TextWriter.Synchronized(environment.Stderr));

        var sinks = new List<ILogEventSink>();
        var destinations = new List<string>();
        string? detectedStream = null;
        try
        {
            var logFile = settings.ResolveLogFilePath(environment.ProgramName);
            if (logFile is not null)
            {
                var file = new WatchedFileSink(logFile, formatter);
                sinks.Add(file);
                destinations.Add($"file {file.Path}");
            }

            var useJournal = settings.UseJournal;
            (TextWriter Writer, string Name, bool IsJournal)? console = null;
            if (settings.UseStderr)
            {
                console = (environment.Stderr, "stderr", environment.StderrIsJournal);
            }
            else if (logFile is null && !settings.UseJournal)
            {
                console = (environment.Stdout, "stdout", environment.StdoutIsJournal);
            }
            if (console is { IsJournal: true } journalStream && File.Exists(environment.JournalSocketPath))
            {
                useJournal = true;
                detectedStream = journalStream.Name;
                console = null;
            }
            if (console is { } c)
            {
                sinks.Add(new ConsoleSink(formatter, c.Writer));
                destinations.Add(c.Name);
            }
            if (useJournal)
            {
                sinks.Add(new JournaldSink(new JournaldSinkOptions
                {
                    SocketPath = environment.JournalSocketPath,
                    SyslogIdentifier = environment.ProgramName,
                    SyslogFacility = facility,
                    MessageFormatter = formatter,
                    LoggerName = LoggerNames.FromCategory,
                    Redact = SecretMasker.Mask,
                    TimeProvider = environment.TimeProvider,
                    Fallback = environment.Stderr,
                }));
                destinations.Add($"journald ({environment.JournalSocketPath})");
            }
        }
        catch
        {
            foreach (var sink in sinks)
            {
                (sink as IDisposable)?.Dispose();
            }
            throw;
        }

        var levels = new LogLevelController(settings.Debug, overrides);
        var configuration = new LoggerConfiguration()
            .MinimumLevel.ControlledBy(levels.MinimumLevelSwitch)
            .Filter.With(levels);
        if (usesThreadFields)
        {
            configuration.Enrich.With(new ThreadEnricher());
        }
        foreach (var sink in sinks)
        {
            configuration.WriteTo.Sink(sink);
        }
        var logger = configuration.CreateLogger();

        using (var factory = new SerilogLoggerFactory(logger, dispose: false))
        {
            var log = factory.CreateLogger(typeof(LoggingSetup).FullName!);
            if (detectedStream is not null)
            {
                Log.JournalDetected(log, detectedStream);
            }
            Log.LoggingTo(log, string.Join(", ", destinations));
            foreach (var (option, reason) in UnsupportedOptions(settings))
            {
                Log.OptionNotSupported(log, option, reason);
            }
        }
        return new NovaLogging(logger, levels, destinations);
    }

    /// <summary>oslo.log options a nova.conf may set that this daemon does not implement, and why.</summary>
    private static IEnumerable<(string Option, string Reason)> UnsupportedOptions(LoggingSettings settings)
    {
        if (!string.IsNullOrEmpty(settings.LogConfigAppend))
        {
            yield return ("log_config_append", "Python logging configuration files cannot drive this daemon; the other logging options apply");
        }
        if (settings.UseSyslog)
        {
            yield return ("use_syslog", "use use_journal (journald forwards to syslog when configured to)");
        }
        if (!string.Equals(settings.LogRotationType, "none", StringComparison.OrdinalIgnoreCase))
        {
            yield return ("log_rotation_type", "rotate with logrotate; the log file is reopened when it is moved away");
        }
        if (settings.RateLimitInterval > 0 && settings.RateLimitBurst > 0)
        {
            yield return ("rate_limit_burst", "log rate limiting is not implemented");
        }
        if (settings.PublishErrors)
        {
            yield return ("publish_errors", "error notifications are not implemented");
        }
    }
}

/// <summary>The daemon's logger and its run-time controls; disposing flushes and closes every sink.</summary>
internal sealed class NovaLogging(Logger logger, LogLevelController levels, IReadOnlyList<string> destinations) : IDisposable
{
    /// <summary>Hand to <c>AddSerilog(logger, dispose: false)</c>; this object's owner disposes it.</summary>
    public Logger Logger { get; } = logger;

    /// <summary>Root level (<c>Debug</c> follows the mutable <c>debug</c> option) and per-logger levels.</summary>
    public LogLevelController Levels { get; } = levels;

    /// <summary>Where lines go, for diagnostics ("file /var/log/nova/nova-compute.log", "journald (…)").</summary>
    public IReadOnlyList<string> Destinations { get; } = destinations;

    public void Dispose() => Logger.Dispose();
}

/// <summary>Invalid logging options, all of them at once.</summary>
internal sealed class LoggingConfigurationException(IReadOnlyList<string> problems)
    : Exception("invalid logging configuration:" + Environment.NewLine + "  " + string.Join(Environment.NewLine + "  ", problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}
