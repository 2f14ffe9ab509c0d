using Dapper;
using NovaCompute.Db;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Db;

public class DbConnectionFactoryTests
{
    [Test]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task OpenAsync_NewSqliteFile_CreatesItOwnerOnlyInWalMode()
    {
        var directory = Directory.CreateTempSubdirectory("nova-factory-").FullName;
        try
        {
            var path = Path.Combine(directory, "state", "nova.sqlite");
            await using (var factory = new DbConnectionFactory(DatabaseUrl.Parse("sqlite:///" + path)))
            {
                await using var connection = await factory.OpenAsync(CancellationToken.None);
                Assert.That(await connection.ExecuteScalarAsync<string>("PRAGMA journal_mode"), Is.EqualTo("wal"));
                Assert.That(await connection.ExecuteScalarAsync<long>("PRAGMA busy_timeout"), Is.EqualTo(10_000));
            }
            Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public async Task OpenAsync_InMemory_SharesOneDatabaseAcrossConnections()
    {
        await using var factory = new DbConnectionFactory(DatabaseUrl.Parse("sqlite://"));
        await using (var first = await factory.OpenAsync(CancellationToken.None))
        {
            await first.ExecuteAsync("CREATE TABLE t (x INTEGER)");
        }
        await using var second = await factory.OpenAsync(CancellationToken.None);
        Assert.That(await second.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM t"), Is.Zero);
    }

    [Test]
    public async Task OpenAsync_InMemoryFactories_DoNotSeeEachOther()
    {
        await using var a = new DbConnectionFactory(DatabaseUrl.Parse("sqlite://"));
        await using var b = new DbConnectionFactory(DatabaseUrl.Parse("sqlite://"));
        await using (var ca = await a.OpenAsync(CancellationToken.None))
        {
            await ca.ExecuteAsync("CREATE TABLE only_in_a (x INTEGER)");
        }
        await using var cb = await b.OpenAsync(CancellationToken.None);
        Assert.That(await cb.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM sqlite_master WHERE name = 'only_in_a'"), Is.Zero);
    }

    [Test]
    public async Task OpenAsync_UnreachablePostgres_FailsWithinTheConnectTimeout()
    {
        await using var factory = new DbConnectionFactory(DatabaseUrl.Parse("postgresql://nova:pw@127.0.0.1:1/nova?connect_timeout=2"));
        Assert.That(async () => await factory.OpenAsync(CancellationToken.None), Throws.InstanceOf<Exception>());
    }

    [Test]
    public async Task OpenAsync_Postgres_UsesTheSearchPath()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseDialect.PostgreSql, migrate: false);
        await using var connection = await database.Factory.OpenAsync(CancellationToken.None);
        Assert.That(await connection.ExecuteScalarAsync<string>("SELECT current_schema()"), Is.EqualTo(database.Schema));
    }
}
