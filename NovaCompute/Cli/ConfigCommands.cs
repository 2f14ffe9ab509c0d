using System.CommandLine;
using NovaCompute.Config;

namespace NovaCompute.Cli;

/// <summary><c>genconfig</c> and <c>check-config</c>.</summary>
public static class ConfigCommands
{
    public static Command GenConfig()
    {
        var output = new Option<string?>("--output-file") { Description = "Write the sample to this file instead of standard output.", HelpName = "PATH" };
        var command = new Command("genconfig", "Print a sample configuration file in oslo-config-generator's format.") { output };
        command.SetAction(result =>
        {
            var sample = SampleGenerator.Generate(OptionCatalog.All);
            if (result.GetValue(output) is { } path)
            {
                File.WriteAllText(path, sample);
            }
            else
            {
                Console.Out.Write(sample);
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command CheckConfig()
    {
        var command = new Command("check-config",
            "Validate the configuration and print every option's effective value and where it came from (secrets as ****). Exit 0 when valid, 78 when not.");
        command.SetAction(result =>
        {
            var loaded = Load(NovaCommandLine.ReadConfigArguments(result), Console.Error, daemonChecks: true);
            if (loaded is null)
            {
                return ExitCodes.Config;
            }
            // The one choice an operator most needs to see first: which way records are reached.
            Console.Out.WriteLine("# Database access: " + Db.DatabaseOptions.Describe(loaded));
            Console.Out.Write(ConfigReport.EffectiveValues(loaded));
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>
    /// Loads the configuration for a command: warnings and errors go to <paramref name="errors"/>;
    /// null means invalid (the caller exits 78).
    /// </summary>
    /// <param name="daemonChecks">Also <see cref="ConfigValidator"/>'s checks, the daemon's own: for check-config.</param>
    public static NovaConfig? Load(ConfigArguments arguments, TextWriter errors, bool daemonChecks = false)
    {
        var result = new ConfigLoader(OptionCatalog.All).Load(arguments);
        foreach (var warning in ConfigReport.Capped(result.Warnings))
        {
            errors.WriteLine("nova-compute: warning: " + warning);
        }
        if (!result.Succeeded)
        {
            ConfigReport.WriteErrors(errors, result);
            return null;
        }
        if (daemonChecks && ConfigValidator.Validate(result.Config!) is { Count: > 0 } problems)
        {
            ConfigReport.WriteErrors(errors, problems);
            return null;
        }
        return result.Config;
    }
}
