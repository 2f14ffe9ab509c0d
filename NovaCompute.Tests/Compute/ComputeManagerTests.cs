using Dapper;
using Microsoft.Extensions.Logging;
using NovaCompute.Compute;
using NovaCompute.Compute.Drivers;
using NovaCompute.Db;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Compute;

/// <summary>The compute manager against a real database: the compute_nodes row and the host state.</summary>
[TestFixture(DatabaseDialect.Sqlite)]
[TestFixture(DatabaseDialect.PostgreSql)]
internal sealed class ComputeManagerTests(DatabaseDialect dialect)
{
    private const string Host = "compute-7";
    private TestDatabase? _database;
    private LogCollector _logs = null!;
    private TestConfigMonitor _config = null!;
    private FakeDriver _driver = null!;
    private ComputeManager _manager = null!;
    private int _serviceId;

    private TestDatabase Database => _database!;

    [SetUp]
    public async Task SetUp()
    {
        _logs = new LogCollector();
        _database = await TestDatabase.CreateAsync(dialect);
        _serviceId = (await Database.Repository.CreateAsync(new NewService(Host, "nova-compute", "compute", 64), CancellationToken.None)).Id;
        _config = TestConfigMonitor.With(Settings());
        _driver = new FakeDriver();
        _manager = NewManager(_driver);
        await _manager.InitHostAsync(CancellationToken.None);
    }

    private static (NovaCompute.Config.Opt, string)[] Settings(string reservedMemory = "512") =>
    [
        (ServiceOptions.Host, Host), (ComputeOptions.ComputeDriver, "fake.FakeDriver"), (ComputeOptions.MyIp, "192.0.2.10"),
        (ComputeOptions.ReservedHostMemoryMb, reservedMemory), (ComputeOptions.ReservedHostDiskMb, "2048"),
    ];

    private ComputeManager NewManager(IComputeDriver driver)
    {
        var identity = new ServiceIdentity(Host, "nova-compute", "compute");
        var tracker = new ResourceTracker(driver, new ComputeNodeRepository(Database.Factory), Database.Repository, identity, _config,
            _logs.CreateFactory().CreateLogger<ResourceTracker>());
        return new ComputeManager(driver, tracker, Database.Repository, identity, _logs.CreateFactory().CreateLogger<ComputeManager>());
    }

    [TearDown]
    public async Task TearDown()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    private async Task<IReadOnlyList<dynamic>> Rows(bool includeDeleted = false)
    {
        await using var connection = await Database.Factory.OpenAsync(CancellationToken.None);
        var hostIp = dialect == DatabaseDialect.Sqlite ? "host_ip" : "host(host_ip) AS host_ip";
        return [.. await connection.QueryAsync(
            $"SELECT id, uuid, service_id, host, hypervisor_hostname, vcpus, memory_mb, local_gb, vcpus_used, memory_mb_used, local_gb_used, " +
            $"hypervisor_type, hypervisor_version, cpu_info, disk_available_least, free_ram_mb, free_disk_gb, current_workload, running_vms, " +
            $"{hostIp}, supported_instances, pci_stats, metrics, extra_resources, stats, numa_topology, cpu_allocation_ratio, " +
            $"ram_allocation_ratio, disk_allocation_ratio, mapped, deleted, created_at, updated_at, deleted_at FROM compute_nodes" +
            (includeDeleted ? "" : " WHERE deleted = 0") + " ORDER BY id")];
    }

    [Test]
    public async Task PreStartHook_FirstRun_CreatesTheNodeRowInNovasColumns()
    {
        await _manager.PreStartHookAsync(CancellationToken.None);

        var row = (await Rows()).Single();
        Assert.That(Guid.TryParse((string)row.uuid, out _), Is.True);
        Assert.That((int)row.service_id, Is.EqualTo(_serviceId));
        Assert.That((string)row.host, Is.EqualTo(Host));
        Assert.That((string)row.hypervisor_hostname, Is.EqualTo(Host));
        Assert.That(((int)row.vcpus, (int)row.memory_mb, (int)row.local_gb), Is.EqualTo((1000, 800000, 600000)));
        // nova's tracker: used = the host reservations, free = total - used.
        Assert.That(((int)row.vcpus_used, (int)row.memory_mb_used, (int)row.local_gb_used), Is.EqualTo((0, 512, 2)));
        Assert.That(((int)row.free_ram_mb, (int)row.free_disk_gb), Is.EqualTo((800000 - 512, 600000 - 2)));
        Assert.That(((int)row.current_workload, (int)row.running_vms, (int)row.disk_available_least), Is.EqualTo((0, 0, 0)));
        Assert.That(((string)row.hypervisor_type, (int)row.hypervisor_version), Is.EqualTo(("fake", 1000)));
        Assert.That((string)row.cpu_info, Is.EqualTo(FakeDriver.FakeCpuInfo));
        Assert.That((string)row.host_ip, Is.EqualTo("192.0.2.10"));
        Assert.That((string)row.supported_instances, Is.EqualTo("""[["x86_64", "fake", "hvm"]]"""));
        Assert.That((string)row.pci_stats, Does.Contain("\"PciDevicePoolList\""));
        Assert.That(((string)row.metrics, (string)row.stats), Is.EqualTo(("[]", """{"failed_builds": "0"}""")));
        Assert.That((object?)row.extra_resources, Is.Null);
        Assert.That((object?)row.numa_topology, Is.Null);
        Assert.That(((double)row.cpu_allocation_ratio, (double)row.ram_allocation_ratio, (double)row.disk_allocation_ratio), Is.EqualTo((16.0, 1.5, 1.0)));
        Assert.That(((int)row.mapped, (int)row.deleted), Is.EqualTo((0, 0)));
        Assert.That((object?)row.created_at, Is.Not.Null);
        Assert.That((object?)row.updated_at, Is.Null);
        Assert.That(_logs.Entries.Select(e => e.Message), Does.Contain($"Compute node record created for {Host}:{Host} with uuid: {row.uuid}"));
        Assert.That(_logs.Entries.Select(e => e.Message), Does.Contain(
            $"Final resource view: name={Host} phys_ram=800000MB used_ram=512MB phys_disk=600000GB used_disk=2GB total_vcpus=1000 used_vcpus=0 pci_stats=[]"));
    }

    [Test]
    public async Task UpdateAvailableResource_NothingChanged_RowNotWritten()
    {
        await _manager.PreStartHookAsync(CancellationToken.None);
        await _manager.PreStartHookAsync(CancellationToken.None);
        var row = (await Rows()).Single();
        Assert.That((object?)row.updated_at, Is.Null);
    }

    [Test]
    public async Task UpdateAvailableResource_ReservationReloaded_RowUpdatedSameUuid()
    {
        await _manager.PreStartHookAsync(CancellationToken.None);
        var before = (await Rows()).Single();
        _config.Reload(Settings(reservedMemory: "4096"));
        await _manager.PreStartHookAsync(CancellationToken.None);
        var after = (await Rows()).Single();
        Assert.That((string)after.uuid, Is.EqualTo((string)before.uuid));
        Assert.That(((int)after.memory_mb_used, (int)after.free_ram_mb), Is.EqualTo((4096, 800000 - 4096)));
        Assert.That((object?)after.updated_at, Is.Not.Null);
        Assert.That(((double)after.cpu_allocation_ratio), Is.EqualTo(16.0));
    }

    [Test]
    public async Task UpdateAvailableResource_NodeGone_OrphanSoftDeleted()
    {
        _driver.SetNodes([Host, "second-node"]);
        await _manager.PreStartHookAsync(CancellationToken.None);
        Assert.That((await Rows()).Select(r => (string)r.hypervisor_hostname), Is.EqualTo(new[] { Host, "second-node" }));

        _driver.SetNodes([Host]);
        await _manager.PreStartHookAsync(CancellationToken.None);
        var all = await Rows(includeDeleted: true);
        var orphan = all.Single(r => (string)r.hypervisor_hostname == "second-node");
        Assert.That((int)orphan.deleted, Is.EqualTo((int)orphan.id));
        Assert.That((object?)orphan.deleted_at, Is.Not.Null);
        Assert.That((await Rows()).Select(r => (string)r.hypervisor_hostname), Is.EqualTo(new[] { Host }));
    }

    [Test]
    public async Task SetHostEnabled_DisablesAndEnablesTheServiceRecord()
    {
        Assert.That(await _manager.SetHostEnabledAsync(false, CancellationToken.None), Is.EqualTo("disabled"));
        Assert.That((await Database.Repository.GetByIdAsync(_serviceId, CancellationToken.None))!.Disabled, Is.True);
        Assert.That(await _manager.SetHostEnabledAsync(true, CancellationToken.None), Is.EqualTo("enabled"));
        Assert.That((await Database.Repository.GetByIdAsync(_serviceId, CancellationToken.None))!.Disabled, Is.False);
    }

    [Test]
    public async Task SetHostEnabled_DriverWithoutIt_StillAnswersTheState()
    {
        var dir = Directory.CreateTempSubdirectory("nova-cm-");
        try
        {
            var manager = NewManager(new HostDriver(dir.FullName));
            Assert.That(await manager.SetHostEnabledAsync(false, CancellationToken.None), Is.EqualTo("disabled"));
            Assert.That((await Database.Repository.GetByIdAsync(_serviceId, CancellationToken.None))!.Disabled, Is.True);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
