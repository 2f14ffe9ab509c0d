using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NovaCompute.Config;
using NovaCompute.Messaging;

namespace NovaCompute.Simulation;

/// <summary><c>nova-compute simulate</c>'s arguments.</summary>
public sealed record SimulationSettings
{
    public required int Count { get; init; }

    public required string HostPrefix { get; init; }

    /// <summary>Computes starting at once: registration proceeds at a steady pace instead of N requests at once.</summary>
    public int StartConcurrency { get; init; } = 8;

    /// <summary>How often start-up progress is logged.</summary>
    public TimeSpan ProgressPeriod { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary><c>P-00001</c> … : zero-padded to five digits, more when the count needs them.</summary>
    public string HostName(int index) =>
        HostPrefix + "-" + index.ToString(CultureInfo.InvariantCulture).PadLeft(Math.Max(5, Count.ToString(CultureInfo.InvariantCulture).Length), '0');

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Count < 1)
        {
            errors.Add($"--count must be at least 1, not {Count}");
        }
        if (string.IsNullOrWhiteSpace(HostPrefix) || HostPrefix.Any(c => char.IsWhiteSpace(c) || c is '.' or '*' or '#'))
        {
            errors.Add($"--host-prefix '{HostPrefix}' is not usable in a host name (no spaces, '.', '*' or '#': it names the compute.<host> queue)");
        }
        else if (HostPrefix.Length > 200)
        {
            errors.Add("--host-prefix is longer than 200 characters (services.host holds 255)");
        }
        if (StartConcurrency < 1)
        {
            errors.Add($"--start-concurrency must be at least 1, not {StartConcurrency}");
        }
        return errors;
    }
}

/// <summary>
/// The N computes of <c>nova-compute simulate</c> as one hosted service: <see cref="StartAsync"/>
/// starts them <see cref="SimulationSettings.StartConcurrency"/> at a time, logs progress every few
/// seconds and returns once all serve, so the host's READY=1 means every compute is registered and
/// consuming. A compute that fails to start fails the whole start (exit 1, as the daemon). Stop
/// stops them all, in parallel batches, each in nova's order.
/// </summary>
internal sealed partial class ComputeFleet(SimulationSettings settings, SimulationContext context, Systemd.IServiceStatus status,
    ILogger<ComputeFleet> logger) : IHostedService, IAsyncDisposable
{
    private const int StopConcurrency = 32;
    private readonly List<SimulatedCompute> _computes = [];
    private int _started;

    /// <summary>Computes serving now.</summary>
    public int Started => Volatile.Read(ref _started);

    public IReadOnlyList<SimulatedCompute> Computes => _computes;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var startedAt = context.Time.GetTimestamp();
        Log.Starting(logger, settings.Count, settings.HostName(1), settings.HostName(settings.Count), settings.StartConcurrency);
        for (var i = 1; i <= settings.Count; i++)
        {
            _computes.Add(new SimulatedCompute(settings.HostName(i), context));
        }
        using var progressStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var oneMinimumVersionReading = context.MinimumVersion.ShareDuring();
        using var oneDeclarationOfSharedEntities = context.Channels.Declarations.ShareDuring();
        var progress = ReportProgressAsync(startedAt, progressStop.Token);
        try
        {
            await Parallel.ForEachAsync(_computes, new ParallelOptions
            {
                MaxDegreeOfParallelism = settings.StartConcurrency,
                CancellationToken = cancellationToken,
            }, async (compute, ct) =>
            {
                await compute.StartAsync(ct).ConfigureAwait(false);
                Interlocked.Increment(ref _started);
            }).ConfigureAwait(false);
        }
        finally
        {
            await progressStop.CancelAsync().ConfigureAwait(false);
            await progress.ConfigureAwait(false);
        }
        var took = context.Time.GetElapsedTime(startedAt);
        SetStatus();
        Log.AllStarted(logger, Started, settings.Count, took.TotalSeconds, context.Channels.Count);
    }

    private async Task ReportProgressAsync(long startedAt, CancellationToken cancellationToken)
    {
        try
        {
            using var timer = new PeriodicTimer(settings.ProgressPeriod, context.Time);
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                SetStatus();
                Log.Progress(logger, Started, settings.Count, context.Time.GetElapsedTime(startedAt).TotalSeconds);
            }
        }
        catch (OperationCanceledException)
        {
            // Start-up finished (or was abandoned).
        }
    }

    private void SetStatus() =>
        status.Set("service", $"Simulating {Started}/{settings.Count} computes {settings.HostName(1)}…{settings.HostName(settings.Count)} (nova-compute)");

    /// <summary>Stops every compute that started (or was starting): consumption for all at once, the rest 32 at a time, then the fanout queues.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var startedAt = context.Time.GetTimestamp();
        Log.Stopping(logger, Started);
        // Every server stops taking deliveries, then their shared channels close: the broker ends
        // all subscriptions at once (requeueing what no worker took) instead of one basic.cancel
        // per consumer. Each compute's own stop then drains, marks its fanout queue for deletion
        // and cleans up; the fanout queues go last, all together (RpcChannelPool.DeleteQueuesAsync).
        foreach (var compute in _computes)
        {
            compute.BeginStop();
        }
        await context.Channels.CloseConsumeChannelsAsync().ConfigureAwait(false);
        Log.ConsumingStopped(logger, context.Channels.Count, context.Time.GetElapsedTime(startedAt).TotalSeconds);
        await Parallel.ForEachAsync(_computes, new ParallelOptions { MaxDegreeOfParallelism = StopConcurrency, CancellationToken = CancellationToken.None },
            async (compute, _) =>
            {
                try
                {
                    await compute.StopAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    Log.StopFailed(logger, ex, compute.Host);
                }
            }).ConfigureAwait(false);
        Interlocked.Exchange(ref _started, 0);
        var toDelete = context.Channels.QueuesToDelete;
        var deletingAt = context.Time.GetTimestamp();
        Log.DeletingFanoutQueues(logger, toDelete);
        var deleted = await context.Channels.DeleteQueuesAsync(cancellationToken).ConfigureAwait(false);
        if (deleted < toDelete)
        {
            Log.FanoutQueuesLeft(logger, toDelete - deleted, deleted, context.Config.Current.Get(MessagingOptions.RabbitTransientQueuesTtl));
        }
        else
        {
            Log.FanoutQueuesDeleted(logger, deleted, context.Time.GetElapsedTime(deletingAt).TotalSeconds);
        }
        Log.Stopped(logger, settings.Count, context.Time.GetElapsedTime(startedAt).TotalSeconds);
    }

    /// <summary>SIGHUP: every compute's <c>manager.reset()</c>, as each daemon's <c>Service.reset()</c> would.</summary>
    public async Task ResetAsync(NovaConfig config, CancellationToken cancellationToken)
    {
        foreach (var compute in _computes)
        {
            await compute.Manager.ResetAsync(config, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var compute in _computes)
        {
            await compute.DisposeAsync().ConfigureAwait(false);
        }
        await context.Channels.DisposeAsync().ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3810, Level = LogLevel.Information, Message = "Starting {Count} simulated compute services {First} … {Last}, {Concurrency} at a time")]
        public static partial void Starting(ILogger logger, int count, string first, string last, int concurrency);

        [LoggerMessage(EventId = 3811, Level = LogLevel.Information, Message = "Registered {Registered}/{Total} compute services ({Seconds:0.0} s)")]
        public static partial void Progress(ILogger logger, int registered, int total, double seconds);

        [LoggerMessage(EventId = 3812, Level = LogLevel.Information, Message = "All {Registered}/{Total} compute services serve ({Seconds:0.0} s, {Channels} consume channels)")]
        public static partial void AllStarted(ILogger logger, int registered, int total, double seconds, int channels);

        [LoggerMessage(EventId = 3813, Level = LogLevel.Information, Message = "Stopping {Count} compute services")]
        public static partial void Stopping(ILogger logger, int count);

        [LoggerMessage(EventId = 3814, Level = LogLevel.Information, Message = "Stopped {Count} compute services ({Seconds:0.0} s)")]
        public static partial void Stopped(ILogger logger, int count, double seconds);

        [LoggerMessage(EventId = 3815, Level = LogLevel.Error, Message = "Stopping compute service {Host} failed")]
        public static partial void StopFailed(ILogger logger, Exception exception, string host);

        [LoggerMessage(EventId = 3816, Level = LogLevel.Information, Message = "Deleting {Count} fanout queues")]
        public static partial void DeletingFanoutQueues(ILogger logger, int count);

        [LoggerMessage(EventId = 3817, Level = LogLevel.Information, Message = "Deleted {Count} fanout queues ({Seconds:0.0} s)")]
        public static partial void FanoutQueuesDeleted(ILogger logger, int count, double seconds);

        [LoggerMessage(EventId = 3818, Level = LogLevel.Warning, Message = "Left {Left} fanout queues to expire by their x-expires ({TtlSeconds} s, rabbit_transient_queues_ttl) after deleting {Deleted}: the graceful shutdown timeout ran out or the broker went away")]
        public static partial void FanoutQueuesLeft(ILogger logger, int left, int deleted, int ttlSeconds);

        [LoggerMessage(EventId = 3819, Level = LogLevel.Information, Message = "Stopped consuming: closed {Channels} shared consume channels ({Seconds:0.0} s)")]
        public static partial void ConsumingStopped(ILogger logger, int channels, double seconds);
    }
}
