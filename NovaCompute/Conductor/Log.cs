using Microsoft.Extensions.Logging;

namespace NovaCompute.Conductor;

/// <summary>Log events of the conductor client (event ids 3300–3399). Texts are nova's where nova has one.</summary>
internal static partial class Log
{
    // nova/conductor/api.py wait_until_ready, double spaces included.
    [LoggerMessage(EventId = 3300, Level = LogLevel.Warning,
        Message = "Timed out waiting for nova-conductor.  Is it running? Or did this service start before nova-conductor?  Reattempting establishment of nova-conductor connection...")]
    public static partial void ConductorTimedOut(ILogger logger);

    [LoggerMessage(EventId = 3301, Level = LogLevel.Information, Message = "nova-conductor connection established successfully")]
    public static partial void ConductorEstablished(ILogger logger);

    [LoggerMessage(EventId = 3302, Level = LogLevel.Debug, Message = "nova-conductor did not answer the ping: {Error}")]
    public static partial void PingFailed(ILogger logger, string error);
}
