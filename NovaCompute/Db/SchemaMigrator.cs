using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace NovaCompute.Db;

/// <summary>One schema step, written once per dialect.</summary>
internal sealed record Migration(int Version, string Description, string Sqlite, string PostgreSql);

/// <summary>
/// Brings the database schema to <see cref="LatestVersion"/>: at every daemon start and by
/// <c>nova-compute db sync</c>. Applied versions are recorded in <c>nova_compute_migrate_version</c>.
/// Safe when several processes start at once: the whole check-and-apply runs under a database-wide
/// lock (SQLite <c>BEGIN IMMEDIATE</c>, PostgreSQL <c>pg_advisory_xact_lock</c>), so the loser
/// waits, then finds nothing left to do. Tables are created <c>IF NOT EXISTS</c>, so a database
/// that nova's own migrations created is adopted as it is.
/// </summary>
internal sealed class SchemaMigrator(IDbConnectionFactory factory, ILogger<SchemaMigrator> logger)
{
    private const string VersionTable = "nova_compute_migrate_version";

    internal static IReadOnlyList<Migration> Migrations { get; } =
    [
        new(1, "services and compute_nodes (nova 8f2f1571d55b)", Schema.InitialSqlite, Schema.InitialPostgreSql),
    ];

    public static int LatestVersion => Migrations[^1].Version;

    /// <summary>Applies what is missing; returns the schema version now in place.</summary>
    /// <exception cref="SchemaTooNewException">The database was migrated by a newer nova-compute.</exception>
    public async Task<int> MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await factory.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginLockedAsync(connection, cancellationToken).ConfigureAwait(false);

        await ExecuteAsync(connection.Command(CreateVersionTable, transaction), cancellationToken).ConfigureAwait(false);
        int current;
        await using (var command = connection.Command(CurrentVersion, transaction))
        {
            current = await command.ScalarAsync<int>(cancellationToken).ConfigureAwait(false) ?? 0;
        }
        if (current > LatestVersion)
        {
            throw new SchemaTooNewException(current, LatestVersion);
        }
        foreach (var migration in Migrations.Where(m => m.Version > current))
        {
            var sql = factory.Dialect == DatabaseDialect.Sqlite ? migration.Sqlite : migration.PostgreSql;
            await ExecuteAsync(connection.Command(sql, transaction), cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection.Command(Record.For(factory.Dialect), transaction)
                .Bind("version", migration.Version).Bind("description", migration.Description), cancellationToken).ConfigureAwait(false);
            Log.MigrationApplied(logger, migration.Version, migration.Description, factory.Url.ToString());
            current = migration.Version;
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return current;
    }

    /// <summary>The schema version recorded in the database (0 when never migrated).</summary>
    public async Task<int> CurrentVersionAsync(CancellationToken cancellationToken)
    {
        await using var connection = await factory.OpenAsync(cancellationToken).ConfigureAwait(false);
        long exists;
        await using (var command = connection.Command(
            factory.Dialect == DatabaseDialect.Sqlite ? VersionTableExistsSqlite : VersionTableExistsPostgreSql))
        {
            exists = await command.ScalarAsync<long>(cancellationToken).ConfigureAwait(false) ?? 0;
        }
        if (exists == 0)
        {
            return 0;
        }
        await using var current = connection.Command(CurrentVersion);
        return await current.ScalarAsync<int>(cancellationToken).ConfigureAwait(false) ?? 0;
    }

    private static async Task ExecuteAsync(DbCommand command, CancellationToken cancellationToken)
    {
        await using (command)
        {
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private const string CreateVersionTable = $"""
        CREATE TABLE IF NOT EXISTS {VersionTable} (
            version INTEGER NOT NULL PRIMARY KEY,
            description VARCHAR(255) NOT NULL,
            applied_at TIMESTAMP NOT NULL
        )
        """;

    private const string CurrentVersion = $"SELECT COALESCE(MAX(version), 0) FROM {VersionTable}";

    private static readonly DialectSql Record =
        DialectSql.WithNow($"INSERT INTO {VersionTable} (version, description, applied_at) VALUES (@version, @description, {DialectSql.Now})");

    private const string VersionTableExistsSqlite =
        $"SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '{VersionTable}'";

    private const string VersionTableExistsPostgreSql =
        $"SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '{VersionTable}'";

    // The lock is keyed on the schema, so two databases (or two test schemas) never wait on each other.
    private const string AdvisoryLock =
        $"SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '.{VersionTable}', 0))";

    private async Task<DbTransaction> BeginLockedAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        if (connection is SqliteConnection sqlite)
        {
            // deferred: false is BEGIN IMMEDIATE: the write lock is taken now, not at the first write,
            // so two starting processes cannot both read "version 0" and both create the tables.
            return sqlite.BeginTransaction(deferred: false);
        }
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection.Command(AdvisoryLock, transaction), cancellationToken).ConfigureAwait(false);
        return transaction;
    }
}

/// <summary>The database holds a schema newer than this build understands.</summary>
internal sealed class SchemaTooNewException(int found, int known)
    : Exception($"The database schema is at version {found}, newer than this nova-compute knows ({known}); refusing to use it.")
{
    public int Found { get; } = found;
    public int Known { get; } = known;
}
