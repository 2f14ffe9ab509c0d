using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NovaCompute.Config;

namespace NovaCompute.Periodic;

/// <summary>The periodic tasks' state, for the status API and <c>systemctl status</c>.</summary>
public interface IPeriodicTaskStatus
{
    IReadOnlyList<PeriodicTaskStats> Snapshot();
}

/// <summary>
/// The periodic-task loop, the third background worker: after a random delay in
/// <c>[0, periodic_fuzzy_delay]</c> it starts the due tasks and sleeps until the next is due
/// (<see cref="PeriodicTaskScheduler"/>). Each task runs on its own, so a slow one delays neither the
/// others, the heartbeat nor the RPC listener; a throwing task is logged and the others go on.
/// <c>periodic_enable</c> and every spacing are re-read each pass, and a SIGHUP wakes the loop.
/// </summary>
public sealed partial class PeriodicTaskWorker : BackgroundService, IPeriodicTaskStatus
{
    private readonly IReadOnlyList<PeriodicTask> _tasks;
    private readonly IConfigMonitor _config;
    private readonly TimeProvider _time;
    private readonly ILogger<PeriodicTaskWorker> _logger;
    private readonly TimeSpan? _intervalMax;
    private readonly Func<int, int> _random;
    private readonly ConcurrentDictionary<Task, byte> _running = new();
    private readonly SemaphoreSlim _wake = new(0);
    private PeriodicTaskScheduler? _scheduler;

    public PeriodicTaskWorker(IReadOnlyList<PeriodicTask> tasks, IConfigMonitor config, TimeProvider time, ILogger<PeriodicTaskWorker> logger,
        TimeSpan? intervalMax = null, Func<int, int>? random = null)
    {
        _tasks = tasks;
        _config = config;
        _time = time;
        _logger = logger;
        _intervalMax = intervalMax;
        _random = random ?? (max => Random.Shared.Next(0, max + 1));
        _config.Changed += (_, _) => _wake.Release();
    }

    public IReadOnlyList<PeriodicTaskStats> Snapshot() =>
        _scheduler?.Snapshot(_config.Current) ?? [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var fuzzy = _config.Current.Get(PeriodicOptions.PeriodicFuzzyDelay);
        // randint(0, periodic_fuzzy_delay), inclusive; 0 means no delay.
        var initialDelay = fuzzy > 0 ? _random(fuzzy) : 0;
        if (initialDelay > 0)
        {
            Log.InitialDelay(_logger, initialDelay);
            await Task.Delay(TimeSpan.FromSeconds(initialDelay), _time, stoppingToken).ConfigureAwait(false);
        }
        _scheduler = new PeriodicTaskScheduler(_tasks, _time.GetUtcNow());
        var disabledLogged = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            var config = _config.Current;
            TimeSpan idle;
            if (!config.Get(PeriodicOptions.PeriodicEnable))
            {
                if (!disabledLogged)
                {
                    Log.Disabled(_logger);
                    disabledLogged = true;
                }
                idle = TimeSpan.FromSeconds(PeriodicTask.DefaultInterval);
            }
            else
            {
                disabledLogged = false;
                var (due, next, skipped) = _scheduler.Next(_time.GetUtcNow(), config);
                foreach (var skip in skipped)
                {
                    Log.Skipping(_logger, skip.Task.FullName, skip.Reason);
                }
                foreach (var task in due)
                {
                    var run = RunAsync(_scheduler, task, stoppingToken);
                    _running[run] = 0;
                    _ = run.ContinueWith(t => _running.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                }
                idle = _intervalMax is { } max && max < next ? max : next;
            }
            await WaitAsync(idle, stoppingToken).ConfigureAwait(false);
        }
    }

    /// <summary>Sleeps for the idle time, or less when a reload changed the configuration.</summary>
    private async Task WaitAsync(TimeSpan idle, CancellationToken stoppingToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var delay = Task.Delay(idle, _time, cts.Token);
        var woken = _wake.WaitAsync(cts.Token);
        await Task.WhenAny(delay, woken).ConfigureAwait(false);
        await cts.CancelAsync().ConfigureAwait(false);
        stoppingToken.ThrowIfCancellationRequested();
    }

    private async Task RunAsync(PeriodicTaskScheduler scheduler, PeriodicTask task, CancellationToken stoppingToken)
    {
        // Off the loop: the loop never waits for a task.
        await Task.Yield();
        var started = _time.GetTimestamp();
        scheduler.Started(task, _time.GetUtcNow());
        Exception? failure = null;
        // A new request id per run, as nova's periodic_tasks() creates a new admin context each time.
        using (_logger.BeginScope(new Dictionary<string, object?> { ["RequestId"] = "req-" + Guid.NewGuid() }))
        {
            Log.Running(_logger, task.FullName);
            try
            {
                await task.RunAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                failure = new OperationCanceledException("stopped with the service");
            }
            catch (Exception ex)
            {
                failure = ex;
                Log.Failed(_logger, task.FullName, ex);
            }
        }
        scheduler.Finished(task, _time.GetElapsedTime(started), failure);
    }

    /// <summary>Stops the loop, then waits for running tasks within the host's shutdown timeout.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        var running = _running.Keys.ToArray();
        if (running.Length == 0)
        {
            return;
        }
        try
        {
            await Task.WhenAll(running).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Log.Abandoned(_logger, running.Count(t => !t.IsCompleted));
        }
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1601, Level = LogLevel.Debug, Message = "Running periodic task {Task}")]
        public static partial void Running(ILogger logger, string task);

        [LoggerMessage(EventId = 1602, Level = LogLevel.Error, Message = "Error during {Task}")]
        public static partial void Failed(ILogger logger, string task, Exception exception);

        [LoggerMessage(EventId = 1603, Level = LogLevel.Information, Message = "Skipping periodic task {Task} because {Reason}")]
        public static partial void Skipping(ILogger logger, string task, string reason);

        [LoggerMessage(EventId = 1604, Level = LogLevel.Debug, Message = "Delaying the first periodic task run by {Seconds} s (periodic_fuzzy_delay)")]
        public static partial void InitialDelay(ILogger logger, int seconds);

        [LoggerMessage(EventId = 1605, Level = LogLevel.Information, Message = "Periodic tasks are disabled (periodic_enable = false)")]
        public static partial void Disabled(ILogger logger);

        [LoggerMessage(EventId = 1606, Level = LogLevel.Warning, Message = "Stopped waiting for {Count} periodic task(s) still running at shutdown")]
        public static partial void Abandoned(ILogger logger, int count);
    }
}
