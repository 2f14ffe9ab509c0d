using System.CommandLine;
using Microsoft.Extensions.Logging.Abstractions;
using NovaCompute.Db;

namespace NovaCompute.Cli;

/// <summary><c>nova-compute db sync|version</c>: the schema outside a daemon start (nova-manage db sync's role).</summary>
public static class DbCommands
{
    public static Command Build()
    {
        var command = new Command("db", "Manage the services database schema.");
        var sync = new Command("sync", "Create or upgrade the database schema. Safe to run while daemons start or run.");
        sync.SetAction((result, cancellationToken) => CliDatabase.RunAsync(result, requireSchema: false,
            (context, ct) => SyncAsync(context.Factory!, Console.Out, ct), cancellationToken, requireDatabase: true));
        var version = new Command("version", "Print the schema version of the database.");
        version.SetAction((result, cancellationToken) => CliDatabase.RunAsync(result, requireSchema: false,
            (context, ct) => VersionAsync(context.Factory!, Console.Out, ct), cancellationToken, requireDatabase: true));
        command.Subcommands.Add(sync);
        command.Subcommands.Add(version);
        return command;
    }

    internal static async Task<int> SyncAsync(IDbConnectionFactory factory, TextWriter output, CancellationToken cancellationToken)
    {
        var migrator = new SchemaMigrator(factory, NullLogger<SchemaMigrator>.Instance);
        var before = await migrator.CurrentVersionAsync(cancellationToken).ConfigureAwait(false);
        var after = await migrator.MigrateAsync(cancellationToken).ConfigureAwait(false);
        await output.WriteLineAsync(before == after
            ? $"Database {factory.Url} is up to date (schema version {after})."
            : $"Database {factory.Url} upgraded from schema version {before} to {after}.").ConfigureAwait(false);
        return ExitCodes.Ok;
    }

    internal static async Task<int> VersionAsync(IDbConnectionFactory factory, TextWriter output, CancellationToken cancellationToken)
    {
        var version = await new SchemaMigrator(factory, NullLogger<SchemaMigrator>.Instance).CurrentVersionAsync(cancellationToken).ConfigureAwait(false);
        await output.WriteLineAsync(version.ToString(System.Globalization.CultureInfo.InvariantCulture)).ConfigureAwait(false);
        return ExitCodes.Ok;
    }
}
