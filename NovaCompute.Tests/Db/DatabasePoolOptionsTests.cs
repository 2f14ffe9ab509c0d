using System.Data.Common;
using Dapper;
using NovaCompute.Config;
using NovaCompute.Db;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Db;

/// <summary>oslo.db's pool options bound the PostgreSQL connections one process opens.</summary>
internal sealed class DatabasePoolOptionsTests
{
    private static DbConnectionSettings Settings(params (Opt Option, string Value)[] values) =>
        DatabaseOptions.Settings(NovaConfig.FromValues(DatabaseOptions.All, values.ToDictionary(v => v.Option, v => v.Value)));

    [Test]
    public void Settings_Defaults_AreOsloDbs()
    {
        var settings = Settings();
        Assert.That(settings.PostgresMaxPoolSize, Is.EqualTo(55), "max_pool_size 5 + max_overflow 50");
        Assert.That(settings.PostgresConnectionLifetime, Is.EqualTo(TimeSpan.FromHours(1)));
    }

    [TestCase("0", "50")]
    [TestCase("-3", "50")]
    [TestCase("5", "-1")]
    [TestCase("5", "-7")]
    [TestCase("2147483647", "50")]
    public void Settings_NoLimit_IsNpgsqlsLargestSensiblePool(string maxPoolSize, string maxOverflow)
    {
        var settings = Settings((DatabaseOptions.MaxPoolSize, maxPoolSize), (DatabaseOptions.MaxOverflow, maxOverflow));
        Assert.That(settings.PostgresMaxPoolSize, Is.EqualTo(DatabaseOptions.UnlimitedPoolSize));
    }

    [TestCase("max_pool_size = many", "max_pool_size")]
    [TestCase("max_overflow = 1.5", "max_overflow")]
    [TestCase("connection_recycle_time = 1h", "connection_recycle_time")]
    public void Load_NotAnInteger_IsAConfigurationErrorNamingTheOption(string line, string option)
    {
        var directory = Directory.CreateTempSubdirectory("nova-pool-");
        try
        {
            var file = Path.Combine(directory.FullName, "nova.conf");
            File.WriteAllText(file, $"[database]\n{line}\n");
            var loaded = new ConfigLoader(OptionCatalog.All).Load(new ConfigArguments
            {
                Sources = [new ConfigSourceArgument(ConfigSourceKind.File, file)],
            });
            Assert.That(loaded.Succeeded, Is.False);
            Assert.That(string.Join("\n", loaded.Errors), Does.Contain(option));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Test]
    public async Task OpenAsync_PoolOfTwoAllInUse_WaitsTheConnectTimeoutThenSaysWhichOptions()
    {
        var settings = Settings((DatabaseOptions.MaxPoolSize, "1"), (DatabaseOptions.MaxOverflow, "1"));
        var url = DatabaseUrl.Parse(TestServices.PostgresUrl + (TestServices.PostgresUrl.Contains('?') ? "&" : "?") + "connect_timeout=3");
        await using var factory = new DbConnectionFactory(url, settings);
        await using var first = await factory.OpenAsync(CancellationToken.None);
        await using var second = await factory.OpenAsync(CancellationToken.None);

        var ex = Assert.CatchAsync<DbException>(() => factory.OpenAsync(CancellationToken.None));

        Assert.That(DatabaseError.Describe(ex!, url), Does.Contain("all 2 connections this process may open ([database] max_pool_size + max_overflow)")
            .And.Contain("for 3 s (the URL's connect_timeout)"));
        Assert.That(DatabaseError.IsUnavailable(ex!), Is.True, "a full pool is the store being busy, answered as unavailable");
        await second.DisposeAsync();
        await using var third = await factory.OpenAsync(CancellationToken.None);
        Assert.That(await third.ExecuteScalarAsync<int>("SELECT 1"), Is.EqualTo(1), "a returned connection serves the next caller");
    }
}
