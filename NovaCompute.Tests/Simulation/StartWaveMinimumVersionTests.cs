using NovaCompute.Db;
using NovaCompute.ServiceGroup;
using NovaCompute.Simulation;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Simulation;

[TestFixture(DatabaseDialect.Sqlite)]
[TestFixture(DatabaseDialect.PostgreSql)]
internal sealed class StartWaveMinimumVersionTests(DatabaseDialect dialect) : DatabaseFixture(dialect)
{
    private const int Computes = 40;
    private readonly LogCollector _logs = new();

    private ServiceRegistrar Registrar(IServiceRepository repository, string host, StartWaveMinimumVersion? wave) =>
        new(repository, new ServiceIdentity(host, ServiceIdentity.ComputeBinary, ServiceIdentity.ComputeTopic), new RegistrationSettings(),
            _logs.CreateLogger<ServiceRegistrar>(), wave is null ? null : wave.GetAsync);

    private static Task<ServiceRecord[]> RegisterAllAsync(IEnumerable<ServiceRegistrar> registrars) =>
        Task.WhenAll(registrars.Select(r => Task.Run(() => r.RegisterAsync(CancellationToken.None))));

    [Test]
    public async Task Register_ManyComputesInOneWave_ReadTheMinimumVersionOnce()
    {
        var counted = new FaultyServiceRepository(Repository);
        var wave = new StartWaveMinimumVersion(counted);

        ServiceRecord[] records;
        using (wave.ShareDuring())
        {
            records = await RegisterAllAsync(Enumerable.Range(1, Computes).Select(i => Registrar(counted, $"wave-{i:00000}", wave)));
        }

        Assert.That(records.Select(r => r.Host).Distinct().Count(), Is.EqualTo(Computes), "every compute has its row");
        Assert.That(counted.MinimumVersionReads, Is.EqualTo(1), "raise_if_old_compute and the create check of all of them: one reading");
    }

    [Test]
    public async Task Register_WithoutTheWave_EachComputeReadsItTwice()
    {
        // What the wave saves: each compute reads at start (raise_if_old_compute) and before it creates its row.
        var counted = new FaultyServiceRepository(Repository);

        await RegisterAllAsync(Enumerable.Range(1, Computes).Select(i => Registrar(counted, $"alone-{i:00000}", wave: null)));

        Assert.That(counted.MinimumVersionReads, Is.EqualTo(2 * Computes));
    }

    [Test]
    public async Task Register_DeploymentAlreadyNewer_EveryComputeOfTheWaveRefused()
    {
        var newer = await Repository.CreateAsync(new NewService("upgraded", ServiceIdentity.ComputeBinary, ServiceIdentity.ComputeTopic,
            NovaCompute.Objects.Service.ServiceVersion + 1), CancellationToken.None);
        var counted = new FaultyServiceRepository(Repository);
        var wave = new StartWaveMinimumVersion(counted);

        using (wave.ShareDuring())
        {
            foreach (var i in Enumerable.Range(1, 5))
            {
                Assert.ThrowsAsync<ServiceTooOldException>(() => Registrar(counted, $"old-{i}", wave).RegisterAsync(CancellationToken.None));
            }
        }

        Assert.That(counted.MinimumVersionReads, Is.EqualTo(1));
        var rows = (await Repository.ListAsync(null, ServiceIdentity.ComputeBinary, CancellationToken.None)).Services;
        Assert.That(rows.Select(r => r.Id), Is.EqualTo(new[] { newer.Id }), "no row created for a refused compute");
    }

    [Test]
    public async Task GetAsync_AfterTheWave_ReadsAfreshAndSeesAnUpgradeMadeSince()
    {
        var counted = new FaultyServiceRepository(Repository);
        var wave = new StartWaveMinimumVersion(counted);
        using (wave.ShareDuring())
        {
            await RegisterAllAsync(Enumerable.Range(1, 3).Select(i => Registrar(counted, $"first-{i}", wave)));
        }
        // Every live compute upgraded meanwhile: the deployment's minimum is now above this release.
        foreach (var row in (await Repository.ListAsync(null, ServiceIdentity.ComputeBinary, CancellationToken.None)).Services)
        {
            await Repository.UpdateVersionAsync(row.Id, NovaCompute.Objects.Service.ServiceVersion + 1, CancellationToken.None);
        }

        Assert.ThrowsAsync<ServiceTooOldException>(() => Registrar(counted, "later", wave).CreateAsync(CancellationToken.None));
        Assert.That(counted.MinimumVersionReads, Is.EqualTo(2), "one for the wave, one for the later create");
    }

    [Test]
    public async Task GetAsync_ReadingFailed_NotKeptTheNextCallerReadsAgain()
    {
        var counted = new FaultyServiceRepository(Repository) { FailMinimumVersionReads = 1 };
        var wave = new StartWaveMinimumVersion(counted);
        using var sharing = wave.ShareDuring();

        Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => wave.GetAsync(ServiceIdentity.ComputeBinary, CancellationToken.None));
        var version = await wave.GetAsync(ServiceIdentity.ComputeBinary, CancellationToken.None);
        var again = await wave.GetAsync(ServiceIdentity.ComputeBinary, CancellationToken.None);

        Assert.That(version, Is.EqualTo(await Repository.GetMinimumVersionAsync(ServiceIdentity.ComputeBinary, CancellationToken.None)));
        Assert.That(again, Is.EqualTo(version));
        Assert.That(counted.MinimumVersionReads, Is.EqualTo(2), "the failed reading and one good one, shared after it");
    }

    [Test]
    public async Task GetAsync_FirstCallerCancelled_OthersStillGetTheReading()
    {
        var counted = new FaultyServiceRepository(Repository);
        var wave = new StartWaveMinimumVersion(counted);
        using var sharing = wave.ShareDuring();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        Assert.That(async () => await wave.GetAsync(ServiceIdentity.ComputeBinary, cancelled.Token), Throws.InstanceOf<OperationCanceledException>());
        var version = await wave.GetAsync(ServiceIdentity.ComputeBinary, CancellationToken.None);

        Assert.That(version, Is.EqualTo(await Repository.GetMinimumVersionAsync(ServiceIdentity.ComputeBinary, CancellationToken.None)));
        Assert.That(counted.MinimumVersionReads, Is.EqualTo(1));
    }
}
