using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace NovaCompute.Systemd;

/// <summary>One part of the daemon whose liveness the watchdog vouches for.</summary>
public interface IWatchdogCheck
{
    string Name { get; }

    /// <summary>Null when alive; otherwise why not (e.g. "heartbeat overdue by 35 s").</summary>
    string? Problem(DateTimeOffset now);
}

/// <summary>
/// Pets the systemd watchdog (<c>WATCHDOG=1</c>) every half <c>WATCHDOG_USEC</c>, but only while every
/// <see cref="IWatchdogCheck"/> says its loop is alive: a wedged daemon stops petting and systemd kills
/// and restarts it (<c>WatchdogSec=</c>, <c>Restart=on-failure</c>). The checks judge loops, not
/// outcomes, so a slow database does not get a healthy daemon killed.
/// </summary>
public sealed partial class SystemdWatchdog(
    SystemdEnvironment environment,
    ISystemdNotifier notifier,
    IEnumerable<IWatchdogCheck> checks,
    TimeProvider time,
    ILogger<SystemdWatchdog> logger) : BackgroundService
{
    private readonly IWatchdogCheck[] _checks = checks.ToArray();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (environment.WatchdogInterval is not { } interval || !notifier.IsEnabled)
        {
            return;
        }
        var period = interval / 2;
        Log.Started(logger, (int)interval.TotalMilliseconds, (int)period.TotalMilliseconds);
        string? withheld = null;
        using var timer = new PeriodicTimer(period, time);
        do
        {
            var now = time.GetUtcNow();
            var problems = _checks.Select(c => c.Problem(now) is { } p ? $"{c.Name}: {p}" : null).Where(p => p is not null).ToList();
            if (problems.Count == 0)
            {
                notifier.Notify("WATCHDOG=1");
                if (withheld is not null)
                {
                    Log.Resumed(logger);
                    withheld = null;
                }
                continue;
            }
            var reason = string.Join("; ", problems);
            if (reason != withheld)
            {
                Log.Withheld(logger, reason);
                withheld = reason;
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1411, Level = LogLevel.Information, Message = "systemd watchdog every {IntervalMs} ms: keep-alive every {PeriodMs} ms while healthy")]
        public static partial void Started(ILogger logger, int intervalMs, int periodMs);

        [LoggerMessage(EventId = 1412, Level = LogLevel.Error, Message = "Withholding the systemd watchdog keep-alive: {Reason}")]
        public static partial void Withheld(ILogger logger, string reason);

        [LoggerMessage(EventId = 1413, Level = LogLevel.Information, Message = "Healthy again, systemd watchdog keep-alive resumed")]
        public static partial void Resumed(ILogger logger);
    }
}
