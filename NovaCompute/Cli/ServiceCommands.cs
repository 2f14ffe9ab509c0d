using System.CommandLine;
using Microsoft.Extensions.Logging.Abstractions;
using NovaCompute.Db;
using NovaCompute.ServiceGroup;

namespace NovaCompute.Cli;

/// <summary>
/// <c>nova-compute service list|enable|disable|force-down|delete</c>: what operators use instead of
/// <c>nova-manage</c>/<c>openstack compute service</c>. They read the same configuration as the
/// daemon and talk to the services database directly.
/// </summary>
public static class ServiceCommands
{
    public static Command Build()
    {
        var command = new Command("service", "Show and change the records of nova services.");
        command.Subcommands.Add(List());
        command.Subcommands.Add(Enable());
        command.Subcommands.Add(Disable());
        command.Subcommands.Add(ForceDown());
        command.Subcommands.Add(Delete());
        return command;
    }

    private static Argument<string> HostArgument() => new("HOST") { Description = "Host name of the service ([DEFAULT] host of that node)." };

    private static Option<string> BinaryOption(string description) => new("--binary")
    {
        Description = description,
        DefaultValueFactory = _ => ServiceCli.DefaultBinary,
        HelpName = "BINARY",
    };

    private static Command List()
    {
        var host = new Option<string?>("--host") { Description = "Only services on this host.", HelpName = "HOST" };
        var binary = new Option<string?>("--binary") { Description = "Only services of this binary (e.g. nova-compute).", HelpName = "BINARY" };
        var format = new Option<string>("--format") { Description = "Output format.", DefaultValueFactory = _ => "table", HelpName = "table|json" };
        format.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string>() is not ("table" or "json") and var value)
            {
                r.AddError($"--format must be table or json, not '{value}'");
            }
        });
        var command = new Command("list",
            "List services with nova's columns; State is judged by nova's rule on the database's clock.") { host, binary, format };
        command.SetAction((result, cancellationToken) => CliDatabase.RunAsync(result, requireSchema: true, (context, ct) =>
        {
            var settings = new StaticSettings(ServiceGroupSettings.FromConfig(context.Config, NullLogger.Instance));
            var query = new ServiceStatusQuery(context.Repository, settings, ServiceGroupServiceCollectionExtensions.Zones(context.Config));
            return ServiceCli.ListAsync(query, result.GetValue(host), result.GetValue(binary), result.GetValue(format)!, Console.Out, ct);
        }, cancellationToken));
        return command;
    }

    private static Command Enable()
    {
        var host = HostArgument();
        var binary = BinaryOption("Binary of the service to enable.");
        var command = new Command("enable", "Enable a service (clears its disabled reason).") { host, binary };
        command.SetAction((result, cancellationToken) => CliDatabase.RunAsync(result, requireSchema: true, (context, ct) =>
            ServiceCli.EnableAsync(context.Repository, result.GetValue(host)!, result.GetValue(binary)!, Console.Out, Console.Error, ct),
            cancellationToken));
        return command;
    }

    private static Command Disable()
    {
        var host = HostArgument();
        var binary = BinaryOption("Binary of the service to disable.");
        var reason = new Option<string?>("--reason") { Description = "Why the service is disabled (1 to 255 characters).", HelpName = "TEXT" };
        var command = new Command("disable", "Disable a service: the scheduler stops placing instances on it.") { host, binary, reason };
        command.SetAction((result, cancellationToken) => CliDatabase.RunAsync(result, requireSchema: true, (context, ct) =>
            ServiceCli.DisableAsync(context.Repository, result.GetValue(host)!, result.GetValue(binary)!, result.GetValue(reason),
                Console.Out, Console.Error, ct),
            cancellationToken));
        return command;
    }

    private static Command ForceDown()
    {
        var host = HostArgument();
        var binary = BinaryOption("Binary of the service.");
        var unset = new Option<bool>("--unset") { Description = "Clear forced_down instead of setting it." };
        var command = new Command("force-down",
            "Mark a service down whatever its heartbeats say (fencing before evacuation); --unset clears it.") { host, binary, unset };
        command.SetAction((result, cancellationToken) => CliDatabase.RunAsync(result, requireSchema: true, (context, ct) =>
            ServiceCli.ForceDownAsync(context.Repository, result.GetValue(host)!, result.GetValue(binary)!, result.GetValue(unset),
                Console.Out, Console.Error, ct),
            cancellationToken));
        return command;
    }

    private static Command Delete()
    {
        var host = HostArgument();
        var binary = BinaryOption("Binary of the service to delete.");
        var command = new Command("delete",
            "Soft-delete a service record (and a compute's compute nodes). A running service recreates its record at its next heartbeat.") { host, binary };
        command.SetAction((result, cancellationToken) => CliDatabase.RunAsync(result, requireSchema: true, (context, ct) =>
            ServiceCli.DeleteAsync(context.Repository, result.GetValue(host)!, result.GetValue(binary)!, Console.Error, ct),
            cancellationToken));
        return command;
    }

    private sealed class StaticSettings(ServiceGroupSettings settings) : IServiceGroupSettingsSource
    {
        public ServiceGroupSettings Current => settings;

        public event Action? Changed
        {
            add { }
            remove { }
        }
    }
}

/// <summary>
/// What a record subcommand works with: the repositories of the configured store (the database in
/// direct mode, nova-conductor in conductor mode); <see cref="Factory"/> only in direct mode.
/// </summary>
internal sealed record CliDatabaseContext(Config.NovaConfig Config, IDbConnectionFactory? Factory, IServiceRepository Repository,
    IComputeNodeRepository Nodes);

/// <summary>
/// The shared frame of the record subcommands: load the configuration as the daemon does, open
/// the configured store (the database, or in conductor mode an RPC client of nova-conductor), and
/// turn every way that can fail into one line on stderr and a status.
/// </summary>
internal static class CliDatabase
{
    /// <summary>Seconds before a subcommand gives up on an unresponsive database or conductor.</summary>
    private const int CommandTimeoutSeconds = 15;

    public static async Task<int> RunAsync(ParseResult result, bool requireSchema,
        Func<CliDatabaseContext, CancellationToken, Task<int>> action, CancellationToken cancellationToken, bool requireDatabase = false)
    {
        var config = ConfigCommands.Load(NovaCommandLine.ReadConfigArguments(result), Console.Error);
        if (config is null)
        {
            return ExitCodes.Config;
        }
        return await RunAsync(config, requireSchema, action, Console.Error, cancellationToken, requireDatabase).ConfigureAwait(false);
    }

    internal static async Task<int> RunAsync(Config.NovaConfig config, bool requireSchema,
        Func<CliDatabaseContext, CancellationToken, Task<int>> action, TextWriter error, CancellationToken cancellationToken,
        bool requireDatabase = false)
    {
        if (DatabaseOptions.Mode(config) == DatabaseMode.Conductor)
        {
            if (requireDatabase)
            {
                await error.WriteLineAsync("nova-compute: error: this command manages a database of this node's own, and the " +
                    "configuration has no [database] connection (conductor mode): nova-conductor's database is managed with " +
                    "`nova-manage db sync` on a controller").ConfigureAwait(false);
                return ExitCodes.Config;
            }
            return await RunThroughConductorAsync(config, action, error, cancellationToken).ConfigureAwait(false);
        }
        DatabaseUrl url;
        try
        {
            url = DatabaseOptions.Url(config);
        }
        catch (FormatException ex)
        {
            await error.WriteLineAsync($"nova-compute: error: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.Config;
        }
        if (requireSchema && url.SqlitePath is { } path && !File.Exists(path))
        {
            // Do not create an empty database as a side effect of a read.
            await error.WriteLineAsync($"nova-compute: error: the database {url} does not exist (run `nova-compute db sync` to create it)").ConfigureAwait(false);
            return ExitCodes.Failure;
        }
        await using var factory = new DbConnectionFactory(url, DatabaseOptions.Settings(config) with { CommandTimeoutSeconds = CommandTimeoutSeconds });
        try
        {
            if (requireSchema)
            {
                var version = await new SchemaMigrator(factory, NullLogger<SchemaMigrator>.Instance).CurrentVersionAsync(cancellationToken).ConfigureAwait(false);
                if (version == 0)
                {
                    await error.WriteLineAsync($"nova-compute: error: the database {url} has no services schema (run `nova-compute db sync`)").ConfigureAwait(false);
                    return ExitCodes.Failure;
                }
            }
            return await action(new CliDatabaseContext(config, factory, new ServiceRepository(factory), new ComputeNodeRepository(factory)),
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SchemaTooNewException || DatabaseError.IsUnavailable(ex, cancellationToken))
        {
            // A write that did not reach the database is a failure with its cause, never a success (issue 14).
            await error.WriteLineAsync($"nova-compute: error: {DatabaseError.Describe(ex, url)}").ConfigureAwait(false);
            return ExitCodes.Failure;
        }
    }

    /// <summary>
    /// Conductor mode: the same commands through nova-conductor's remotable <c>Service</c>,
    /// <c>ServiceList</c> and <c>ComputeNodeList</c> methods (what nova-api and nova-manage run
    /// against the database, run by the conductor for us).
    /// </summary>
    private static async Task<int> RunThroughConductorAsync(Config.NovaConfig config,
        Func<CliDatabaseContext, CancellationToken, Task<int>> action, TextWriter error, CancellationToken cancellationToken)
    {
        Objects.ObjectRegistry.RegisterAll();
        var rabbit = Messaging.MessagingSettingsFactory.Rabbit(config, "nova-compute-cli");
        await using var transport = new Messaging.RabbitTransport(rabbit, NullLoggerFactory.Instance, TimeProvider.System);
        await using var waiter = new Messaging.Rpc.RpcReplyWaiter(transport, NullLogger<Messaging.Rpc.RpcReplyWaiter>.Instance);
        var client = new Messaging.Rpc.RpcClient(waiter, new Messaging.Rpc.RpcTarget { Topic = Conductor.ConductorApi.Topic },
            new Messaging.Rpc.RpcClientSettings { RpcResponseTimeout = TimeSpan.FromSeconds(CommandTimeoutSeconds) },
            Messaging.Rpc.NovaObjectRpcSerializer.Instance);
        var conductor = new Conductor.ConductorApi(client, Messaging.Rpc.RequestContext.AdminContext());
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // Connecting to the broker retries by itself; a command must end.
        deadline.CancelAfter(TimeSpan.FromSeconds(2 * CommandTimeoutSeconds));
        var where = $"nova-conductor (topic '{Conductor.ConductorApi.Topic}' at {rabbit.TransportUrl})";
        try
        {
            return await action(new CliDatabaseContext(config, null, new Conductor.ConductorServiceRepository(conductor, TimeProvider.System),
                new Conductor.ConductorComputeNodeRepository(conductor)), deadline.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or IOException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            await error.WriteLineAsync($"nova-compute: error: {where} did not answer: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.Failure;
        }
        catch (Messaging.Rpc.RemoteException ex)
        {
            await error.WriteLineAsync($"nova-compute: error: {where} refused: {ex.QualifiedName}: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.Failure;
        }
        catch (Conductor.ConductorReplyException ex)
        {
            await error.WriteLineAsync($"nova-compute: error: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.Failure;
        }
    }
}
