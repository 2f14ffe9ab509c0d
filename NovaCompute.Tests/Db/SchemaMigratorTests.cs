using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using NovaCompute.Db;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Db;

[TestFixture(DatabaseDialect.Sqlite)]
[TestFixture(DatabaseDialect.PostgreSql)]
internal sealed class SchemaMigratorTests(DatabaseDialect dialect) : DatabaseFixture(dialect, migrate: false)
{

    private SchemaMigrator Migrator(IDbConnectionFactory? factory = null) =>
        new(factory ?? Database.Factory, NullLogger<SchemaMigrator>.Instance);

    [Test]
    public async Task MigrateAsync_EmptyDatabase_CreatesNovasTablesAndRecordsTheVersion()
    {
        Assert.That(await Migrator().CurrentVersionAsync(CancellationToken.None), Is.Zero);
        var version = await Migrator().MigrateAsync(CancellationToken.None);

        Assert.That(version, Is.EqualTo(SchemaMigrator.LatestVersion));
        Assert.That(await Migrator().CurrentVersionAsync(CancellationToken.None), Is.EqualTo(SchemaMigrator.LatestVersion));
        Assert.That(await ColumnsAsync("services"), Is.EqualTo(new[]
        {
            "created_at", "updated_at", "deleted_at", "id", "host", "binary", "topic", "report_count", "disabled",
            "deleted", "disabled_reason", "last_seen_up", "forced_down", "version", "uuid",
        }));
        Assert.That(await ColumnsAsync("compute_nodes"), Has.Count.EqualTo(34).And.Contains("mapped").And.Contains("host_ip"));
    }

    [Test]
    public async Task MigrateAsync_Twice_IsANoOp()
    {
        await Migrator().MigrateAsync(CancellationToken.None);
        await Database.InsertServiceAsync("h1", "nova-compute", DateTime.UtcNow, null);
        await Migrator().MigrateAsync(CancellationToken.None);
        Assert.That(await Database.ScalarAsync<long>("SELECT COUNT(*) FROM services"), Is.EqualTo(1));
        Assert.That(await Database.ScalarAsync<long>("SELECT COUNT(*) FROM nova_compute_migrate_version"), Is.EqualTo(1));
    }

    [Test]
    public async Task MigrateAsync_ManyStartingAtOnce_AllSucceedAndApplyOnce()
    {
        var factories = Enumerable.Range(0, 4).Select(_ => Database.NewFactory()).ToList();
        using var start = new Barrier(factories.Count);
        var runs = factories.Select(f => Task.Run(async () =>
        {
            start.SignalAndWait();
            return await Migrator(f).MigrateAsync(CancellationToken.None);
        })).ToList();

        var versions = await Task.WhenAll(runs);

        Assert.That(versions, Is.All.EqualTo(SchemaMigrator.LatestVersion));
        Assert.That(await Database.ScalarAsync<long>("SELECT COUNT(*) FROM nova_compute_migrate_version"), Is.EqualTo(SchemaMigrator.LatestVersion));
    }

    [Test]
    public async Task MigrateAsync_SchemaFromANewerBuild_Refuses()
    {
        await Migrator().MigrateAsync(CancellationToken.None);
        await Database.ExecuteAsync(
            "INSERT INTO nova_compute_migrate_version (version, description, applied_at) VALUES (999, 'future', @now)",
            new { now = Database.Timestamp(DateTime.UtcNow) });
        var ex = Assert.ThrowsAsync<SchemaTooNewException>(() => Migrator().MigrateAsync(CancellationToken.None));
        Assert.That(ex!.Message, Does.Contain("version 999"));
    }

    [Test]
    public async Task MigrateAsync_UniqueConstraints_RejectASecondLiveRowButAllowAfterSoftDelete()
    {
        await Migrator().MigrateAsync(CancellationToken.None);
        var id = await Database.InsertServiceAsync("h1", "nova-compute", DateTime.UtcNow, null);
        Assert.That(async () => await Database.InsertServiceAsync("h1", "nova-compute", DateTime.UtcNow, null), Throws.InstanceOf<System.Data.Common.DbException>());
        await Database.ExecuteAsync("UPDATE services SET deleted = id WHERE id = @id", new { id });
        Assert.That(async () => await Database.InsertServiceAsync("h1", "nova-compute", DateTime.UtcNow, null), Throws.Nothing);
    }

    private async Task<List<string>> ColumnsAsync(string table)
    {
        await using var connection = await Database.Factory.OpenAsync(CancellationToken.None);
        var sql = Dialect == DatabaseDialect.Sqlite
            ? $"SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
            : "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = @table ORDER BY ordinal_position";
        return (await connection.QueryAsync<string>(sql, new { table })).ToList();
    }
}
