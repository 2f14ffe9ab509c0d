using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NovaCompute.Db;

namespace NovaCompute.ServiceGroup;

/// <summary>
/// How the heartbeat is doing, for the systemd watchdog and the status API: they decide from it
/// whether this process still does its job.
/// </summary>
public interface IHeartbeatHealth
{
    /// <summary>When the last heartbeat was written (this process's clock); null before the first.</summary>
    DateTimeOffset? LastSuccess { get; }

    /// <summary>Heartbeats that failed since the last success.</summary>
    int ConsecutiveFailures { get; }

    /// <summary>
    /// True when heartbeats are enabled and no heartbeat has succeeded for longer than
    /// <c>service_down_time</c> (counted from registration before the first one): the rest of the
    /// deployment now sees this service as down.
    /// </summary>
    bool IsOverdue { get; }

    /// <summary>Why the last heartbeat failed, one line (null when it succeeded or none ran yet).</summary>
    string? LastFailure { get; }
}

/// <summary>
/// The heartbeat writer (nova's DB servicegroup driver, nova/servicegroup/drivers/db.py). <see cref="StartAsync"/>
/// registers the service record before the host reports started, so READY=1 means the record
/// exists; the beat loop then reports <see cref="InitialReportingDelay"/> after start and every
/// <c>report_interval</c> after that, reading the interval afresh for every beat (SIGHUP).
/// Each beat is bounded by the interval: a hung database call is cancelled and abandoned so the
/// next beat starts on time. Nothing a beat throws stops the loop.
/// </summary>
internal sealed class HeartbeatWriter : BackgroundService, IHeartbeatHealth, Systemd.IWatchdogCheck
{
    /// <summary>nova's <c>INITIAL_REPORTING_DELAY</c>.</summary>
    public static readonly TimeSpan InitialReportingDelay = TimeSpan.FromSeconds(5);

    private readonly IServiceRepository _repository;
    private readonly ServiceRegistrar _registrar;
    private readonly IServiceGroupSettingsSource _settings;
    private readonly TimeProvider _time;
    private readonly ILogger<HeartbeatWriter> _logger;
    private readonly object _gate = new();
    private TaskCompletionSource _settingsChanged = NewSignal();
    private ServiceRecord? _record;
    private DateTimeOffset _registeredAt;
    private DateTimeOffset? _lastSuccess;
    private int _consecutiveFailures;
    private bool _disconnected;
    private DateTimeOffset? _loopProgress;
    private long _beatsStarted;
    private long _beatsCompleted;

    private readonly Systemd.IServiceStatus? _status;

    private readonly DatabaseUrl? _database;
    private string? _lastFailure;

    /// <param name="database">Names the database in failure messages (null: the repository is not a local database).</param>
    public HeartbeatWriter(IServiceRepository repository, ServiceRegistrar registrar, IServiceGroupSettingsSource settings,
        TimeProvider time, ILogger<HeartbeatWriter> logger, Systemd.IServiceStatus? status = null, IDbConnectionFactory? database = null)
    {
        _status = status;
        _database = database?.Url;
        _repository = repository;
        _registrar = registrar;
        _settings = settings;
        _time = time;
        _logger = logger;
        _settings.Changed += OnSettingsChanged;
    }

    /// <summary>This service's live row as last registered (null before <see cref="StartAsync"/>).</summary>
    public ServiceRecord? Record => Volatile.Read(ref _record);

    public DateTimeOffset? LastSuccess
    {
        get
        {
            lock (_gate)
            {
                return _lastSuccess;
            }
        }
    }

    public int ConsecutiveFailures => Volatile.Read(ref _consecutiveFailures);

    public string? LastFailure => Volatile.Read(ref _lastFailure);

    /// <summary>Beats the loop has begun (successful or not).</summary>
    internal long BeatsStarted => Interlocked.Read(ref _beatsStarted);

    /// <summary>Beats the loop has finished, however they ended.</summary>
    internal long BeatsCompleted => Interlocked.Read(ref _beatsCompleted);

    public bool IsOverdue
    {
        get
        {
            var settings = _settings.Current;
            if (!settings.HeartbeatsEnabled)
            {
                return false;
            }
            DateTimeOffset since;
            lock (_gate)
            {
                since = _lastSuccess ?? _registeredAt;
            }
            return _time.GetUtcNow() - since > TimeSpan.FromSeconds(settings.ServiceDownTime);
        }
    }

    string Systemd.IWatchdogCheck.Name => "heartbeat";

    /// <summary>
    /// For the systemd watchdog: judges the loop, not the database. Every beat ends within one
    /// interval (a hung call is cut off), so a loop that has not finished a beat for two intervals
    /// past its first due time is wedged; a database outage alone never trips this.
    /// </summary>
    string? Systemd.IWatchdogCheck.Problem(DateTimeOffset now)
    {
        var settings = _settings.Current;
        DateTimeOffset? since;
        lock (_gate)
        {
            since = _loopProgress ?? (_registeredAt == default ? null : _registeredAt + InitialReportingDelay);
        }
        if (!settings.HeartbeatsEnabled || since is null)
        {
            return null;
        }
        var silent = now - since.Value;
        var limit = 2 * settings.ReportInterval + TimeSpan.FromSeconds(5);
        return silent > limit ? $"no heartbeat attempt finished for {silent.TotalSeconds:0} s (report_interval {settings.ReportIntervalSeconds} s)" : null;
    }

    /// <summary>Registers the service record, then starts the beat loop.</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var record = await _registrar.RegisterAsync(cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _record, record);
        lock (_gate)
        {
            _registeredAt = _time.GetUtcNow();
        }
        _status?.Set("service", $"Registered as {record.Host} ({record.Binary})");
        ReportStatus(null);
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
            var changed = CurrentSignal();
            var settings = _settings.Current;
            if (!settings.HeartbeatsEnabled)
            {
                await changed.WaitAsync(stoppingToken).ConfigureAwait(false);
                ReportStatus(null);
                anchor = _time.GetUtcNow();
                first = true;
                continue;
            }
            var due = anchor + (first ? InitialReportingDelay : settings.ReportInterval);
            var wait = due - _time.GetUtcNow();
            if (wait > TimeSpan.Zero)
            {
                using var waitCancel = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                var delay = Task.Delay(wait, _time, waitCancel.Token);
                var woke = await Task.WhenAny(delay, changed).ConfigureAwait(false);
                await waitCancel.CancelAsync().ConfigureAwait(false);
                stoppingToken.ThrowIfCancellationRequested();
                if (woke == changed)
                {
                    // A reload changed report_interval: recompute when the pending beat is due.
                    Log.IntervalChanged(_logger, _settings.Current.ReportIntervalSeconds);
                    ReportStatus(null);
                    continue;
                }
            }
            anchor = _time.GetUtcNow();
            first = false;
            Interlocked.Increment(ref _beatsStarted);
            await BeatAsync(settings.ReportInterval, stoppingToken).ConfigureAwait(false);
            Interlocked.Increment(ref _beatsCompleted);
            lock (_gate)
            {
                _loopProgress = _time.GetUtcNow();
            }
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
            Succeeded();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (DatabaseError.IsUnavailable(ex))
        {
            // Our own deadline (the WaitAsync above, or the linked token reaching the provider).
            var cause = ex is OperationCanceledException or TimeoutException
                ? $"{_repository.StoreName} did not answer within {timeout.TotalSeconds:0.###} seconds"
                : DatabaseError.Describe(ex, _database);
            Failed(cause);
            Log.HeartbeatFailureDetail(_logger, ex);
            if (!_disconnected)
            {
                _disconnected = true;
                Log.LostConnection(_logger, _repository.StoreName, cause);
            }
        }
        catch (Exception ex)
        {
            // As nova: a bug must not stop the heartbeat; it is logged every time, with its stack.
            Failed(ex.Message);
            _disconnected = true;
            Log.UnexpectedError(_logger, ex);
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

    /// <summary>The heartbeat's piece of systemd's STATUS= line: cadence and the last beat's outcome.</summary>
    /// <param name="outcome">The beat that just ended; null keeps the last one (e.g. after a reload).</param>
    private void ReportStatus(string? outcome)
    {
        if (_status is null)
        {
            return;
        }
        if (outcome is not null)
        {
            var at = _time.GetUtcNow().ToString("HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
            _lastBeatStatus = $", last heartbeat {at} UTC {outcome}";
        }
        var settings = _settings.Current;
        var cadence = settings.HeartbeatsEnabled ? $"reporting every {settings.ReportIntervalSeconds} s" : "heartbeats disabled (report_interval = 0)";
        _status.Set("heartbeat", cadence + _lastBeatStatus);
    }

    private string _lastBeatStatus = "";

    private void Succeeded()
    {
        ReportStatus("ok");
        lock (_gate)
        {
            _lastSuccess = _time.GetUtcNow();
        }
        Volatile.Write(ref _consecutiveFailures, 0);
        Volatile.Write(ref _lastFailure, null);
        if (_disconnected)
        {
            _disconnected = false;
            Log.Recovered(_logger);
        }
    }

    private void Failed(string cause)
    {
        Volatile.Write(ref _lastFailure, cause);
        ReportStatus("failed: " + cause);
        Interlocked.Increment(ref _consecutiveFailures);
    }

    private Task CurrentSignal()
    {
        lock (_gate)
        {
            return _settingsChanged.Task;
        }
    }

    private void OnSettingsChanged()
    {
        TaskCompletionSource fired;
        lock (_gate)
        {
            fired = _settingsChanged;
            _settingsChanged = NewSignal();
        }
        fired.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override void Dispose()
    {
        _settings.Changed -= OnSettingsChanged;
        base.Dispose();
    }
}
