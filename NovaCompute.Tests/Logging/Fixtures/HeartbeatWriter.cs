using Microsoft.Extensions.Logging;

namespace NovaCompute.Tests.Logging.Fixtures;

/// <summary>A stand-in daemon class: its category and [LoggerMessage] event are what real code produces.</summary>
internal sealed partial class HeartbeatWriter
{
    internal static partial class Log
    {
        [LoggerMessage(EventId = 2101, Level = LogLevel.Debug, Message = "Joined the compute group as {Host}")]
        public static partial void Joined(ILogger logger, string host);
    }
}
