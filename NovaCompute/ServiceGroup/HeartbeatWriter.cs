using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NovaCompute.Db;

namespace NovaCompute.ServiceGroup;

/// <summary>
/// The heartbeat writer (nova's DB servicegroup driver, nova/servicegroup/drivers/db.py). <see cref="StartAsync"/>
/// registers the service record before the host reports started, so READY=1 means the record
/// exists; the beat loop then reports <see cref="InitialReportingDelay"/> after start and every
/// <c>report_interval</c> after that, reading the interval afresh for every beat (SIGHUP).
/// Each beat is bounded by the interval: a hung database call is cancelled and abandoned so the
/// next beat starts on time. Nothing a beat throws stops the loop.
/// </summary>
internal sealed class HeartbeatWriter : BackgroundService
{
    /// <summary>nova's <c>INITIAL_REPORTING_DELAY</c>.</summary>
    public static readonly TimeSpan InitialReportingDelay = TimeSpan.FromSeconds(5);

    private readonly IServiceRepository _repository;
    private readonly ServiceRegistrar _registrar;
    private readonly IServiceGroupSettingsSource _settings;
    private readonly SettingsChangeSignal _settingsChanged;
    private readonly TimeProvider _time;
    private readonly ILogger<HeartbeatWriter> _logger;
    private readonly Systemd.IServiceStatus? _status;
    private ServiceRecord? _record;
    private long _beatsStarted;
    private long _beatsCompleted;

    /// <param name="database">Names the database in failure messages (null: the repository is not a local database).</param>
    public HeartbeatWriter(IServiceRepository repository, ServiceRegistrar registrar, IServiceGroupSettingsSource settings,
        TimeProvider time, ILogger<HeartbeatWriter> logger, Systemd.IServiceStatus? status = null, IDbConnectionFactory? database = null)
    {
        _status = status;
        _repository = repository;
        _registrar = registrar;
        _settings = settings;
        _time = time;
        _logger = logger;
        _settingsChanged = new SettingsChangeSignal(settings);
        Health = new HeartbeatHealth(settings, time, repository.StoreName, database?.Url, status, InitialReportingDelay, "heartbeat attempt finished");
    }

    /// <summary>How the beats are going: for the status API, the watchdog and the STATUS= line.</summary>
    public HeartbeatHealth Health { get; }

    /// <summary>This service's live row as last registered (null before <see cref="StartAsync"/>).</summary>
    public ServiceRecord? Record => Volatile.Read(ref _record);

    /// <summary>Beats the loop has begun (successful or not).</summary>
    internal long BeatsStarted => Interlocked.Read(ref _beatsStarted);

    /// <summary>Beats the loop has finished, however they ended.</summary>
    internal long BeatsCompleted => Interlocked.Read(ref _beatsCompleted);

    /// <summary>Registers the service record, then starts the beat loop.</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var record = await _registrar.RegisterAsync(cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _record, record);
        _status?.Set("service", $"Registered as {record.Host} ({record.Binary})");
        Health.Started();
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The schedule is anchored on the start of the previous beat (fixed rate, as oslo's
        // FixedIntervalLoopingCall): a slow beat does not push every later beat back.
        var anchor = _time.GetUtcNow();
        var first = true;
        while (!stoppingToken.IsCancellationRequested)
        {
            var changed = _settingsChanged.Next;
            var settings = _settings.Current;
            if (!settings.HeartbeatsEnabled)
            {
                await changed.WaitAsync(stoppingToken).ConfigureAwait(false);
                Health.RefreshStatus();
                anchor = _time.GetUtcNow();
                first = true;
                continue;
            }
            var due = anchor + (first ? InitialReportingDelay : settings.ReportInterval);
            var wait = due - _time.GetUtcNow();
            if (wait > TimeSpan.Zero)
            {
                if (await SettingsChangeSignal.WaitOrChangedAsync(_time, wait, changed, stoppingToken).ConfigureAwait(false))
                {
                    // A reload changed report_interval: recompute when the pending beat is due.
                    Log.IntervalChanged(_logger, _settings.Current.ReportIntervalSeconds);
                    Health.RefreshStatus();
                    continue;
                }
            }
            anchor = _time.GetUtcNow();
            first = false;
            Interlocked.Increment(ref _beatsStarted);
            await BeatAsync(settings.ReportInterval, stoppingToken).ConfigureAwait(false);
            Interlocked.Increment(ref _beatsCompleted);
            Health.LoopProgressed();
        }
    }

    /// <summary>One heartbeat, bounded by <paramref name="timeout"/>. Never throws, except for our own stop.</summary>
    internal async Task BeatAsync(TimeSpan timeout, CancellationToken stoppingToken)
    {
        using var deadline = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, deadline.Token);
        try
        {
            var record = Record ?? throw new InvalidOperationException("the heartbeat runs before registration");
            var beat = BeatOnceAsync(record, linked.Token);
            // A provider that ignores cancellation (a wedged socket) must not hold the loop: stop
            // waiting at the deadline and let the abandoned call finish or fail on its own.
            _ = beat.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            await beat.WaitAsync(timeout, _time, stoppingToken).ConfigureAwait(false);
            Health.BeatSucceeded(_logger);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            // Our own deadline (the WaitAsync above, or the linked token reaching the provider)
            // included; nothing a beat throws stops the loop.
            Health.BeatFailed(ex, timeout, _logger);
        }
    }

    private async Task BeatOnceAsync(ServiceRecord record, CancellationToken cancellationToken)
    {
        var stamp = await _repository.ReportStateAsync(record.Id, cancellationToken).ConfigureAwait(false);
        if (stamp is not null)
        {
            Volatile.Write(ref _record, record with
            {
                ReportCount = stamp.ReportCount,
                LastSeenUp = stamp.LastSeenUp,
                UpdatedAt = stamp.UpdatedAt,
            });
            return;
        }
        // Deleted under us (service delete / DELETE /os-services): nova logs an error on every
        // beat until restarted; a running service recreating its record is what a restart would do.
        Log.RecordGone(_logger, _registrar.Identity.Binary, _registrar.Identity.Host);
        Volatile.Write(ref _record, await _registrar.CreateAsync(cancellationToken).ConfigureAwait(false));
    }

    public override void Dispose()
    {
        _settingsChanged.Dispose();
        base.Dispose();
    }
}
