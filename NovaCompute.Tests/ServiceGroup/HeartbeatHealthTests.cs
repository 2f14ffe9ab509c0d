using Microsoft.Extensions.Logging;
using NovaCompute.ServiceGroup;
using NovaCompute.Systemd;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.ServiceGroup;

internal sealed class HeartbeatHealthTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private FakeTimeProvider _time = null!;
    private TestServiceGroupSettings _settings = null!;
    private LogCollector _logs = null!;
    private ILogger _logger = null!;

    [SetUp]
    public void SetUp()
    {
        _time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));
        _settings = new TestServiceGroupSettings();
        _logs = new LogCollector();
        _logger = _logs.CreateLogger<HeartbeatWriter>();
    }

    private HeartbeatHealth Health(IServiceStatus? status = null, Func<bool>? reporting = null) =>
        new(_settings, _time, "the database", null, status, HeartbeatWriter.InitialReportingDelay, "heartbeat attempt finished", reporting);

    [Test]
    public void StatusLine_BeatsAndReload_ShowCadenceAndTheLastOutcome()
    {
        using var receiver = DatagramReceiver.BindPath();
        var status = new ServiceStatus(new SystemdNotifier(receiver.Address));
        var health = Health(status);

        health.Started();
        Assert.That(status.Current, Is.EqualTo("reporting every 10 s"));

        _time.Advance(TimeSpan.FromSeconds(5));
        health.BeatSucceeded(_logger);
        Assert.That(status.Current, Is.EqualTo("reporting every 10 s, last heartbeat 12:00:05 UTC ok"));

        _time.Advance(TimeSpan.FromSeconds(10));
        health.BeatFailed(new TimeoutException(), Timeout, _logger);
        Assert.That(status.Current, Is.EqualTo("reporting every 10 s, last heartbeat 12:00:15 UTC failed: the database did not answer within 10 seconds"));

        // A reload shows the new cadence and keeps the last beat's outcome.
        _settings.Set(new ServiceGroupSettings(0, 60));
        health.RefreshStatus();
        Assert.That(status.Current, Is.EqualTo(
            "heartbeats disabled (report_interval = 0), last heartbeat 12:00:15 UTC failed: the database did not answer within 10 seconds"));
    }

    [Test]
    public void BeatFailed_StoreUnavailableThenBack_LostLoggedOnceRecoveredOnce()
    {
        var health = Health();
        health.Started();

        for (var i = 0; i < 3; i++)
        {
            health.BeatFailed(new IOException("connection reset by peer"), Timeout, _logger);
        }
        Assert.That((health.ConsecutiveFailures, health.LastFailure), Is.EqualTo((3, "connection reset by peer")));
        Assert.That(_logs.Messages(LogLevel.Warning), Is.EqualTo(new[] { "Lost connection to the database for reporting service status: connection reset by peer" }));
        Assert.That(_logs.Entries.Count(e => e.Level == LogLevel.Debug && e.Exception is IOException), Is.EqualTo(3), "the error in full, every beat");

        health.BeatSucceeded(_logger);
        health.BeatSucceeded(_logger);
        Assert.That((health.ConsecutiveFailures, health.LastFailure), Is.EqualTo((0, (string?)null)));
        Assert.That(_logs.Messages(LogLevel.Information), Is.EqualTo(new[] { "Recovered from being unable to report status." }));
    }

    [Test]
    public void BeatFailed_Bug_LoggedEveryTimeWithItsStackAndRecoveryLogged()
    {
        var health = Health();
        health.Started();

        health.BeatFailed(new InvalidOperationException("a bug"), Timeout, _logger);
        health.BeatFailed(new InvalidOperationException("a bug"), Timeout, _logger);

        Assert.That(health.LastFailure, Is.EqualTo("a bug"));
        var errors = _logs.Entries.Where(e => e.Level == LogLevel.Error).ToList();
        Assert.That(errors.Select(e => e.Message), Is.EqualTo(new[] { "Unexpected error while reporting service status", "Unexpected error while reporting service status" }));
        Assert.That(errors, Has.All.Matches<LogEntry>(e => e.Exception is InvalidOperationException));
        Assert.That(_logs.Messages(LogLevel.Warning), Is.Empty, "a bug is not a lost connection");

        health.BeatSucceeded(_logger);
        Assert.That(_logs.Messages(LogLevel.Information), Is.EqualTo(new[] { "Recovered from being unable to report status." }));
    }

    [Test]
    public void IsOverdue_ServiceDownTimeWithoutSuccess_TrueUnlessNobodyReports()
    {
        var reporting = true;
        var health = Health(reporting: () => reporting);
        health.Started();

        _time.Advance(TimeSpan.FromSeconds(60));
        Assert.That(health.IsOverdue, Is.False, "exactly service_down_time is still up");
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.That(health.IsOverdue, Is.True);

        reporting = false;
        Assert.That(health.IsOverdue, Is.False, "no service reports through this loop");

        reporting = true;
        health.BeatSucceeded(_logger);
        Assert.That(health.IsOverdue, Is.False);
        _settings.Set(new ServiceGroupSettings(0, 60));
        _time.Advance(TimeSpan.FromHours(1));
        Assert.That(health.IsOverdue, Is.False, "heartbeats disabled");
    }

    [Test]
    public void WatchdogProblem_LoopSilentPastTwoIntervals_NamesTheSilenceOnlyThen()
    {
        var health = Health();
        IWatchdogCheck check = health;
        Assert.That(check.Problem(_time.GetUtcNow() + TimeSpan.FromHours(1)), Is.Null, "not started: nothing to judge");

        health.Started();
        var firstDue = _time.GetUtcNow() + HeartbeatWriter.InitialReportingDelay;
        Assert.That(check.Problem(firstDue + TimeSpan.FromSeconds(25)), Is.Null, "2 × report_interval + 5 s is the limit");
        Assert.That(check.Problem(firstDue + TimeSpan.FromSeconds(26)), Is.EqualTo("no heartbeat attempt finished for 26 s (report_interval 10 s)"));

        _time.Advance(TimeSpan.FromSeconds(40));
        health.LoopProgressed();
        Assert.That(check.Problem(_time.GetUtcNow() + TimeSpan.FromSeconds(25)), Is.Null, "a step of the loop resets it, failed beat or not");
        Assert.That(check.Name, Is.EqualTo("heartbeat"));
    }

    [Test]
    public async Task BeatOutcomes_FromManyThreadsAtOnce_EachCountedWhole()
    {
        // SharedHeartbeat ends its slots' beats on several threads at once.
        var health = Health();
        health.Started();
        using var go = new ManualResetEventSlim();
        var failing = Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            go.Wait();
            for (var i = 0; i < 500; i++)
            {
                health.BeatFailed(new TimeoutException(), Timeout, _logger);
            }
        })).ToList();
        go.Set();
        await Task.WhenAll(failing);

        Assert.That(health.ConsecutiveFailures, Is.EqualTo(8 * 500));
        Assert.That(_logs.Messages(LogLevel.Warning).Count(), Is.EqualTo(1), "lost is logged once, whichever thread saw it first");
    }
}
