using NovaCompute.Config;
using NovaCompute.Periodic;

namespace NovaCompute.Tests.Periodic;

public class PeriodicTaskSchedulerTests
{
    private sealed class Manager : PeriodicTasks
    {
        [PeriodicTask(Spacing = 10)]
        public Task Ten(CancellationToken cancellationToken) => Task.CompletedTask;

        [PeriodicTask(Spacing = 100, RunImmediately = true)]
        public Task Hundred(CancellationToken cancellationToken) => Task.CompletedTask;

        [PeriodicTask(Spacing = 30, ExternalProcessOk = true)]
        public Task External(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly IReadOnlyList<PeriodicTask> Tasks = PeriodicTask.Collect(new Manager(), OptionCatalog.All);
    private static readonly NovaConfig Defaults = NovaConfig.FromValues(OptionCatalog.All);

    private static PeriodicTaskScheduler Scheduler(double random = 0) => new(Tasks, Start, () => random);

    private static PeriodicTask Named(string name) => Tasks.Single(t => t.Name == name);

    private static void Finish(PeriodicTaskScheduler scheduler, IEnumerable<PeriodicTask> tasks)
    {
        foreach (var task in tasks)
        {
            scheduler.Finished(task, TimeSpan.Zero, null);
        }
    }

    [Test]
    public void Next_AtStart_OnlyRunImmediatelyTaskIsDueAndIdleIsShortestWait()
    {
        var (due, idle, _) = Scheduler().Next(Start, Defaults);
        Assert.That(due, Is.EqualTo(new[] { Named("hundred") }));
        Assert.That(idle, Is.EqualTo(TimeSpan.FromSeconds(10)));
    }

    [Test]
    public void Next_NonImmediateTask_FirstRunOneSpacingAfterStart()
    {
        var scheduler = Scheduler();
        Finish(scheduler, scheduler.Next(Start, Defaults).Due);
        var (due, idle, _) = scheduler.Next(Start.AddSeconds(9), Defaults);
        Assert.That(due, Is.Empty);
        Assert.That(idle, Is.EqualTo(TimeSpan.FromSeconds(1)));
        Assert.That(scheduler.Next(Start.AddSeconds(10), Defaults).Due, Does.Contain(Named("ten")));
    }

    [Test]
    public void Next_MissedRuns_NotMadeUpAndRealignedToBoundary()
    {
        var scheduler = Scheduler();
        Finish(scheduler, scheduler.Next(Start, Defaults).Due);
        // 35 s late: one run, and the next is due at the boundary 40 s, not 10 s after this run.
        var late = scheduler.Next(Start.AddSeconds(45), Defaults);
        Assert.That(late.Due.Count(t => t == Named("ten")), Is.EqualTo(1));
        Finish(scheduler, late.Due);
        var (due, idle, _) = scheduler.Next(Start.AddSeconds(46), Defaults);
        Assert.That(due, Is.Empty);
        Assert.That(idle, Is.EqualTo(TimeSpan.FromSeconds(4)), "next boundary at 50 s");
    }

    [Test]
    public void Next_Jitter_AddsUpToFivePercentInWholeSeconds()
    {
        var scheduler = Scheduler(random: 0.999);
        Finish(scheduler, scheduler.Next(Start, Defaults).Due);
        Finish(scheduler, scheduler.Next(Start.AddSeconds(100), Defaults).Due);
        // hundred ran at 0 (first run: no jitter) and at 100 with jitter int(100 * 0.999 / 20) = 4.
        var (due, idle, _) = scheduler.Next(Start.AddSeconds(200), Defaults);
        Assert.That(due, Does.Not.Contain(Named("hundred")));
        Assert.That(scheduler.Next(Start.AddSeconds(204), Defaults).Due, Does.Contain(Named("hundred")));
    }

    [Test]
    public void Next_TaskStillRunning_IsNotStartedAgain()
    {
        var scheduler = Scheduler();
        var first = scheduler.Next(Start, Defaults).Due;
        Assert.That(first, Does.Contain(Named("hundred")));
        Assert.That(scheduler.Next(Start.AddSeconds(500), Defaults).Due, Does.Not.Contain(Named("hundred")));
        scheduler.Finished(Named("hundred"), TimeSpan.FromSeconds(500), null);
        Assert.That(scheduler.Next(Start.AddSeconds(501), Defaults).Due, Does.Contain(Named("hundred")));
    }

    [Test]
    public void Next_ExternalTasksOff_LeavesThemOutAndSaysSoOnce()
    {
        var config = NovaConfig.FromValues(OptionCatalog.All, new Dictionary<Opt, string> { [PeriodicOptions.RunExternalPeriodicTasks] = "false" });
        var scheduler = Scheduler();
        var (_, _, skipped) = scheduler.Next(Start, config);
        Assert.That(skipped.Select(s => (s.Task.Name, s.Reason)), Is.EqualTo(new[] { ("external", "it is an external task and run_external_periodic_tasks is off") }));
        Assert.That(scheduler.Next(Start.AddSeconds(1000), config).Due, Does.Not.Contain(Named("external")));
        Assert.That(scheduler.Next(Start.AddSeconds(1001), config).Skipped, Is.Empty);
    }

    [Test]
    public void Snapshot_AfterRuns_CountsOutcomesAndFailures()
    {
        var scheduler = Scheduler();
        scheduler.Next(Start, Defaults);
        scheduler.Started(Named("hundred"), Start);
        scheduler.Finished(Named("hundred"), TimeSpan.FromSeconds(2), new InvalidOperationException("boom"));
        var stats = scheduler.Snapshot(Defaults).Single(s => s.Name == "Manager.hundred");
        Assert.That((stats.Runs, stats.Failures, stats.LastOutcome, stats.LastDuration, stats.Running),
            Is.EqualTo((1L, 1L, "failed: InvalidOperationException: boom", (TimeSpan?)TimeSpan.FromSeconds(2), false)));
    }
}
