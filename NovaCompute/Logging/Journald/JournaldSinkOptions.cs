using Serilog.Formatting;

namespace NovaCompute.Logging.Journald;

/// <summary>How a <see cref="JournaldSink"/> writes. Defaults suit a production nova-compute.</summary>
internal sealed record JournaldSinkOptions
{
    /// <summary>The journal's native socket; tests bind a temporary one.</summary>
    public string SocketPath { get; init; } = JournalSocket.DefaultPath;

    /// <summary><c>SO_SNDBUF</c>: entries above it (after the kernel's cap) go through a memfd.</summary>
    public int SendBufferSize { get; init; } = JournalSocket.DefaultSendBufferSize;

    /// <summary><c>SYSLOG_IDENTIFIER</c>, what <c>journalctl -t</c> selects on.</summary>
    public string SyslogIdentifier { get; init; } = "nova-compute";

    /// <summary><c>SYSLOG_FACILITY</c> as a facility number (1 = LOG_USER); null leaves it out.</summary>
    public int? SyslogFacility { get; init; } = 1;

    /// <summary>
    /// Renders <c>MESSAGE</c>. oslo.log sends the fully formatted line, so the daemon passes its
    /// oslo formatter here; without one the rendered message template is sent. One trailing
    /// newline is removed.
    /// </summary>
    public ITextFormatter? MessageFormatter { get; init; }

    /// <summary>Maps a Serilog <c>SourceContext</c> (null when absent) to <c>LOGGER_NAME</c>.</summary>
    public Func<string?, string> LoggerName { get; init; } = static context => context ?? "root";

    /// <summary>Applied to every free-text field other than MESSAGE (exception text, string properties).</summary>
    public Func<string, string> Redact { get; init; } = static text => text;

    /// <summary>Entries waiting for the writer thread; beyond this, new entries are dropped and counted.</summary>
    public int QueueCapacity { get; init; } = 10_000;

    /// <summary>Shortest time between two "entries dropped" warnings.</summary>
    public TimeSpan DropReportInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long <c>Dispose</c> waits for queued entries to be written.</summary>
    public TimeSpan DisposeTimeout { get; init; } = TimeSpan.FromSeconds(5);

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Where entries go, as plain lines, while no journal listens. Null means stderr.</summary>
    public TextWriter? Fallback { get; init; }
}
