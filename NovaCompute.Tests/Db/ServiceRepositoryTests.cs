using NovaCompute.Db;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Db;

[TestFixture(DatabaseDialect.Sqlite)]
[TestFixture(DatabaseDialect.PostgreSql)]
internal sealed class ServiceRepositoryTests(DatabaseDialect dialect) : DatabaseFixture(dialect)
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Test]
    public async Task CreateAsync_NewService_StoresNovasInitialValuesStampedByTheDatabase()
    {
        var before = await Database.NowAsync();
        var created = await Repository.CreateAsync(new NewService("compute-01", "nova-compute", "compute", 64), None);
        var after = await Database.NowAsync();

        Assert.Multiple(() =>
        {
            Assert.That(created.Id, Is.GreaterThan(0));
            Assert.That(Guid.TryParse(created.Uuid, out _), Is.True);
            Assert.That(created.Host, Is.EqualTo("compute-01"));
            Assert.That(created.Binary, Is.EqualTo("nova-compute"));
            Assert.That(created.Topic, Is.EqualTo("compute"));
            Assert.That(created.ReportCount, Is.Zero);
            Assert.That(created.Deleted, Is.Zero);
            Assert.That(created.Version, Is.EqualTo(64));
            Assert.That(created.Disabled, Is.False);
            Assert.That(created.ForcedDown, Is.False);
            Assert.That(created.LastSeenUp, Is.Null);
            Assert.That(created.UpdatedAt, Is.Null);
            Assert.That(created.CreatedAt, Is.InRange(before, after));
        });
    }

    [Test]
    public async Task CreateAsync_SameHostAndBinaryTwice_ThrowsServiceBinaryExists()
    {
        await Repository.CreateAsync(new NewService("compute-01", "nova-compute", "compute", 64), None);
        var ex = Assert.ThrowsAsync<ServiceBinaryExistsException>(() =>
            Repository.CreateAsync(new NewService("compute-01", "nova-compute", "compute", 64), None));
        Assert.That(ex!.Message, Is.EqualTo("Service with host compute-01 binary nova-compute exists."));
    }

    [Test]
    public async Task CreateAsync_SameHostAndTopicOtherBinary_ThrowsServiceTopicExists()
    {
        await Repository.CreateAsync(new NewService("compute-01", "nova-compute", "compute", 64), None);
        var ex = Assert.ThrowsAsync<ServiceTopicExistsException>(() =>
            Repository.CreateAsync(new NewService("compute-01", "nova-compute-ironic", "compute", 64), None));
        Assert.That(ex!.Message, Is.EqualTo("Service with host compute-01 topic compute exists."));
    }

    [Test]
    public async Task GetByHostAndBinaryAsync_MissingOrSoftDeleted_ReturnsNull()
    {
        Assert.That(await Repository.GetByHostAndBinaryAsync("compute-01", "nova-compute", None), Is.Null);
        var created = await Repository.CreateAsync(new NewService("compute-01", "nova-compute", "compute", 64), None);
        Assert.That((await Repository.GetByHostAndBinaryAsync("compute-01", "nova-compute", None))?.Id, Is.EqualTo(created.Id));
        await Repository.DestroyAsync(created.Id, None);
        Assert.That(await Repository.GetByHostAndBinaryAsync("compute-01", "nova-compute", None), Is.Null);
    }

    [Test]
    public async Task ReportStateAsync_EachBeat_IncrementsCountAndStampsBothColumnsWithTheDatabaseClock()
    {
        var created = await Repository.CreateAsync(new NewService("compute-01", "nova-compute", "compute", 64), None);

        var before = await Database.NowAsync();
        var first = await Repository.ReportStateAsync(created.Id, None);
        var second = await Repository.ReportStateAsync(created.Id, None);
        var after = await Database.NowAsync();

        Assert.That(first!.ReportCount, Is.EqualTo(1));
        Assert.That(second!.ReportCount, Is.EqualTo(2));
        Assert.That(second.LastSeenUp, Is.EqualTo(second.UpdatedAt));
        Assert.That(second.LastSeenUp, Is.InRange(before, after));
        var stored = await Repository.GetByIdAsync(created.Id, None);
        Assert.That(stored!.ReportCount, Is.EqualTo(2));
        Assert.That(stored.LastSeenUp, Is.EqualTo(second.LastSeenUp));
    }

    [Test]
    public async Task ReportStateAsync_RowDeleted_ReturnsNull()
    {
        var created = await Repository.CreateAsync(new NewService("compute-01", "nova-compute", "compute", 64), None);
        await Repository.DestroyAsync(created.Id, None);
        Assert.That(await Repository.ReportStateAsync(created.Id, None), Is.Null);
    }

    [Test]
    public async Task ReportStatesAsync_ManyRowsOneStatement_EachCountedOnceDeletedAndUnknownLeftOut()
    {
        var rows = new List<ServiceRecord>();
        for (var i = 0; i < 120; i++)
        {
            rows.Add(await Repository.CreateAsync(new NewService($"compute-{i:000}", "nova-compute", "compute", 64), None));
        }
        await Repository.DestroyAsync(rows[7].Id, None);
        var untouched = rows[^1];
        int[] ids = [.. rows.SkipLast(1).Select(r => r.Id), 999_999];

        var before = await Database.NowAsync();
        var first = await Repository.ReportStatesAsync(ids, None);
        var second = await Repository.ReportStatesAsync(ids, None);
        var after = await Database.NowAsync();

        Assert.That(first.Keys, Is.EquivalentTo(rows.SkipLast(1).Where(r => r.Id != rows[7].Id).Select(r => r.Id)));
        Assert.That(second.Values.Select(s => s.ReportCount), Is.All.EqualTo(2));
        Assert.That(second.Values.Select(s => s.LastSeenUp), Is.All.InRange(before, after));
        var stored = await Repository.GetByIdAsync(rows[3].Id, None);
        Assert.That(stored!.ReportCount, Is.EqualTo(2));
        Assert.That(stored.LastSeenUp, Is.EqualTo(second[rows[3].Id].LastSeenUp));
        Assert.That((await Repository.GetByIdAsync(untouched.Id, None))!.ReportCount, Is.EqualTo(0));
        Assert.That(await Repository.ReportStatesAsync([], None), Is.Empty);
    }

    [Test]
    public async Task ListAsync_Filters_ReturnMatchingLiveRowsInIdOrderWithTheDatabaseClock()
    {
        var a = await Repository.CreateAsync(new NewService("h1", "nova-compute", "compute", 64), None);
        var b = await Repository.CreateAsync(new NewService("h1", "nova-conductor", "conductor", 64), None);
        var c = await Repository.CreateAsync(new NewService("h2", "nova-compute", "compute", 64), None);
        var gone = await Repository.CreateAsync(new NewService("h3", "nova-compute", "compute", 64), None);
        await Repository.DestroyAsync(gone.Id, None);

        var all = await Repository.ListAsync(null, null, None);
        var h1 = await Repository.ListAsync("h1", null, None);
        var computes = await Repository.ListAsync(null, "nova-compute", None);
        var one = await Repository.ListAsync("h1", "nova-conductor", None);
        var none = await Repository.ListAsync("nowhere", null, None);

        Assert.That(all.Services.Select(s => s.Id), Is.EqualTo(new[] { a.Id, b.Id, c.Id }));
        Assert.That(h1.Services.Select(s => s.Id), Is.EqualTo(new[] { a.Id, b.Id }));
        Assert.That(computes.Services.Select(s => s.Id), Is.EqualTo(new[] { a.Id, c.Id }));
        Assert.That(one.Services.Select(s => s.Id), Is.EqualTo(new[] { b.Id }));
        Assert.That(none.Services, Is.Empty);
        Assert.That(none.DatabaseNow, Is.GreaterThanOrEqualTo(a.CreatedAt!.Value));
        Assert.That(all.DatabaseNow, Is.GreaterThanOrEqualTo(c.CreatedAt!.Value));
    }

    [Test]
    public async Task SetDisabledAsync_DisableThenEnable_SetsAndClearsTheReason()
    {
        var created = await Repository.CreateAsync(new NewService("h1", "nova-compute", "compute", 64), None);
        var disabled = await Repository.SetDisabledAsync(created.Id, true, "maintenance", None);
        Assert.That(disabled!.Disabled, Is.True);
        Assert.That(disabled.DisabledReason, Is.EqualTo("maintenance"));
        Assert.That(disabled.UpdatedAt, Is.Not.Null);
        var enabled = await Repository.SetDisabledAsync(created.Id, false, "ignored", None);
        Assert.That(enabled!.Disabled, Is.False);
        Assert.That(enabled.DisabledReason, Is.Null);
    }

    [Test]
    public async Task SetForcedDownAsync_SetAndUnset_RoundTrips()
    {
        var created = await Repository.CreateAsync(new NewService("h1", "nova-compute", "compute", 64), None);
        Assert.That((await Repository.SetForcedDownAsync(created.Id, true, None))!.ForcedDown, Is.True);
        Assert.That((await Repository.SetForcedDownAsync(created.Id, false, None))!.ForcedDown, Is.False);
        Assert.That(await Repository.SetForcedDownAsync(created.Id + 1000, true, None), Is.Null);
    }

    [Test]
    public async Task DestroyAsync_Compute_SoftDeletesRowAndItsNodesKeepingUpdatedAt()
    {
        var created = await Repository.CreateAsync(new NewService("h1", "nova-compute", "compute", 64), None);
        await Repository.ReportStateAsync(created.Id, None);
        var updatedAt = (await Repository.GetByIdAsync(created.Id, None))!.UpdatedAt;
        await Database.ExecuteAsync(
            "INSERT INTO compute_nodes (host, vcpus, memory_mb, local_gb, vcpus_used, memory_mb_used, local_gb_used, hypervisor_type, hypervisor_version, cpu_info, deleted, hypervisor_hostname) " +
            "VALUES ('h1', 1, 1, 1, 0, 0, 0, 'fake', 1, '{}', 0, 'h1')");

        Assert.That(await Repository.DestroyAsync(created.Id, None), Is.True);
        Assert.That(await Repository.DestroyAsync(created.Id, None), Is.False);

        Assert.That(await Database.ScalarAsync<int>("SELECT deleted FROM services WHERE id = @id", new { id = created.Id }), Is.EqualTo(created.Id));
        Assert.That(await Database.ScalarAsync<long>("SELECT COUNT(*) FROM services WHERE id = @id AND deleted_at IS NOT NULL", new { id = created.Id }), Is.EqualTo(1));
        Assert.That(await Database.ScalarAsync<long>("SELECT COUNT(*) FROM compute_nodes WHERE deleted = id"), Is.EqualTo(1));
        var raw = await Database.ScalarAsync<DateTime>("SELECT updated_at FROM services WHERE id = @id", new { id = created.Id });
        Assert.That(raw, Is.EqualTo(updatedAt));
    }

    [Test]
    public async Task GetMinimumVersionAsync_IgnoresForcedDownAndDeletedRows()
    {
        Assert.That(await Repository.GetMinimumVersionAsync("nova-compute", None), Is.Zero);
        await Database.InsertServiceAsync("h1", "nova-compute", DateTime.UtcNow, null, version: 63);
        await Database.InsertServiceAsync("h2", "nova-compute", DateTime.UtcNow, null, version: 57, forcedDown: true);
        var old = await Database.InsertServiceAsync("h3", "nova-compute", DateTime.UtcNow, null, version: 50);
        await Repository.DestroyAsync(old, None);
        await Database.InsertServiceAsync("h4", "nova-conductor", DateTime.UtcNow, null, version: 10);

        Assert.That(await Repository.GetMinimumVersionAsync("nova-compute", None), Is.EqualTo(63));
    }

    [Test]
    public async Task UpdateVersionAsync_LiveRow_SetsIt()
    {
        var created = await Repository.CreateAsync(new NewService("h1", "nova-compute", "compute", 61), None);
        Assert.That((await Repository.UpdateVersionAsync(created.Id, 64, None))!.Version, Is.EqualTo(64));
    }
}
