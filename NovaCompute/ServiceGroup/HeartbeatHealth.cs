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
/// The health of one heartbeat loop (<see cref="HeartbeatWriter"/> for one service,
/// <see cref="SharedHeartbeat"/> for many): the outcome of the last beats, whether the service is
/// overdue, the watchdog's verdict on the loop and the heartbeat's piece of systemd's STATUS= line.
/// The loop reports what happened (<see cref="Started"/>, <see cref="BeatSucceeded"/>,
/// <see cref="BeatFailed"/>, <see cref="LoopProgressed"/>); readers ask from any thread.
/// </summary>
/// <remarks>
/// Synchronisation: one lock guards every mutable field, so a reader sees one beat's outcome whole
/// (never a success time from one beat and a failure count from another). SharedHeartbeat ends
/// beats on several threads at once; the lock orders them. Nothing is called out while the lock is
/// held: the log lines and the STATUS= text are decided under it and written after it (only
/// HeartbeatWriter shows a STATUS= text, from its one loop, so those writes cannot overtake each other).
/// </remarks>
internal sealed class HeartbeatHealth : IHeartbeatHealth, Systemd.IWatchdogCheck
{
    private readonly Lock _gate = new();
    private readonly IServiceGroupSettingsSource _settings;
    private readonly TimeProvider _time;
    private readonly string _storeName;
    private readonly DatabaseUrl? _database;
    private readonly Systemd.IServiceStatus? _status;
    private readonly TimeSpan _firstProgressDelay;
    private readonly string _progressName;
    private readonly Func<bool> _reporting;

    // Guarded by _gate.
    private DateTimeOffset? _startedAt;
    private DateTimeOffset? _lastSuccess;
    private DateTimeOffset? _loopProgress;
    private int _consecutiveFailures;
    private string? _lastFailure;
    private bool _disconnected;
    private string _lastBeatStatus = "";

    /// <param name="storeName">Where beats are written, for failure messages ("the database", "nova-conductor").</param>
    /// <param name="database">Names the database in failure messages (null: the store is not a local database).</param>
    /// <param name="status">Receives the heartbeat's piece of the STATUS= line (null: nothing is shown).</param>
    /// <param name="firstProgressDelay">How long after <see cref="Started"/> the loop's first step is due.</param>
    /// <param name="progressName">What one step of the loop is, for the watchdog's message.</param>
    /// <param name="reporting">Whether any service reports through the loop now (null: always); none reporting is never overdue.</param>
    public HeartbeatHealth(IServiceGroupSettingsSource settings, TimeProvider time, string storeName, DatabaseUrl? database,
        Systemd.IServiceStatus? status, TimeSpan firstProgressDelay, string progressName, Func<bool>? reporting = null)
    {
        _settings = settings;
        _time = time;
        _storeName = storeName;
        _database = database;
        _status = status;
        _firstProgressDelay = firstProgressDelay;
        _progressName = progressName;
        _reporting = reporting ?? (static () => true);
    }

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

    public int ConsecutiveFailures
    {
        get
        {
            lock (_gate)
            {
                return _consecutiveFailures;
            }
        }
    }

    public string? LastFailure
    {
        get
        {
            lock (_gate)
            {
                return _lastFailure;
            }
        }
    }

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
                since = _lastSuccess ?? _startedAt ?? default;
            }
            return _reporting() && _time.GetUtcNow() - since > TimeSpan.FromSeconds(settings.ServiceDownTime);
        }
    }

    string Systemd.IWatchdogCheck.Name => "heartbeat";

    /// <summary>
    /// For the systemd watchdog: judges the loop, not the database. Every beat ends within one
    /// interval (a hung call is cut off), so a loop that has made no step for two intervals past its
    /// first due time is wedged; a database outage alone never trips this.
    /// </summary>
    string? Systemd.IWatchdogCheck.Problem(DateTimeOffset now)
    {
        var settings = _settings.Current;
        DateTimeOffset? since;
        lock (_gate)
        {
            since = _loopProgress ?? _startedAt + _firstProgressDelay;
        }
        if (!settings.HeartbeatsEnabled || since is null)
        {
            return null;
        }
        var silent = now - since.Value;
        var limit = 2 * settings.ReportInterval + TimeSpan.FromSeconds(5);
        return silent > limit ? $"no {_progressName} for {silent.TotalSeconds:0} s (report_interval {settings.ReportIntervalSeconds} s)" : null;
    }

    /// <summary>The loop starts (after registration): overdue and the watchdog count from now.</summary>
    public void Started()
    {
        lock (_gate)
        {
            _startedAt = _time.GetUtcNow();
        }
        RefreshStatus();
    }

    /// <summary>The loop finished a step (a beat, or a tick that started one).</summary>
    public void LoopProgressed()
    {
        lock (_gate)
        {
            _loopProgress = _time.GetUtcNow();
        }
    }

    /// <summary>A beat was written; logs the recovery when beats had been failing.</summary>
    public void BeatSucceeded(ILogger logger)
    {
        bool recovered;
        string status;
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            _lastSuccess = now;
            _consecutiveFailures = 0;
            _lastFailure = null;
            recovered = _disconnected;
            _disconnected = false;
            status = _status is null ? "" : BeatStatus(now, "ok");
        }
        _status?.Set("heartbeat", status);
        if (recovered)
        {
            Log.Recovered(logger);
        }
    }

    /// <summary>
    /// A beat failed with <paramref name="error"/> (our own deadline of <paramref name="timeout"/>
    /// included). The store being unavailable is logged once as lost, with the error at DEBUG for
    /// every beat; anything else is a bug, logged every time with its stack, and, as nova, never
    /// stops the heartbeat.
    /// </summary>
    public void BeatFailed(Exception error, TimeSpan timeout, ILogger logger)
    {
        var unavailable = DatabaseError.IsUnavailable(error);
        var cause = !unavailable ? error.Message
            : error is OperationCanceledException or TimeoutException ? $"{_storeName} did not answer within {timeout.TotalSeconds:0.###} seconds"
            : DatabaseError.Describe(error, _database);
        bool lost;
        string status;
        lock (_gate)
        {
            _lastFailure = cause;
            _consecutiveFailures++;
            lost = unavailable && !_disconnected;
            _disconnected = true;
            status = _status is null ? "" : BeatStatus(_time.GetUtcNow(), "failed: " + cause);
        }
        _status?.Set("heartbeat", status);
        if (!unavailable)
        {
            Log.UnexpectedError(logger, error);
            return;
        }
        Log.HeartbeatFailureDetail(logger, error);
        if (lost)
        {
            Log.LostConnection(logger, _storeName, cause);
        }
    }

    /// <summary>Shows the current cadence in the STATUS= line (after start or a reload), keeping the last beat's outcome.</summary>
    public void RefreshStatus()
    {
        if (_status is null)
        {
            return;
        }
        string status;
        lock (_gate)
        {
            status = StatusText();
        }
        _status.Set("heartbeat", status);
    }

    /// <summary>Keeps a beat's outcome for the STATUS= line and returns the whole heartbeat text. Under the lock.</summary>
    private string BeatStatus(DateTimeOffset at, string outcome)
    {
        _lastBeatStatus = $", last heartbeat {at.ToString("HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture)} UTC {outcome}";
        return StatusText();
    }

    private string StatusText()
    {
        var settings = _settings.Current;
        var cadence = settings.HeartbeatsEnabled ? $"reporting every {settings.ReportIntervalSeconds} s" : "heartbeats disabled (report_interval = 0)";
        return cadence + _lastBeatStatus;
    }
}
