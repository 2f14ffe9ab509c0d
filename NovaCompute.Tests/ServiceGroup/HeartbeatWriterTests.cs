using Microsoft.Extensions.Logging;
using NovaCompute.Db;
using NovaCompute.ServiceGroup;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.ServiceGroup;

public class HeartbeatWriterTests
{
    private static readonly ServiceIdentity Identity = new("compute-01", "nova-compute", "compute");
    private TestDatabase _database = null!;
    private FaultyServiceRepository _repository = null!;
    private LogCollector _logs = null!;
    private FakeTimeProvider _time = null!;
    private TestServiceGroupSettings _settings = null!;
    private HeartbeatWriter _writer = null!;
    private CancellationTokenSource _stop = null!;

    [SetUp]
    public async Task SetUp()
    {
        _database = await TestDatabase.CreateAsync(DatabaseDialect.Sqlite);
        _repository = new FaultyServiceRepository(_database.Repository);
        _logs = new LogCollector();
        _time = new FakeTimeProvider();
        _settings = new TestServiceGroupSettings(new ServiceGroupSettings(10, 60));
        var registrar = new ServiceRegistrar(_repository, Identity, new RegistrationSettings(), _logs.CreateLogger<ServiceRegistrar>());
        _writer = new HeartbeatWriter(_repository, registrar, _settings, _time, _logs.CreateLogger<HeartbeatWriter>(), database: _database.Factory);
        _stop = new CancellationTokenSource();
    }

    [TearDown]
    public async Task TearDown()
    {
        await _stop.CancelAsync();
        await _writer.StopAsync(CancellationToken.None);
        _writer.Dispose();
        _stop.Dispose();
        _repository.HangRelease.TrySetResult();
        await _database.DisposeAsync();
    }

    [Test]
    public async Task StartAsync_NoRecord_RegistersBeforeReturning()
    {
        await _writer.StartAsync(_stop.Token);

        var row = await _database.Repository.GetByHostAndBinaryAsync("compute-01", "nova-compute", CancellationToken.None);
        Assert.That(row, Is.Not.Null);
        Assert.That(_writer.Record!.Id, Is.EqualTo(row!.Id));
        Assert.That(_repository.HeartbeatAttempts, Is.Zero);
    }

    [Test]
    public async Task ExecuteAsync_FakeClock_FirstBeatAfterFiveSecondsThenEveryReportInterval()
    {
        await _writer.StartAsync(_stop.Token);
        var start = _time.GetUtcNow();
        await WaitForIdleAsync(0);

        _time.Advance(TimeSpan.FromSeconds(4.9));
        await WaitForIdleAsync(0);
        Assert.That(_repository.HeartbeatAttempts, Is.Zero);

        var beats = new List<TimeSpan>();
        for (var i = 1; i <= 3; i++)
        {
            await AdvanceToNextBeatAsync(i);
            beats.Add(_writer.Health.LastSuccess!.Value - start);
        }

        Assert.That(beats, Is.EqualTo(new[] { TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(25) }));
        var row = await _database.Repository.GetByIdAsync(_writer.Record!.Id, CancellationToken.None);
        Assert.That(row!.ReportCount, Is.EqualTo(3));
        Assert.That(row.LastSeenUp, Is.Not.Null);
        Assert.That(row.UpdatedAt, Is.EqualTo(row.LastSeenUp));
    }

    [Test]
    public async Task BeatAsync_DatabaseLostThenBack_LogsLostOnceThenRecovered()
    {
        await _writer.StartAsync(_stop.Token);
        await AdvanceToNextBeatAsync(1);

        _repository.Heartbeats = FaultyServiceRepository.Mode.Fail;
        for (var i = 2; i <= 4; i++)
        {
            await AdvanceToNextBeatAsync(i);
        }
        Assert.That(_writer.Health.ConsecutiveFailures, Is.EqualTo(3));
        var cause = $"database file {_database.SqlitePath}: unable to open database file (SQLITE_CANTOPEN)";
        Assert.That(_writer.Health.LastFailure, Is.EqualTo(cause));
        Assert.That(Warnings(), Is.EqualTo(new[] { "Lost connection to the database for reporting service status: " + cause }));
        Assert.That(Lines(LogLevel.Information), Does.Not.Contain("Recovered from being unable to report status."));

        _repository.Heartbeats = FaultyServiceRepository.Mode.Pass;
        await AdvanceToNextBeatAsync(5);
        await AdvanceToNextBeatAsync(6);

        Assert.That(_writer.Health.ConsecutiveFailures, Is.Zero);
        Assert.That(Lines(LogLevel.Information).Count(l => l == "Recovered from being unable to report status."), Is.EqualTo(1));
        Assert.That(_writer.Health.LastFailure, Is.Null);
        Assert.That(Warnings(), Has.Count.EqualTo(1));
        // One line for the operator; the stack only at DEBUG, once per failed beat.
        Assert.That(_logs.Entries.Single(r => r.Level == LogLevel.Warning).Exception, Is.Null);
        Assert.That(_logs.Entries.Where(r => r.Level == LogLevel.Debug && r.Exception is Microsoft.Data.Sqlite.SqliteException).Count(), Is.EqualTo(3));
    }

    [Test]
    public async Task BeatAsync_DatabaseCallHangs_IsCutOffAndTheNextBeatIsOnTime()
    {
        await _writer.StartAsync(_stop.Token);
        var start = _time.GetUtcNow();
        await AdvanceToNextBeatAsync(1);

        _repository.Heartbeats = FaultyServiceRepository.Mode.Hang;
        _time.Advance(TimeSpan.FromSeconds(10));
        await Eventually.Until(() => _writer.BeatsStarted == 2 && _time.ArmedTimers == 2, what: () => "the hung beat to arm its deadline");
        _repository.Heartbeats = FaultyServiceRepository.Mode.Pass;

        // The hung call never returns; at its deadline (one interval later) the beat gives up and
        // the next one, due at the same moment, runs at once.
        _time.Advance(TimeSpan.FromSeconds(10));
        await WaitForIdleAsync(3);

        Assert.That(_writer.Health.LastSuccess! - start, Is.EqualTo(TimeSpan.FromSeconds(25)));
        Assert.That(_writer.Health.ConsecutiveFailures, Is.Zero);
        var lost = _logs.Entries.Single(r => r.Level == LogLevel.Warning);
        Assert.That(lost.Message, Is.EqualTo("Lost connection to the database for reporting service status: the database did not answer within 10 seconds"));
        Assert.That(lost.Exception, Is.Null);
        Assert.That(Lines(LogLevel.Information), Does.Contain("Recovered from being unable to report status."));
    }

    [Test]
    public async Task ExecuteAsync_ReportIntervalChangedOnSighup_TheNextBeatFollowsIt()
    {
        await _writer.StartAsync(_stop.Token);
        var start = _time.GetUtcNow();
        await AdvanceToNextBeatAsync(1);

        await ReloadAsync(new ServiceGroupSettings(30, 75));
        _time.Advance(TimeSpan.FromSeconds(29));
        await WaitForIdleAsync(1);
        Assert.That(_writer.BeatsStarted, Is.EqualTo(1), "the old 10 s interval must not fire");
        await AdvanceToNextBeatAsync(2);
        Assert.That(_writer.Health.LastSuccess! - start, Is.EqualTo(TimeSpan.FromSeconds(35)));

        // Shortened while waiting: the pending beat moves earlier, anchored on the last one.
        _time.Advance(TimeSpan.FromSeconds(3));
        await WaitForIdleAsync(2);
        await ReloadAsync(new ServiceGroupSettings(5, 60));
        await AdvanceToNextBeatAsync(3);
        Assert.That(_writer.Health.LastSuccess! - start, Is.EqualTo(TimeSpan.FromSeconds(40)));
    }

    [Test]
    public async Task ExecuteAsync_ReportIntervalZero_NoHeartbeatsUntilReloadedWithAnInterval()
    {
        _settings.Set(new ServiceGroupSettings(0, 60));
        await _writer.StartAsync(_stop.Token);
        await WaitForIdleAsync(0);
        _time.Advance(TimeSpan.FromMinutes(5));
        await WaitForIdleAsync(0);
        Assert.That(_repository.HeartbeatAttempts, Is.Zero);
        Assert.That(_writer.Health.IsOverdue, Is.False);

        _settings.Set(new ServiceGroupSettings(10, 60));
        await WaitForIdleAsync(0);
        await AdvanceToNextBeatAsync(1);
        Assert.That(_repository.HeartbeatAttempts, Is.EqualTo(1));
    }

    [Test]
    public async Task BeatAsync_RecordDeletedWhileRunning_RecreatesItWithAWarning()
    {
        await _writer.StartAsync(_stop.Token);
        await AdvanceToNextBeatAsync(1);
        var original = _writer.Record!;
        await _database.Repository.DestroyAsync(original.Id, CancellationToken.None);

        await AdvanceToNextBeatAsync(2);

        Assert.That(Warnings(), Is.EqualTo(new[]
        {
            "The services table record for the nova-compute service on host compute-01 is gone. Recreating it, as this service is still running; stop the service if it should be deleted.",
        }));
        var live = await _database.Repository.GetByHostAndBinaryAsync("compute-01", "nova-compute", CancellationToken.None);
        Assert.That(live, Is.Not.Null);
        Assert.That(live!.Id, Is.Not.EqualTo(original.Id));
        Assert.That(_writer.Record!.Id, Is.EqualTo(live.Id));

        await AdvanceToNextBeatAsync(3);
        Assert.That((await _database.Repository.GetByIdAsync(live.Id, CancellationToken.None))!.ReportCount, Is.EqualTo(1));
        Assert.That(Warnings(), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task IsOverdue_FailingLongerThanServiceDownTime_BecomesTrueAndClearsOnSuccess()
    {
        await _writer.StartAsync(_stop.Token);
        await AdvanceToNextBeatAsync(1);
        Assert.That(_writer.Health.IsOverdue, Is.False);

        _repository.Heartbeats = FaultyServiceRepository.Mode.Fail;
        for (var i = 2; i <= 7; i++)
        {
            await AdvanceToNextBeatAsync(i);
        }
        Assert.That(_writer.Health.IsOverdue, Is.False, "50 s without a heartbeat is within service_down_time");
        await AdvanceToNextBeatAsync(8);
        Assert.That(_writer.Health.IsOverdue, Is.True);

        _repository.Heartbeats = FaultyServiceRepository.Mode.Pass;
        await AdvanceToNextBeatAsync(9);
        Assert.That(_writer.Health.IsOverdue, Is.False);
    }

    [Test]
    public async Task WatchdogCheck_DatabaseDownButLoopAlive_StaysHealthyAndAWedgedLoopIsReported()
    {
        NovaCompute.Systemd.IWatchdogCheck check = _writer.Health;
        await _writer.StartAsync(_stop.Token);
        await AdvanceToNextBeatAsync(1);
        _repository.Heartbeats = FaultyServiceRepository.Mode.Fail;
        for (var i = 2; i <= 12; i++)
        {
            await AdvanceToNextBeatAsync(i);
            Assert.That(check.Problem(_time.GetUtcNow()), Is.Null, "an outage is not a wedged loop");
        }
        // The loop has stopped finishing beats (what a deadlock would look like from outside).
        Assert.That(check.Problem(_time.GetUtcNow() + TimeSpan.FromSeconds(26)), Does.StartWith("no heartbeat attempt finished for 26 s"));
    }

    /// <summary>Changes the settings as a SIGHUP would and waits until the waiting loop took them in.</summary>
    private async Task ReloadAsync(ServiceGroupSettings settings)
    {
        var seen = _logs.Entries.Count(r => r.EventId.Id == 3115);
        _settings.Set(settings);
        await Eventually.Until(() => _logs.Entries.Count(r => r.EventId.Id == 3115) > seen, what: () => "the loop to see the new interval");
        await WaitForIdleAsync();
    }

    /// <summary>Moves the clock to the moment beat <paramref name="beat"/> is due and waits until it is done.</summary>
    private async Task AdvanceToNextBeatAsync(int beat)
    {
        await WaitForIdleAsync(beat - 1);
        for (var step = 0; _writer.BeatsCompleted < beat; step++)
        {
            Assert.That(step, Is.LessThan(600), "no heartbeat within 60 s of fake time");
            _time.Advance(TimeSpan.FromSeconds(0.1));
            await WaitForIdleAsync();
        }
        Assert.That(_writer.BeatsCompleted, Is.EqualTo(beat));
    }

    /// <summary>The loop is between beats, waiting on its delay (or on a reload when heartbeats are off).</summary>
    private Task WaitForIdleAsync(int? completed = null) =>
        Eventually.Until(() => (completed is null || _writer.BeatsCompleted == completed)
                && _writer.BeatsStarted == _writer.BeatsCompleted
                && _time.ArmedTimers == (_settings.Current.HeartbeatsEnabled ? 1 : 0),
            what: () => $"the loop to wait after {completed?.ToString() ?? "its"} beat(s) (started {_writer.BeatsStarted}, completed {_writer.BeatsCompleted}, armed timers {_time.ArmedTimers})");

    private List<string> Warnings() => Lines(LogLevel.Warning);

    private List<string> Lines(LogLevel level) => _logs.Messages(level).ToList();
}
