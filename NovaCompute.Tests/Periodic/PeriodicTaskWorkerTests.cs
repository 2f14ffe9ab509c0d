using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using NovaCompute.Config;
using NovaCompute.Periodic;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Periodic;

public class PeriodicTaskWorkerTests
{
    private sealed class Manager : PeriodicTasks
    {
        public ConcurrentQueue<string> Calls { get; } = new();
        public TaskCompletionSource SlowGate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        [PeriodicTask(Spacing = 10, RunImmediately = true)]
        public Task Fast(CancellationToken cancellationToken)
        {
            Calls.Enqueue("fast");
            return Task.CompletedTask;
        }

        [PeriodicTask(Spacing = 10, RunImmediately = true)]
        public Task Throws(CancellationToken cancellationToken)
        {
            Calls.Enqueue("throws");
            throw new InvalidOperationException("hypervisor unreachable");
        }

        [PeriodicTask(Spacing = 10, RunImmediately = true)]
        public async Task Slow(CancellationToken cancellationToken)
        {
            Calls.Enqueue("slow");
            await SlowGate.Task.WaitAsync(cancellationToken);
        }

        [PeriodicTask(SpacingOption = "periodic_fuzzy_delay")]
        public Task Tunable(CancellationToken cancellationToken)
        {
            Calls.Enqueue("tunable");
            return Task.CompletedTask;
        }
    }

    private FakeTimeProvider _time = null!;
    private LogCollector _logs = null!;
    private Manager _manager = null!;
    private TestConfigMonitor _config = null!;
    private PeriodicTaskWorker _worker = null!;
    private int? _randomMax;

    private PeriodicTaskWorker Start(params (Opt, string)[] values)
    {
        _time = new FakeTimeProvider();
        _logs = new LogCollector();
        _manager = new Manager();
        _config = TestConfigMonitor.With(values);
        _worker = new PeriodicTaskWorker(PeriodicTask.Collect(_manager, OptionCatalog.All), _config, _time, _logs.CreateLogger<PeriodicTaskWorker>(),
            random: max => { _randomMax = max; return max; });
        _worker.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        return _worker;
    }

    [TearDown]
    public async Task Stop()
    {
        // Null-safe: a test that failed before Start must report its own failure, not one from here.
        _manager?.SlowGate.TrySetResult();
        if (_worker is not null)
        {
            await _worker.StopAsync(CancellationToken.None);
            _worker.Dispose();
        }
    }

    private int Count(string name) => _manager.Calls.Count(c => c == name);

    [Test]
    public async Task Execute_FuzzyDelay_FirstRunWaitsRandomDelayUpToTheOption()
    {
        Start((PeriodicOptions.PeriodicFuzzyDelay, "7"));
        await _time.WaitForTimersAsync();
        Assert.That(_randomMax, Is.EqualTo(7), "randint(0, periodic_fuzzy_delay)");
        _time.Advance(TimeSpan.FromSeconds(6));
        Assert.That(_manager.Calls, Is.Empty);
        _time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.Until(() => Count("fast") == 1);
    }

    [Test]
    public async Task Execute_ThrowingAndSlowTasks_OthersKeepRunningOnTime()
    {
        Start((PeriodicOptions.PeriodicFuzzyDelay, "0"));
        await Eventually.Until(() => Count("fast") == 1 && Count("throws") == 1 && Count("slow") == 1);
        await Eventually.Until(() => _logs.Entries.Any(r => r.Level == LogLevel.Error));
        var error = _logs.Entries.Single(r => r.Level == LogLevel.Error);
        Assert.That(error.Message, Is.EqualTo("Error during Manager.throws"));
        Assert.That(error.Exception?.Message, Is.EqualTo("hypervisor unreachable"));

        for (var i = 2; i <= 4; i++)
        {
            await _time.WaitForTimersAsync();
            _time.Advance(TimeSpan.FromSeconds(10));
            await Eventually.Until(() => Count("fast") == i && Count("throws") == i);
        }
        Assert.That(Count("slow"), Is.EqualTo(1), "a task never overlaps itself");
        var stats = _worker.Snapshot().Single(s => s.Name == "Manager.throws");
        Assert.That((stats.Runs, stats.Failures), Is.EqualTo((4L, 4L)));
        Assert.That(_worker.Snapshot().Single(s => s.Name == "Manager.slow").Running, Is.True);
    }

    [Test]
    public async Task Execute_SpacingChangedBySighup_NextRunFollowsNewSpacing()
    {
        // The tunable task's spacing is periodic_fuzzy_delay (an integer option); the loop starts at once.
        Start((PeriodicOptions.PeriodicFuzzyDelay, "0"));
        await Eventually.Until(() => Count("fast") == 1);
        _config.Reload((PeriodicOptions.PeriodicFuzzyDelay, "3"));
        await _time.WaitForTimersAsync();
        _time.Advance(TimeSpan.FromSeconds(3));
        await Eventually.Until(() => Count("tunable") == 1);
    }

    [Test]
    public async Task Execute_PeriodicDisabled_RunsNothingAndSaysSo()
    {
        Start((PeriodicOptions.PeriodicFuzzyDelay, "0"), (PeriodicOptions.PeriodicEnable, "false"));
        await Eventually.Until(() => _logs.Messages(LogLevel.Information).Contains("Periodic tasks are disabled (periodic_enable = false)"));
        var start = _time.GetUtcNow();
        // Two minutes: the loop wakes every 60 s, finds the tasks still disabled and waits again.
        for (var i = 0; i < 2; i++)
        {
            await _time.WaitForTimersAsync();
            _time.Advance(TimeSpan.FromSeconds(60));
        }
        await _time.WaitForTimersAsync();

        // Enabled again, the tasks run at once; that this is their first run proves none ran while disabled.
        _config.Reload((PeriodicOptions.PeriodicFuzzyDelay, "0"), (PeriodicOptions.PeriodicEnable, "true"));
        await Eventually.Until(() => Fast().Runs >= 1, what: () => "Manager.fast to run once enabled");
        Assert.That((Fast().Runs, Fast().LastStart), Is.EqualTo((1L, (DateTimeOffset?)(start + TimeSpan.FromSeconds(120)))));
        Assert.That(Count("fast"), Is.EqualTo(1));
        Assert.That(_logs.Messages(LogLevel.Information).Count(m => m == "Periodic tasks are disabled (periodic_enable = false)"), Is.EqualTo(1),
            "said once, not at every wake-up");

        PeriodicTaskStats Fast() => _worker.Snapshot().Single(s => s.Name == "Manager.fast");
    }

    [Test]
    public async Task Execute_EachRun_LoggedAtDebug()
    {
        Start((PeriodicOptions.PeriodicFuzzyDelay, "0"));
        await Eventually.Until(() => _logs.Messages(LogLevel.Debug).Contains("Running periodic task Manager.fast"));
    }
}
