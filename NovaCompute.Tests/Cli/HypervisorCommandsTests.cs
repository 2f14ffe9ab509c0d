using System.Text.Json;
using NovaCompute.Cli;
using NovaCompute.Db;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Cli;

[TestFixture(DatabaseDialect.Sqlite)]
[TestFixture(DatabaseDialect.PostgreSql)]
internal sealed class HypervisorCommandsTests(DatabaseDialect dialect)
{
    private TestDatabase? _database;

    [SetUp]
    public async Task SetUp() => _database = await TestDatabase.CreateAsync(dialect);

    [TearDown]
    public async Task TearDown()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    private static ComputeNodeValues Node(string host) => new()
    {
        Host = host,
        HypervisorHostname = host + ".example",
        Vcpus = 8,
        VcpusUsed = 1,
        MemoryMb = 16000,
        MemoryMbUsed = 512,
        LocalGb = 100,
        LocalGbUsed = 3,
        HypervisorType = "linux",
        HypervisorVersion = 6008000,
        CpuInfo = "{}",
        DiskAvailableLeast = 40,
        RunningVms = 0,
        HostIp = "192.0.2.7",
    };

    [Test]
    public async Task List_HostFilter_ShowsThatNodesResources()
    {
        var repository = new ComputeNodeRepository(_database!.Factory);
        var a = await repository.CreateAsync(Guid.NewGuid().ToString(), Node("a"), CancellationToken.None);
        await repository.CreateAsync(Guid.NewGuid().ToString(), Node("b"), CancellationToken.None);

        var table = new StringWriter();
        await HypervisorCommands.ListAsync(repository, "a", "table", table, CancellationToken.None);
        Assert.That(table.ToString(), Does.Contain($"| {a.Uuid} | a.example           | a    | linux           | 192.0.2.7 | 1          | 8     | 512            | 16000     | 3             | 100      | 40                   | 0           |"));
        Assert.That(table.ToString(), Does.Not.Contain("b.example"));

        var json = new StringWriter();
        await HypervisorCommands.ListAsync(repository, null, "json", json, CancellationToken.None);
        using var doc = JsonDocument.Parse(json.ToString());
        Assert.That(doc.RootElement.EnumerateArray().Select(e => e.GetProperty("hypervisor_hostname").GetString()), Is.EqualTo(new[] { "a.example", "b.example" }));
        Assert.That(doc.RootElement[0].GetProperty("memory_mb").GetInt32(), Is.EqualTo(16000));
    }
}
