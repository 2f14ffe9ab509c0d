using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NovaCompute.Db;

namespace NovaCompute.ServiceGroup;

/// <summary>One service reporting through a <see cref="SharedHeartbeat"/>.</summary>
internal sealed class HeartbeatMember(ServiceRegistrar registrar, ServiceRecord record, DateTimeOffset joinedAt, int slot)
{
    private ServiceRecord _record = record;
    private int _recreating;

    public ServiceRegistrar Registrar => registrar;

    /// <summary>The live row as last written (report count and stamps of the last beat).</summary>
    public ServiceRecord Record
    {
        get => Volatile.Read(ref _record);
        set => Volatile.Write(ref _record, value);
    }

    public DateTimeOffset JoinedAt => joinedAt;

    public int Slot => slot;

    internal bool TryBeginRecreate() => Interlocked.Exchange(ref _recreating, 1) == 0;

    internal void EndRecreate() => Volatile.Write(ref _recreating, 0);
}

/// <summary>
/// The heartbeat of many services in one process (<c>nova-compute simulate</c>): what
/// <see cref="HeartbeatWriter"/> does for one service (nova's DB servicegroup driver,
/// nova/servicegroup/drivers/db.py), done for all of them by one loop. The interval is cut into <see cref="Slots"/> ticks
/// and every member belongs to one slot, so the rounds are spread over the interval instead of all
/// at once; a tick writes its slot's rows in one statement
/// (<see cref="IServiceRepository.ReportStatesAsync"/>), so a round over N services costs
/// <see cref="Slots"/> round trips, not N. A member's first beat comes at its slot's first turn
/// from one interval before nova's <see cref="HeartbeatWriter.InitialReportingDelay"/>: no later
/// than nova's 5 s, or within the first interval when that is longer (a service stays up either
/// way: <c>service_down_time</c> is at least 2.5 intervals). A row deleted under a member
/// is recreated, as <see cref="HeartbeatWriter"/> does. The interval follows SIGHUP.
/// </summary>
internal sealed class SharedHeartbeat : BackgroundService
{
    /// <summary>Ticks per <c>report_interval</c>: at 10 s, one statement every 0.5 s.</summary>
    public const int Slots = 20;

    private readonly IServiceRepository _repository;
    private readonly IServiceGroupSettingsSource _settings;
    private readonly SettingsChangeSignal _settingsChanged;
    private readonly TimeProvider _time;
    private readonly ILogger<SharedHeartbeat> _logger;
    private readonly Lock _gate = new();
    private readonly List<HeartbeatMember>[] _slots = [.. Enumerable.Range(0, Slots).Select(_ => new List<HeartbeatMember>())];
    private readonly Task?[] _rounds = new Task?[Slots];
    private int _nextSlot;
    private int _count;
    private long _rowsWritten;
    private long _statements;
    private long _ticks;

    /// <param name="database">Names the database in failure messages (null: the store is not a local database).</param>
    public SharedHeartbeat(IServiceRepository repository, IServiceGroupSettingsSource settings, TimeProvider time, ILogger<SharedHeartbeat> logger,
        IDbConnectionFactory? database = null)
    {
        _repository = repository;
        _settings = settings;
        _time = time;
        _logger = logger;
        _settingsChanged = new SettingsChangeSignal(settings);
        Health = new HeartbeatHealth(settings, time, repository.StoreName, database?.Url, status: null, TimeSpan.Zero, "heartbeat tick",
            reporting: () => Count > 0);
    }

    /// <summary>How the beats are going, all members together: for the status API and the watchdog.</summary>
    public HeartbeatHealth Health { get; }

    /// <summary>Services reporting now.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Rows written since start (one per service per beat).</summary>
    public long RowsWritten => Interlocked.Read(ref _rowsWritten);

    /// <summary>Statements issued since start (one per tick that had a member due).</summary>
    public long Statements => Interlocked.Read(ref _statements);

    /// <summary>Ticks the loop has taken (for tests driving a fake clock).</summary>
    internal long Ticks => Interlocked.Read(ref _ticks);

    /// <summary>True while some slot's statement is still running.</summary>
    internal bool RoundsRunning
    {
        get
        {
            lock (_gate)
            {
                return _rounds.Any(r => r is { IsCompleted: false });
            }
        }
    }

    /// <summary>Starts reporting for a registered service; its slot is the next in turn, so members spread evenly.</summary>
    public HeartbeatMember Join(ServiceRegistrar registrar, ServiceRecord record)
    {
        lock (_gate)
        {
            var member = new HeartbeatMember(registrar, record, _time.GetUtcNow(), _nextSlot);
            _slots[_nextSlot].Add(member);
            _nextSlot = (_nextSlot + 1) % Slots;
            _count++;
            return member;
        }
    }

    /// <summary>Stops reporting for a member (its service is stopping).</summary>
    public void Leave(HeartbeatMember member)
    {
        lock (_gate)
        {
            if (_slots[member.Slot].Remove(member))
            {
                _count--;
            }
        }
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        Health.Started();
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Fixed rate from an anchor, as HeartbeatWriter: a slow round does not push later ticks back.
        var anchor = _time.GetUtcNow();
        long tick = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            var changed = _settingsChanged.Next;
            var settings = _settings.Current;
            if (!settings.HeartbeatsEnabled)
            {
                await changed.WaitAsync(stoppingToken).ConfigureAwait(false);
                anchor = _time.GetUtcNow();
                continue;
            }
            var tickLength = settings.ReportInterval / Slots;
            var due = anchor + tickLength;
            var wait = due - _time.GetUtcNow();
            if (wait > TimeSpan.Zero)
            {
                if (await SettingsChangeSignal.WaitOrChangedAsync(_time, wait, changed, stoppingToken).ConfigureAwait(false))
                {
                    Log.IntervalChanged(_logger, _settings.Current.ReportIntervalSeconds);
                    continue;
                }
                anchor = due;
            }
            else
            {
                // Behind by a whole tick or more (a paused process): start again from now.
                anchor = wait < -tickLength ? _time.GetUtcNow() : due;
            }
            var slot = (int)(tick++ % Slots);
            StartRound(slot, settings.ReportInterval, stoppingToken);
            Health.LoopProgressed();
            Interlocked.Increment(ref _ticks);
        }
    }

    /// <summary>One slot's beat, run beside the loop; a slot whose previous statement still runs skips this turn.</summary>
    private void StartRound(int slot, TimeSpan timeout, CancellationToken stoppingToken)
    {
        HeartbeatMember[] due;
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            if (_rounds[slot] is { IsCompleted: false })
            {
                return;
            }
            // nova's first beat comes INITIAL_REPORTING_DELAY after start; a slot's turn may be up
            // to one interval after a member is due, so members are due one interval earlier.
            var firstDue = HeartbeatWriter.InitialReportingDelay - timeout;
            due = [.. _slots[slot].Where(m => now - m.JoinedAt >= firstDue)];
        }
        if (due.Length == 0)
        {
            return;
        }
        var round = BeatAsync(due, timeout, stoppingToken);
        lock (_gate)
        {
            _rounds[slot] = round;
        }
    }

    /// <summary>Writes one slot's rows in one statement, bounded by <paramref name="timeout"/>. Never throws.</summary>
    internal async Task BeatAsync(IReadOnlyList<HeartbeatMember> members, TimeSpan timeout, CancellationToken stoppingToken)
    {
        using var deadline = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, deadline.Token);
        try
        {
            var ids = new int[members.Count];
            for (var i = 0; i < ids.Length; i++)
            {
                ids[i] = members[i].Record.Id;
            }
            var write = _repository.ReportStatesAsync(ids, linked.Token);
            _ = write.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            var stamps = await write.WaitAsync(timeout, _time, stoppingToken).ConfigureAwait(false);
            Interlocked.Increment(ref _statements);
            Interlocked.Add(ref _rowsWritten, stamps.Count);
            foreach (var member in members)
            {
                var record = member.Record;
                if (stamps.TryGetValue(record.Id, out var stamp))
                {
                    member.Record = record with { ReportCount = stamp.ReportCount, LastSeenUp = stamp.LastSeenUp, UpdatedAt = stamp.UpdatedAt };
                }
                else if (member.TryBeginRecreate())
                {
                    _ = RecreateAsync(member, stoppingToken);
                }
            }
            Health.BeatSucceeded(_logger);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: the round is simply not finished.
        }
        catch (Exception ex)
        {
            Health.BeatFailed(ex, timeout, _logger);
        }
    }

    /// <summary>The row was deleted under a running service (<c>service delete</c>): recreate it, as a restart would.</summary>
    private async Task RecreateAsync(HeartbeatMember member, CancellationToken stoppingToken)
    {
        try
        {
            Log.RecordGone(_logger, member.Registrar.Identity.Binary, member.Registrar.Identity.Host);
            member.Record = await member.Registrar.CreateAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // Tried again at the member's next beat.
            Log.UnexpectedError(_logger, ex);
        }
        finally
        {
            member.EndRecreate();
        }
    }

    public override void Dispose()
    {
        _settingsChanged.Dispose();
        base.Dispose();
    }
}
