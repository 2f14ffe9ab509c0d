using Microsoft.Extensions.Logging;

namespace NovaCompute.Logging;

/// <summary>The logging area's own events (ids 1400–1499; 1490 is the journald sink's drop warning).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1401, Level = LogLevel.Debug, Message = "Logging to {Destinations}")]
    public static partial void LoggingTo(ILogger logger, string destinations);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Warning, Message = "Option {Option} is not supported and is ignored: {Reason}")]
    public static partial void OptionNotSupported(ILogger logger, string option, string reason);

    [LoggerMessage(EventId = 1403, Level = LogLevel.Debug, Message = "Logging to the journal: {Stream} is connected to it (JOURNAL_STREAM)")]
    public static partial void JournalDetected(ILogger logger, string stream);
}
