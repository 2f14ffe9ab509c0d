using NovaCompute.Cli;
using NovaCompute.Config;
using NovaCompute.Db;
using NovaCompute.ServiceGroup;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Cli;

[TestFixture(DatabaseDialect.Sqlite)]
[TestFixture(DatabaseDialect.PostgreSql)]
internal sealed class CliDatabaseTests(DatabaseDialect dialect) : DatabaseFixture(dialect)
{
    private static readonly CancellationToken None = CancellationToken.None;
    private StringWriter _err = new();

    [SetUp]
    public async Task SetUp()
    {
        _err = new StringWriter { NewLine = "\n" };
    }

    [Test]
    public async Task RunAsync_UnreachableDatabase_OneLineErrorWithoutPassword()
    {
        var config = NovaConfig.FromValues(DatabaseOptions.All,
            new Dictionary<Opt, string> { [DatabaseOptions.Connection] = "postgresql://nova:s3cret@127.0.0.1:1/nova?connect_timeout=2" });
        var status = await CliDatabase.RunAsync(config, requireSchema: true, (_, _) => Task.FromResult(0), _err, None);
        Assert.That(status, Is.EqualTo(ExitCodes.Failure));
        var text = _err.ToString();
        Assert.That(text.TrimEnd('\n').Split('\n'), Has.Length.EqualTo(1));
        Assert.That(text, Does.StartWith("nova-compute: error: database postgresql://nova:****@127.0.0.1:1/nova"));
        Assert.That(text, Does.Not.Contain("s3cret"));
    }

    [Test]
    public async Task RunAsync_MissingSqliteFile_RefusesWithoutCreatingIt()
    {
        var path = Path.Combine(Path.GetTempPath(), "nova-missing-" + Guid.NewGuid().ToString("N"), "nova.sqlite");
        var config = NovaConfig.FromValues(DatabaseOptions.All, new Dictionary<Opt, string> { [DatabaseOptions.Connection] = "sqlite:///" + path });
        var status = await CliDatabase.RunAsync(config, requireSchema: true, (_, _) => Task.FromResult(0), _err, None);
        Assert.That(status, Is.EqualTo(ExitCodes.Failure));
        Assert.That(_err.ToString(), Does.Contain("does not exist (run `nova-compute db sync` to create it)"));
        Assert.That(File.Exists(path), Is.False);
    }

    [Test]
    public async Task RunAsync_ConfiguredDatabase_RunsTheActionOnIt()
    {
        await Repository.CreateAsync(new NewService("compute-01", "nova-compute", "compute", 64), None);
        var config = NovaConfig.FromValues(DatabaseOptions.All.Concat(ServiceGroupOptions.All),
            new Dictionary<Opt, string> { [DatabaseOptions.Connection] = Database.ConnectionText });
        var hosts = new List<string?>();
        var status = await CliDatabase.RunAsync(config, requireSchema: true, async (context, ct) =>
        {
            hosts.AddRange((await context.Repository.ListAsync(null, null, ct)).Services.Select(s => s.Host));
            return 0;
        }, _err, None);
        Assert.That(status, Is.Zero, _err.ToString());
        Assert.That(hosts, Is.EqualTo(new[] { "compute-01" }));
    }

}
