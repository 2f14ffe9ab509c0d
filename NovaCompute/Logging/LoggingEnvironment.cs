using System.Reflection;
using NovaCompute.Logging.Journald;

namespace NovaCompute.Logging;

/// <summary>
/// What logging takes from the process rather than from configuration: identity, clock, time
/// zone, standard streams and whether they lead to the journal. <see cref="FromProcess"/> reads
/// the real ones; tests build their own.
/// </summary>
internal sealed record LoggingEnvironment
{
    /// <summary>Python's <c>%(process)d</c>.</summary>
    public int ProcessId { get; init; } = Environment.ProcessId;

    /// <summary><c>SYSLOG_IDENTIFIER</c> and the default log file name (oslo: the script's basename).</summary>
    public string ProgramName { get; init; } = "nova-compute";

    /// <summary>oslo's <c>%(project)s</c> outside a request context.</summary>
    public string Project { get; init; } = "nova";

    /// <summary>oslo's <c>%(version)s</c>.</summary>
    public string Version { get; init; } = DaemonVersion();

    public string HostName { get; init; } = Environment.MachineName;

    /// <summary>The zone of <c>%(asctime)s</c>: Python formats the local time.</summary>
    public TimeZoneInfo TimeZone { get; init; } = TimeZoneInfo.Local;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>When logging started (<c>%(relativeCreated)d</c> counts from here).</summary>
    public DateTimeOffset StartTime { get; init; } = DateTimeOffset.UtcNow;

    public TextWriter Stdout { get; init; } = Console.Out;

    public TextWriter Stderr { get; init; } = Console.Error;

    /// <summary>journald's native socket.</summary>
    public string JournalSocketPath { get; init; } = JournalSocket.DefaultPath;

    /// <summary>True when stdout is the journal stream systemd connected (<c>JOURNAL_STREAM</c>).</summary>
    public bool StdoutIsJournal { get; init; }

    /// <summary>True when stderr is the journal stream systemd connected (<c>JOURNAL_STREAM</c>).</summary>
    public bool StderrIsJournal { get; init; }

    /// <summary>The running process: real streams, and journal detection through fds 1 and 2.</summary>
    public static LoggingEnvironment FromProcess()
    {
        var journalStream = Environment.GetEnvironmentVariable(JournalStream.Variable);
        return new LoggingEnvironment
        {
            StdoutIsJournal = OperatingSystem.IsLinux() && JournalStream.IsConnected(1, journalStream),
            StderrIsJournal = OperatingSystem.IsLinux() && JournalStream.IsConnected(2, journalStream),
        };
    }

    private static string DaemonVersion()
    {
        var assembly = typeof(LoggingEnvironment).Assembly;
        var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        // The SDK appends "+<commit>" to the informational version; oslo prints the bare version.
        return informational?.Split('+')[0] ?? assembly.GetName().Version?.ToString(3) ?? "unknown";
    }
}
