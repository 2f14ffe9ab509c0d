using Microsoft.Extensions.Logging;
using NovaCompute.Config;

namespace NovaCompute;

/// <summary>Something that re-reads its settings on SIGHUP (nova's <c>Service.reset()</c> / <c>manager.reset()</c>).</summary>
public interface IReloadable
{
    Task ResetAsync(NovaConfig config, CancellationToken cancellationToken);
}

/// <summary>
/// SIGHUP, as oslo's <c>mutate</c> restart method: re-read the configuration, apply mutable options,
/// let every <see cref="IReloadable"/> pick them up, dump the options again. An invalid file is
/// reported and the daemon keeps its running configuration (oslo dies there).
/// </summary>
public sealed partial class Reloader(ConfigMonitor monitor, IEnumerable<IReloadable> reloadables, ILogger<Reloader> logger)
{
    public async Task ReloadAsync(CancellationToken cancellationToken)
    {
        if (!monitor.Reload())
        {
            return;
        }
        var config = monitor.Current;
        foreach (var reloadable in reloadables)
        {
            await reloadable.ResetAsync(config, cancellationToken);
        }
        if (config.Get(ServiceOptions.LogOptions))
        {
            OptionDump.Log(logger, config);
        }
        Log.Reloaded(logger);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Configuration reloaded")]
        public static partial void Reloaded(ILogger logger);
    }
}

/// <summary>oslo's <c>log_opt_values</c>: <c>Full set of CONF:</c> then the dump, one DEBUG line each.</summary>
public static partial class OptionDump
{
    public static void Log(ILogger logger, NovaConfig config)
    {
        if (!logger.IsEnabled(LogLevel.Debug))
        {
            return;
        }
        Line(logger, "Full set of CONF:");
        foreach (var line in ConfigReport.OptionDump(config))
        {
            Line(logger, line);
        }
    }

    [LoggerMessage(EventId = 1302, Level = LogLevel.Debug, Message = "{Line}")]
    private static partial void Line(ILogger logger, string line);
}
