using NovaCompute.Config;

namespace NovaCompute.Periodic;

/// <summary>nova's periodic-task options (nova/conf/service.py) and oslo.service's external-task switch.</summary>
public static class PeriodicOptions
{
    public static readonly BoolOpt PeriodicEnable = new("periodic_enable", true)
    {
        Mutable = true,
        Help = "Enable periodic tasks.\n\nIf set to true, this option allows services to periodically run tasks\non the manager.",
    };

    public static readonly IntOpt PeriodicFuzzyDelay = new("periodic_fuzzy_delay", 60)
    {
        Min = 0,
        Mutable = true,
        Help = """
            Number of seconds to randomly delay when starting the periodic task
            scheduler to reduce stampeding.

            When compute workers are restarted in unison across a cluster,
            they all end up running the periodic tasks at the same time
            causing problems for the external services. To mitigate this
            behavior, periodic_fuzzy_delay option allows you to introduce a
            random initial delay when starting the periodic task scheduler.

            Possible Values:

            * Any positive integer (in seconds)
            * 0 : disable the random delay
            """,
    };

    public static readonly BoolOpt RunExternalPeriodicTasks = new("run_external_periodic_tasks", true)
    {
        Namespace = "oslo.service.periodic_task",
        Help = "Some periodic tasks can be run in a separate process. Should we run them here?",
    };

    public static IReadOnlyList<Opt> All { get; } = [PeriodicEnable, PeriodicFuzzyDelay, RunExternalPeriodicTasks];
}
