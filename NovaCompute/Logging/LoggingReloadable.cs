using NovaCompute.Config;

namespace NovaCompute.Logging;

/// <summary>
/// SIGHUP for logging, as oslo.log's mutate hook: <c>debug</c> is the one mutable logging option
/// that takes effect (the root level moves between INFO and DEBUG; <c>default_log_levels</c>
/// still apply). Register as an <see cref="IReloadable"/>.
/// </summary>
internal sealed class LoggingReloadable(NovaLogging logging) : IReloadable
{
    public Task ResetAsync(NovaConfig config, CancellationToken cancellationToken)
    {
        logging.Levels.Debug = config.Get(LoggingOptions.Debug);
        return Task.CompletedTask;
    }
}
