using Microsoft.Extensions.Logging;
using NovaCompute.Db;
using NovaCompute.ServiceGroup;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.ServiceGroup;

[TestFixture(DatabaseDialect.Sqlite)]
[TestFixture(DatabaseDialect.PostgreSql)]
internal sealed class ServiceRegistrarTests(DatabaseDialect dialect) : DatabaseFixture(dialect)
{
    private static readonly ServiceIdentity Identity = new("compute-01", "nova-compute", "compute");
    private LogCollector _logs = null!;

    [SetUp]
    public async Task SetUp()
    {
        _logs = new LogCollector();
    }

    private ServiceRegistrar Registrar(RegistrationSettings? settings = null, IServiceRepository? repository = null) =>
        new(repository ?? Database.Repository, Identity, settings ?? new RegistrationSettings(), _logs.CreateLogger<ServiceRegistrar>());

    [Test]
    public async Task RegisterAsync_NoRecord_CreatesOneWithNovasInitialValues()
    {
        var record = await Registrar().RegisterAsync(CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(record.Host, Is.EqualTo("compute-01"));
            Assert.That(record.Binary, Is.EqualTo("nova-compute"));
            Assert.That(record.Topic, Is.EqualTo("compute"));
            Assert.That(record.ReportCount, Is.Zero);
            Assert.That(record.Deleted, Is.Zero);
            Assert.That(record.Version, Is.EqualTo(64));
            Assert.That(record.Disabled, Is.False);
            Assert.That(Guid.TryParse(record.Uuid, out _), Is.True);
        });
    }

    [Test]
    public async Task RegisterAsync_ExistingCurrentRecord_ReusesItUntouched()
    {
        var first = await Registrar().RegisterAsync(CancellationToken.None);
        var second = await Registrar().RegisterAsync(CancellationToken.None);
        Assert.That(second, Is.EqualTo(first));
        Assert.That(await Database.ScalarAsync<long>("SELECT COUNT(*) FROM services"), Is.EqualTo(1));
    }

    [Test]
    public async Task RegisterAsync_OlderRecord_RaisesTheVersionAndLogsIt()
    {
        await Database.InsertServiceAsync("compute-01", "nova-compute", DateTime.UtcNow, null, version: 61);
        var record = await Registrar().RegisterAsync(CancellationToken.None);
        Assert.That(record.Version, Is.EqualTo(64));
        Assert.That(_logs.Messages(LogLevel.Information), Does.Contain("Updating service version for nova-compute on compute-01 from 61 to 64"));
    }

    [Test]
    public async Task RegisterAsync_EnableNewServicesFalse_CreatesTheComputeDisabledWithNovasReason()
    {
        var record = await Registrar(new RegistrationSettings { EnableNewServices = false }).RegisterAsync(CancellationToken.None);
        Assert.That(record.Disabled, Is.True);
        Assert.That(record.DisabledReason, Is.EqualTo("New compute service disabled due to config option."));
    }

    [Test]
    public async Task RegisterAsync_TooOldComputeInTheCell_Refuses()
    {
        await Database.InsertServiceAsync("old-compute", "nova-compute", DateTime.UtcNow, null, version: 57);
        var ex = Assert.ThrowsAsync<TooOldComputeServiceException>(() => Registrar().RegisterAsync(CancellationToken.None));
        Assert.That(ex!.Message, Is.EqualTo(
            "Current Nova version does not support computes older than Yoga but the minimum compute service level in your cell is 57 and the oldest supported service level is 61."));
        Assert.That(await Database.Repository.GetByHostAndBinaryAsync("compute-01", "nova-compute", CancellationToken.None), Is.Null);
    }

    [Test]
    public async Task RegisterAsync_TooOldComputeWithFfuWorkaround_WarnsAndRegisters()
    {
        await Database.InsertServiceAsync("old-compute", "nova-compute", DateTime.UtcNow, null, version: 57);
        var record = await Registrar(new RegistrationSettings { DisableComputeServiceCheckForFfu = true }).RegisterAsync(CancellationToken.None);
        Assert.That(record.Id, Is.GreaterThan(0));
        Assert.That(_logs.Messages(LogLevel.Warning).Single(), Does.StartWith("Current Nova version does not support computes older than Yoga"));
    }

    [Test]
    public async Task RegisterAsync_DeploymentAlreadyNewer_ThrowsServiceTooOld()
    {
        await Database.InsertServiceAsync("compute-02", "nova-compute", DateTime.UtcNow, null, version: 70);
        var ex = Assert.ThrowsAsync<ServiceTooOldException>(() => Registrar().RegisterAsync(CancellationToken.None));
        Assert.That(ex!.Message, Is.EqualTo("This service is older (v64) than the minimum (v70) version of the rest of the deployment. Unable to continue."));
    }

    [Test]
    public async Task RegisterAsync_TwoProcessesAtOnce_EndWithOneRowBothUse()
    {
        for (var round = 0; round < 5; round++)
        {
            await Database.ExecuteAsync("DELETE FROM services");
            var a = new ServiceRepository(Database.NewFactory());
            var b = new ServiceRepository(Database.NewFactory());
            using var start = new Barrier(2);
            var results = await Task.WhenAll(
                Task.Run(() => { start.SignalAndWait(); return Registrar(repository: a).RegisterAsync(CancellationToken.None); }),
                Task.Run(() => { start.SignalAndWait(); return Registrar(repository: b).RegisterAsync(CancellationToken.None); }));

            Assert.That(results[0].Id, Is.EqualTo(results[1].Id), $"round {round}");
            Assert.That(await Database.ScalarAsync<long>("SELECT COUNT(*) FROM services"), Is.EqualTo(1), $"round {round}");
        }
    }

    [Test]
    public async Task CreateAsync_SiblingCreatedItFirst_ReadsTheSiblingsRow()
    {
        var sibling = await Database.Repository.CreateAsync(new NewService("compute-01", "nova-compute", "compute", 64), CancellationToken.None);
        var record = await Registrar().CreateAsync(CancellationToken.None);
        Assert.That(record.Id, Is.EqualTo(sibling.Id));
    }

    [Test]
    public async Task CreateAsync_SameTopicUnderAnotherBinary_Throws()
    {
        await Database.Repository.CreateAsync(new NewService("compute-01", "nova-compute-other", "compute", 64), CancellationToken.None);
        Assert.ThrowsAsync<ServiceTopicExistsException>(() => Registrar().CreateAsync(CancellationToken.None));
    }
}
