using NovaCompute.Config;

namespace NovaCompute.Periodic;

/// <summary>What one task has done, for operators (daemon status, systemctl status).</summary>
public sealed record PeriodicTaskStats(
    string Name,
    double? Spacing,
    bool RunImmediately,
    bool ExternalProcessOk,
    bool Enabled,
    DateTimeOffset? LastStart,
    TimeSpan? LastDuration,
    string LastOutcome,
    long Runs,
    long Failures,
    bool Running);

/// <summary>
/// oslo.service's <c>run_periodic_tasks</c> decisions, without running anything: which tasks are due
/// now, and how long the loop may sleep. As oslo: a task runs when <c>last_run + spacing</c> has
/// passed; its new <c>last_run</c> is the nearest spacing boundary plus 0–5 % jitter, so missed runs
/// are not made up; idle is the smallest time until a task is due, at most 60 s. Unlike oslo: a
/// task's first run is timed from the loop's start (oslo: from module import), and a task still
/// running is never started again (oslo runs tasks one after another, so one slow task delays all).
/// </summary>
public sealed class PeriodicTaskScheduler
{
    private readonly Dictionary<PeriodicTask, State> _states;
    private readonly Func<double> _random;
    private readonly object _gate = new();

    public PeriodicTaskScheduler(IReadOnlyList<PeriodicTask> tasks, DateTimeOffset start, Func<double>? random = null)
    {
        Tasks = tasks;
        _random = random ?? Random.Shared.NextDouble;
        _states = tasks.ToDictionary(t => t, t => new State { LastRun = t.Declaration.RunImmediately ? null : start });
    }

    public IReadOnlyList<PeriodicTask> Tasks { get; }

    private sealed class State
    {
        public DateTimeOffset? LastRun;
        public DateTimeOffset? LastStart;
        public TimeSpan? LastDuration;
        public string LastOutcome = "never run";
        public long Runs;
        public long Failures;
        public bool Running;
        public bool? LeftOut;
    }

    /// <summary>Tasks whose inclusion changed since the last pass, and why (for oslo's "Skipping …" lines).</summary>
    public sealed record Skip(PeriodicTask Task, string Reason);

    /// <summary>One pass: the tasks to start now (now marked running), the idle time, and newly skipped tasks.</summary>
    public (IReadOnlyList<PeriodicTask> Due, TimeSpan Idle, IReadOnlyList<Skip> Skipped) Next(DateTimeOffset now, NovaConfig config)
    {
        var due = new List<PeriodicTask>();
        var skipped = new List<Skip>();
        var runExternal = config.Get(PeriodicOptions.RunExternalPeriodicTasks);
        var idle = PeriodicTask.DefaultInterval;
        lock (_gate)
        {
            foreach (var task in Tasks)
            {
                var state = _states[task];
                var spacing = task.Spacing(config);
                var external = task.Declaration.ExternalProcessOk && !runExternal;
                var leftOut = spacing is null || external;
                if (state.LeftOut != leftOut && leftOut)
                {
                    skipped.Add(new Skip(task, external ? "it is an external task and run_external_periodic_tasks is off"
                        : !task.Declaration.Enabled ? "it is disabled" : "its interval is negative"));
                }
                state.LeftOut = leftOut;
                if (leftOut)
                {
                    continue;
                }
                var s = spacing!.Value;
                idle = Math.Min(idle, s);
                if (state.Running)
                {
                    continue;
                }
                if (state.LastRun is { } last && (last + TimeSpan.FromSeconds(s) - now) is var delta && delta > TimeSpan.Zero)
                {
                    idle = Math.Min(idle, delta.TotalSeconds);
                    continue;
                }
                state.LastRun = NearestBoundary(state.LastRun, s, now);
                state.Running = true;
                due.Add(task);
            }
        }
        return (due, TimeSpan.FromSeconds(idle), skipped);
    }

    /// <summary>oslo's <c>_nearest_boundary</c>: the latest spacing boundary before now, plus jitter.</summary>
    private DateTimeOffset NearestBoundary(DateTimeOffset? lastRun, double spacing, DateTimeOffset now)
    {
        if (lastRun is not { } last)
        {
            return now;
        }
        var offset = (now - last).TotalSeconds % spacing;
        // Whole seconds, 0–5 % of the spacing, as oslo's int(spacing * random() / 20).
        var jitter = Math.Floor(spacing * (_random() / 20));
        return now - TimeSpan.FromSeconds(offset) + TimeSpan.FromSeconds(jitter);
    }

    public void Started(PeriodicTask task, DateTimeOffset at)
    {
        lock (_gate)
        {
            var state = _states[task];
            state.LastStart = at;
            state.LastOutcome = "running";
        }
    }

    public void Finished(PeriodicTask task, TimeSpan duration, Exception? failure)
    {
        lock (_gate)
        {
            var state = _states[task];
            state.Running = false;
            state.LastDuration = duration;
            state.Runs++;
            if (failure is null)
            {
                state.LastOutcome = "ok";
            }
            else
            {
                state.Failures++;
                state.LastOutcome = $"failed: {failure.GetType().Name}: {failure.Message}";
            }
        }
    }

    public IReadOnlyList<PeriodicTaskStats> Snapshot(NovaConfig config)
    {
        lock (_gate)
        {
            return Tasks.Select(t =>
            {
                var s = _states[t];
                return new PeriodicTaskStats(t.FullName, t.Spacing(config), t.Declaration.RunImmediately, t.Declaration.ExternalProcessOk,
                    t.Declaration.Enabled, s.LastStart, s.LastDuration, s.LastOutcome, s.Runs, s.Failures, s.Running);
            }).ToList();
        }
    }
}
