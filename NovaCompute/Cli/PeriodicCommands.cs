using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using NovaCompute.Compute;
using NovaCompute.Config;
using NovaCompute.Periodic;

namespace NovaCompute.Cli;

/// <summary>
/// <c>nova-compute periodic list [--format table|json]</c>: the manager's periodic tasks with the
/// spacing and flags the configuration gives them (oslo's rules: 0 means 60 s, a negative spacing
/// or <c>enabled = false</c> leaves a task out, external tasks follow <c>run_external_periodic_tasks</c>).
/// </summary>
public static class PeriodicCommands
{
    public static Command Build()
    {
        var command = new Command("periodic", "Show the compute manager's periodic tasks.");
        var format = new Option<string>("--format") { Description = "Output format.", DefaultValueFactory = _ => "table", HelpName = "table|json" };
        format.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string>() is not ("table" or "json") and var value)
            {
                r.AddError($"--format must be table or json, not '{value}'");
            }
        });
        var list = new Command("list", "List each periodic task with its spacing and flags under the current configuration.") { format };
        list.SetAction((result, _) =>
        {
            var config = ConfigCommands.Load(NovaCommandLine.ReadConfigArguments(result), Console.Error);
            return Task.FromResult(config is null ? ExitCodes.Config : List(config, result.GetValue(format)!, Console.Out));
        });
        command.Subcommands.Add(list);
        return command;
    }

    /// <summary>The tasks <see cref="ComputeManager"/> declares, described under <paramref name="config"/>.</summary>
    internal static IReadOnlyList<PeriodicTask> ComputeTasks(NovaConfig config) =>
        PeriodicTask.Collect(ComputeManager.ForTaskListing(config), OptionCatalog.All);

    internal static int List(NovaConfig config, string format, TextWriter output) =>
        Write(ComputeTasks(config), config, format, output);

    internal static int Write(IReadOnlyList<PeriodicTask> tasks, NovaConfig config, string format, TextWriter output)
    {
        var runExternal = config.Get(PeriodicOptions.RunExternalPeriodicTasks);
        var periodicEnabled = config.Get(PeriodicOptions.PeriodicEnable);
        var rows = tasks.Select(t => Describe(t, config, runExternal, periodicEnabled)).ToList();
        if (format == "json")
        {
            var array = new JsonArray([.. rows.Select(r => (JsonNode)new JsonObject
            {
                ["name"] = r.Task.FullName,
                ["spacing"] = r.Spacing,
                ["spacing_option"] = r.Task.SpacingOption?.Key,
                ["run_immediately"] = r.Task.Declaration.RunImmediately,
                ["external_process_ok"] = r.Task.Declaration.ExternalProcessOk,
                ["enabled"] = r.Runs,
                ["reason"] = r.Reason,
            })]);
            output.WriteLine(array.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        }
        else
        {
            output.Write(ServiceCli.Table(["Task", "Spacing", "Spacing option", "Run immediately", "External process ok", "Enabled"],
                rows.Select(r => new string?[]
                {
                    r.Task.FullName,
                    r.Spacing is { } s ? s.ToString("0.###", CultureInfo.InvariantCulture) + " s" : "-",
                    r.Task.SpacingOption is { } o ? $"{o.Key} = {config.Describe(o).Display}" : "-",
                    r.Task.Declaration.RunImmediately ? "True" : "False",
                    r.Task.Declaration.ExternalProcessOk ? "True" : "False",
                    r.Runs ? "True" : $"False ({r.Reason})",
                })));
        }
        return ExitCodes.Ok;
    }

    private sealed record Row(PeriodicTask Task, double? Spacing, bool Runs, string? Reason);

    private static Row Describe(PeriodicTask task, NovaConfig config, bool runExternal, bool periodicEnabled)
    {
        var spacing = task.Spacing(config);
        var reason = !task.Declaration.Enabled ? "disabled"
            : spacing is null ? "negative spacing"
            : task.Declaration.ExternalProcessOk && !runExternal ? "run_external_periodic_tasks = false"
            : !periodicEnabled ? "periodic_enable = false"
            : null;
        return new Row(task, spacing, reason is null, reason);
    }
}
