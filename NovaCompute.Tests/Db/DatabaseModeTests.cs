using NovaCompute.Cli;
using NovaCompute.Config;
using NovaCompute.Db;

namespace NovaCompute.Tests.Db;

/// <summary>Which way records are reached is chosen by <c>[database] connection</c> alone.</summary>
internal sealed class DatabaseModeTests
{
    private static NovaConfig Config(string? connection) => NovaConfig.FromValues(DatabaseOptions.All,
        connection is null ? new Dictionary<Opt, string>() : new Dictionary<Opt, string> { [DatabaseOptions.Connection] = connection });

    [Test]
    public void Mode_NoConnectionEvenWithStatePath_IsConductor()
    {
        var config = NovaConfig.FromValues(DatabaseOptions.All, new Dictionary<Opt, string> { [DatabaseOptions.StatePath] = "/var/lib/nova" });
        Assert.That(DatabaseOptions.Mode(config), Is.EqualTo(DatabaseMode.Conductor));
        Assert.That(DatabaseOptions.Describe(config), Does.StartWith("conductor mode"));
        Assert.Throws<ConductorModeException>(() => DatabaseOptions.Url(config));
    }

    [Test]
    public void Mode_ConnectionSet_IsDirectNamingTheDatabaseWithoutPassword()
    {
        var config = Config("postgresql://nova:s3cret@db.example:5432/nova");
        Assert.That(DatabaseOptions.Mode(config), Is.EqualTo(DatabaseMode.Direct));
        Assert.That(DatabaseOptions.Describe(config), Does.StartWith("direct database access").And.Contain("db.example").And.Not.Contain("s3cret"));
    }

    [Test]
    public async Task Cli_DatabaseCommandInConductorMode_RefusesSayingWhy()
    {
        var error = new StringWriter();
        var ran = false;
        var status = await CliDatabase.RunAsync(Config(null), requireSchema: false, (_, _) =>
        {
            ran = true;
            return Task.FromResult(0);
        }, error, CancellationToken.None, requireDatabase: true);
        Assert.That(status, Is.EqualTo(ExitCodes.Config));
        Assert.That(ran, Is.False);
        Assert.That(error.ToString(), Does.Contain("no [database] connection (conductor mode)"));
    }
}
