using System.CommandLine;
using NovaCompute.Config;
using NovaCompute.Logging;

namespace NovaCompute.Cli;

/// <summary>
/// The command line: without a subcommand the daemon runs (as nova-compute does); subcommands are
/// the operator's tools. <c>--config-file</c>/<c>--config-dir</c> and the oslo flags work everywhere.
/// </summary>
public static class NovaCommandLine
{
    public static readonly Option<string[]> ConfigFile = new("--config-file")
    {
        Description = "Path to a config file to use. Multiple config files can be specified, with values in later files taking precedence. Defaults to the nova.conf and nova-compute.conf found in ~/.nova/, ~/, /etc/nova/, /etc/.",
        HelpName = "PATH",
        Recursive = true,
        Arity = ArgumentArity.ZeroOrMore,
    };

    public static readonly Option<string[]> ConfigDir = new("--config-dir")
    {
        Description = "Path to a config directory to pull *.conf files from. The files are sorted by name and parsed after the --config-file files.",
        HelpName = "DIR",
        Recursive = true,
        Arity = ArgumentArity.ZeroOrMore,
    };

    /// <summary>oslo's boolean CLI options come in pairs: <c>--debug</c> and <c>--nodebug</c>.</summary>
    private static readonly (Option<bool> On, Option<bool> Off, Opt Opt)[] BooleanFlags =
    [
        Pair(LoggingOptions.Debug, "-d", "If set to true, the logging level will be set to DEBUG instead of the default INFO level."),
        Pair(LoggingOptions.UseJournal, null, "Enable journald for logging (native protocol with structured fields)."),
        Pair(LoggingOptions.UseJson, null, "Use JSON formatting for logging."),
        Pair(LoggingOptions.UseStderr, null, "Log output to standard error."),
        Pair(LoggingOptions.WatchLogFile, null, "Reopen the log file when it is moved or removed (logrotate)."),
    ];

    /// <summary>oslo.log's value flags, with their deprecated spellings.</summary>
    private static readonly (Option<string?> Flag, Opt Opt)[] ValueFlags =
    [
        (Value("--log-file", "PATH", "Name of log file to send logging output to. If no default is set, logging will go to stderr as defined by use_stderr.", "--logfile"), LoggingOptions.LogFile),
        (Value("--log-dir", "DIR", "The base directory used for relative log_file paths.", "--logdir"), LoggingOptions.LogDir),
        (Value("--log-date-format", "FORMAT", "Defines the format string for %(asctime)s in log records."), LoggingOptions.LogDateFormat),
        (Value("--syslog-log-facility", "FACILITY", "Syslog facility to receive log lines (journald's SYSLOG_FACILITY)."), LoggingOptions.SyslogLogFacility),
    ];

    public static RootCommand Build()
    {
        var root = new RootCommand("nova-compute: the OpenStack compute service daemon. Without a command it runs the service.");
        root.Options.Add(ConfigFile);
        root.Options.Add(ConfigDir);
        foreach (var (on, off, _) in BooleanFlags)
        {
            root.Options.Add(on);
            root.Options.Add(off);
        }
        foreach (var (flag, _) in ValueFlags)
        {
            root.Options.Add(flag);
        }
        root.SetAction((result, cancellationToken) => Daemon.RunAsync(ReadConfigArguments(result), cancellationToken));
        root.Subcommands.Add(ConfigCommands.GenConfig());
        root.Subcommands.Add(ConfigCommands.CheckConfig());
        root.Subcommands.Add(ServiceCommands.Build());
        root.Subcommands.Add(DbCommands.Build());
        root.Subcommands.Add(PeriodicCommands.Build());
        root.Subcommands.Add(HypervisorCommands.Build());
        root.Subcommands.Add(SimulateCommand.Build());
        return root;
    }

    /// <summary>Parses and runs; bad arguments exit with status 2 and a message naming them, as argparse does.</summary>
    public static async Task<int> InvokeAsync(string[] args)
    {
        var result = Build().Parse(args);
        if (result.Errors.Count > 0)
        {
            foreach (var error in result.Errors)
            {
                await Console.Error.WriteLineAsync("nova-compute: error: " + error.Message);
            }
            await Console.Error.WriteLineAsync("Try 'nova-compute --help' for usage.");
            return ExitCodes.Usage;
        }
        // The daemon's SignalLifetime owns SIGTERM and SIGINT (graceful stop, exit 0). System.CommandLine's
        // termination handler (on by default since 2.0) would race it: it cancels the run and, when it
        // wins, exits 143 in the middle of a start-up, or after 2 s of a graceful stop. `simulate` runs the
        // daemon too. The other subcommands keep it (Ctrl-C cancels a query).
        var runsDaemon = result.CommandResult.Command is RootCommand || result.CommandResult.Command.Name == "simulate";
        var invocation = new InvocationConfiguration
        {
            ProcessTerminationTimeout = runsDaemon ? null : TimeSpan.FromSeconds(2),
        };
        return await result.InvokeAsync(invocation);
    }

    /// <summary>
    /// The configuration sources in command-line order (oslo processes <c>--config-file</c> and
    /// <c>--config-dir</c> interleaved, as given) and the flags that override options.
    /// </summary>
    public static ConfigArguments ReadConfigArguments(ParseResult result)
    {
        var sources = new List<ConfigSourceArgument>();
        // Option tokens are followed by their argument token ("--config-file=x" is split in two).
        var tokens = result.Tokens;
        for (var i = 0; i < tokens.Count; i++)
        {
            var kind = tokens[i].Value switch
            {
                "--config-file" => ConfigSourceKind.File,
                "--config-dir" => ConfigSourceKind.Directory,
                _ => (ConfigSourceKind?)null,
            };
            if (kind is not null && i + 1 < tokens.Count)
            {
                sources.Add(new ConfigSourceArgument(kind.Value, tokens[i + 1].Value));
                i++;
            }
        }

        var overrides = new List<(Opt, string, string)>();
        foreach (var (on, off, opt) in BooleanFlags)
        {
            if (result.GetValue(on))
            {
                overrides.Add((opt, "true", on.Name));
            }
            if (result.GetValue(off))
            {
                overrides.Add((opt, "false", off.Name));
            }
        }
        foreach (var (flag, opt) in ValueFlags)
        {
            if (result.GetValue(flag) is { } value)
            {
                overrides.Add((opt, value, flag.Name));
            }
        }
        return new ConfigArguments
        {
            Sources = sources,
            Overrides = overrides,
            CommandLine = result.Tokens.Select(t => t.Value).ToList(),
        };
    }

    private static Option<string?> Value(string name, string helpName, string description, params string[] aliases) =>
        new(name, aliases) { Description = description, HelpName = helpName, Recursive = true };

    private static (Option<bool>, Option<bool>, Opt) Pair(BoolOpt opt, string? alias, string description)
    {
        var dashed = opt.Name.Replace('_', '-');
        var on = alias is null ? new Option<bool>("--" + dashed) : new Option<bool>("--" + dashed, alias);
        on.Description = description;
        on.Recursive = true;
        var off = new Option<bool>("--no" + dashed) { Description = $"The inverse of --{dashed}.", Recursive = true };
        return (on, off, opt);
    }
}
