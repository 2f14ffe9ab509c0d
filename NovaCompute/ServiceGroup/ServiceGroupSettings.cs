using Microsoft.Extensions.Logging;
using NovaCompute.Config;

namespace NovaCompute.ServiceGroup;

/// <summary>
/// The service group's timing, after nova's correction: when <c>service_down_time &lt;=
/// report_interval</c>, <c>service_down_time</c> becomes <c>int(report_interval * 2.5)</c>
/// (nova/servicegroup/api.py). A <see cref="ReportInterval"/> of zero means no heartbeats at all.
/// </summary>
internal sealed record ServiceGroupSettings
{
    public ServiceGroupSettings(int reportInterval, int serviceDownTime)
    {
        ReportIntervalSeconds = reportInterval;
        ServiceDownTime = serviceDownTime;
    }

    public int ReportIntervalSeconds { get; }

    /// <summary>Seconds; already corrected.</summary>
    public int ServiceDownTime { get; }

    public TimeSpan ReportInterval => TimeSpan.FromSeconds(ReportIntervalSeconds);

    public bool HeartbeatsEnabled => ReportIntervalSeconds > 0;

    /// <summary>
    /// Applies nova's rule to the configured values, logging nova's warning when it corrects, and
    /// ours when heartbeats are off.
    /// </summary>
    public static ServiceGroupSettings Create(int reportInterval, int serviceDownTime, ILogger logger)
    {
        if (serviceDownTime <= reportInterval)
        {
            var corrected = (int)(reportInterval * 2.5);
            Log.ServiceDownTimeCorrected(logger, serviceDownTime, reportInterval, corrected);
            serviceDownTime = corrected;
        }
        if (reportInterval <= 0)
        {
            Log.HeartbeatsDisabled(logger, serviceDownTime);
        }
        return new ServiceGroupSettings(Math.Max(reportInterval, 0), serviceDownTime);
    }

    public static ServiceGroupSettings FromConfig(NovaConfig config, ILogger logger) =>
        Create(config.Get(ServiceGroupOptions.ReportInterval), config.Get(ServiceGroupOptions.ServiceDownTime), logger);
}

/// <summary>The current <see cref="ServiceGroupSettings"/>; replaced when a SIGHUP changes them.</summary>
internal interface IServiceGroupSettingsSource
{
    ServiceGroupSettings Current { get; }

    /// <summary>Raised after <see cref="Current"/> changed.</summary>
    event Action? Changed;
}

/// <summary>Settings from the configuration, recomputed (and re-corrected) after every reload.</summary>
internal sealed class ConfigServiceGroupSettings : IServiceGroupSettingsSource, IDisposable
{
    private readonly IConfigMonitor _monitor;
    private readonly ILogger _logger;
    private ServiceGroupSettings _current;

    public ConfigServiceGroupSettings(IConfigMonitor monitor, ILogger<ConfigServiceGroupSettings> logger)
    {
        _monitor = monitor;
        _logger = logger;
        _current = ServiceGroupSettings.FromConfig(monitor.Current, logger);
        monitor.Changed += OnConfigChanged;
    }

    public ServiceGroupSettings Current => Volatile.Read(ref _current);

    public event Action? Changed;

    private void OnConfigChanged(NovaConfig config, IReadOnlyList<Opt> changed)
    {
        if (!changed.Contains(ServiceGroupOptions.ReportInterval) && !changed.Contains(ServiceGroupOptions.ServiceDownTime))
        {
            return;
        }
        Volatile.Write(ref _current, ServiceGroupSettings.FromConfig(config, _logger));
        Changed?.Invoke();
    }

    public void Dispose() => _monitor.Changed -= OnConfigChanged;
}

/// <summary>
/// A latch per change of the service group settings, for a loop that waits on a timer and must
/// wake when a SIGHUP changes <c>report_interval</c>: take <see cref="Next"/> before reading
/// <see cref="IServiceGroupSettingsSource.Current"/>, so a change between the two is never missed.
/// </summary>
internal sealed class SettingsChangeSignal : IDisposable
{
    private readonly IServiceGroupSettingsSource _source;
    private readonly Lock _gate = new();
    private TaskCompletionSource _next = NewSignal();

    public SettingsChangeSignal(IServiceGroupSettingsSource source)
    {
        _source = source;
        _source.Changed += OnChanged;
    }

    /// <summary>Completes at the next change after it was taken.</summary>
    public Task Next
    {
        get
        {
            lock (_gate)
            {
                return _next.Task;
            }
        }
    }

    /// <summary>
    /// Waits <paramref name="wait"/> on <paramref name="time"/>, or until <paramref name="changed"/>
    /// (a <see cref="Next"/> taken before the wait was computed) completes; true when the settings
    /// changed first. Throws when <paramref name="stoppingToken"/> is cancelled.
    /// </summary>
    public static async Task<bool> WaitOrChangedAsync(TimeProvider time, TimeSpan wait, Task changed, CancellationToken stoppingToken)
    {
        using var waitCancel = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var delay = Task.Delay(wait, time, waitCancel.Token);
        var woke = await Task.WhenAny(delay, changed).ConfigureAwait(false);
        await waitCancel.CancelAsync().ConfigureAwait(false);
        stoppingToken.ThrowIfCancellationRequested();
        return woke == changed;
    }

    public void Dispose() => _source.Changed -= OnChanged;

    private void OnChanged()
    {
        TaskCompletionSource fired;
        lock (_gate)
        {
            fired = _next;
            _next = NewSignal();
        }
        fired.TrySetResult();
    }

    // Continuations run on the pool, never inside the SIGHUP handler that raised the change.
    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
