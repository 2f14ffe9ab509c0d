using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace NovaCompute.Systemd;

/// <summary>
/// READY=1 once every hosted service has started (so the service record exists and the RPC
/// consumers are subscribed: those happen in the services' <c>StartAsync</c>), STOPPING=1 before
/// any of them stops. nova sends READY=1 before start-up even begins and nothing else.
/// </summary>
public sealed partial class SystemdLifecycle(ISystemdNotifier notifier, IServiceStatus status, ILogger<SystemdLifecycle> logger) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken)
    {
        if (notifier.IsEnabled)
        {
            Log.Enabled(logger);
        }
        status.Set("state", "Starting");
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken)
    {
        status.Set("state", "Running");
        notifier.Notify("READY=1");
        Log.Ready(logger, status.Current);
        return Task.CompletedTask;
    }

    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        status.Set("state", "Stopping");
        notifier.Notify("STOPPING=1");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Wraps a reload in RELOADING=1 … READY=1, as Type=notify-reload expects (sd_notify(3)).</summary>
    public async Task ReloadAsync(Func<CancellationToken, Task> reload, CancellationToken cancellationToken)
    {
        notifier.Notify($"RELOADING=1\nMONOTONIC_USEC={SystemdNotifier.MonotonicMicroseconds()}");
        try
        {
            await reload(cancellationToken);
        }
        finally
        {
            notifier.Notify("READY=1");
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1422, Level = LogLevel.Information, Message = "Service ready: {Status}")]
        public static partial void Ready(ILogger logger, string status);

        [LoggerMessage(EventId = 1421, Level = LogLevel.Debug, Message = "systemd notifications enabled")]
        public static partial void Enabled(ILogger logger);
    }
}
