using System.CommandLine;
using NovaCompute.Simulation;

namespace NovaCompute.Cli;

/// <summary>
/// <c>nova-compute simulate --count N --host-prefix P</c>: N complete compute services in this one
/// process, named <c>P-00001</c> …, with the daemon's configuration files and flags (what nova's
/// developers do with N nova-compute processes on the fake driver, in a fraction of the memory).
/// </summary>
public static class SimulateCommand
{
    public static Command Build()
    {
        var count = new Option<int>("--count") { Description = "How many compute services to run.", Required = true, HelpName = "N" };
        var prefix = new Option<string>("--host-prefix")
        {
            Description = "Host name prefix: the services are named PREFIX-00001, PREFIX-00002, …",
            Required = true,
            HelpName = "PREFIX",
        };
        var concurrency = new Option<int>("--start-concurrency")
        {
            Description = "How many services register at once during start-up.",
            DefaultValueFactory = _ => 8,
            HelpName = "N",
        };
        var command = new Command("simulate", "Run many complete compute services (fake drivers) in one process, for scale tests.")
        {
            count, prefix, concurrency,
        };
        command.SetAction((result, cancellationToken) => Daemon.RunAsync(NovaCommandLine.ReadConfigArguments(result), cancellationToken,
            new SimulationSettings
            {
                Count = result.GetValue(count),
                HostPrefix = result.GetValue(prefix)!,
                StartConcurrency = result.GetValue(concurrency),
            }));
        return command;
    }
}
