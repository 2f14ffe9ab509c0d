using Microsoft.Data.Sqlite;
using NovaCompute.Db;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Db;

/// <summary>
/// SQLite on a filesystem with no space left (a real full tmpfs): a write that did not reach the
/// file must throw, never come back as if it had happened (issue 14, item 1).
/// </summary>
internal sealed class ServiceRepositoryDiskFullTests
{
    private static readonly CancellationToken None = CancellationToken.None;
    private FullDisk? _disk;
    private TestDatabase? _database;

    private FullDisk Disk => _disk!;

    private ServiceRepository Repository => _database!.Repository;

    [SetUp]
    public async Task MountAndCreate()
    {
        _disk = await FullDisk.MountAsync();
        _database = await TestDatabase.CreateAsync(DatabaseDialect.Sqlite, sqliteDirectory: _disk.Directory);
    }

    [TearDown]
    public async Task Unmount()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
        if (_disk is not null)
        {
            await _disk.DisposeAsync();
        }
    }

    [Test]
    public async Task ReportStateAsync_DiskFull_ThrowsAndTheCountStaysThenCountsAgainOnceFreed()
    {
        var created = await Repository.CreateAsync(new NewService("compute-01", "nova-compute", "compute", 64), None);
        Assert.That((await Repository.ReportStateAsync(created.Id, None))!.ReportCount, Is.EqualTo(1));
        Disk.Fill();

        var ex = Assert.CatchAsync<SqliteException>(() => Repository.ReportStateAsync(created.Id, None));
        Assert.That(ex!.SqliteErrorCode, Is.EqualTo(13), $"SQLITE_FULL expected, got: {ex.Message}");
        Assert.That((await Repository.GetByIdAsync(created.Id, None))!.ReportCount, Is.EqualTo(1));

        Disk.Free();
        Assert.That((await Repository.ReportStateAsync(created.Id, None))!.ReportCount, Is.EqualTo(2));
        Assert.That((await Repository.GetByIdAsync(created.Id, None))!.ReportCount, Is.EqualTo(2));
    }

    [Test]
    public async Task SetDisabledAsync_DiskFull_ThrowsAndTheRowIsUnchanged()
    {
        var created = await Repository.CreateAsync(new NewService("compute-01", "nova-compute", "compute", 64), None);
        Disk.Fill();

        var ex = Assert.CatchAsync<SqliteException>(() => Repository.SetDisabledAsync(created.Id, true, "maintenance", None));
        Assert.That(ex!.SqliteErrorCode, Is.EqualTo(13), $"SQLITE_FULL expected, got: {ex.Message}");
        var stored = await Repository.GetByIdAsync(created.Id, None);
        Assert.That(stored!.Disabled, Is.False);
        Assert.That(stored.DisabledReason, Is.Null);
    }

    [Test]
    public async Task EveryWrite_DiskFull_Throws()
    {
        var created = await Repository.CreateAsync(new NewService("compute-01", "nova-compute", "compute", 64), None);
        Disk.Fill();

        Assert.Multiple(() =>
        {
            Assert.CatchAsync<SqliteException>(() => Repository.CreateAsync(new NewService("compute-02", "nova-compute", "compute", 64), None), "create");
            Assert.CatchAsync<SqliteException>(() => Repository.UpdateVersionAsync(created.Id, 65, None), "version");
            Assert.CatchAsync<SqliteException>(() => Repository.SetForcedDownAsync(created.Id, true, None), "forced down");
            Assert.CatchAsync<SqliteException>(() => Repository.DestroyAsync(created.Id, None), "destroy");
        });
        var stored = await Repository.GetByIdAsync(created.Id, None);
        Assert.That(stored!.Version, Is.EqualTo(64));
        Assert.That(stored.ForcedDown, Is.False);
        Assert.That((await Repository.ListAsync(null, null, None)).Services, Has.Count.EqualTo(1));
    }
}
