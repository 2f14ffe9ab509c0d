using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Dapper;
using Microsoft.Data.Sqlite;
using NovaCompute.Db;
using NovaCompute.Tests.Support;
using Npgsql;

namespace NovaCompute.Tests;

/// <summary>
/// The published daemon against a database that fails under it (issue 14): a full disk, a
/// PostgreSQL that refuses the role, kill -9 mid-run. What the daemon reports must be what the
/// database holds, each loss and recovery logged once, and nothing corrupted.
/// </summary>
[NonParallelizable] // the PostgreSQL outage revokes CONNECT on the whole test database
internal sealed partial class DaemonReliabilityTests
{
    private const string LostLine = "Lost connection to the database for reporting service status: ";
    private const string RecoveredLine = "Recovered from being unable to report status.";
    private DirectoryInfo _dir = null!;
    private string _conf = null!;
    private string _host = null!;
    private HttpClient _http = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("nova-reliability-");
        _conf = Path.Combine(_dir.FullName, "nova-compute.conf");
        _host = "rel-" + Guid.NewGuid().ToString("N")[..12];
        _http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
    }

    [TearDown]
    public void TearDown()
    {
        _http.Dispose();
        _dir.Delete(recursive: true);
    }

    private async Task<(DaemonProcess Daemon, string Endpoint)> StartAsync(string connection)
    {
        DaemonConfig.Database(_dir.FullName, connection, _host)
            .With("report_interval", "1")
            .With("service_down_time", "60")
            .With("enabled_apis", "osapi_compute")
            .With("osapi_compute_listen_port", "0")
            .WriteTo(_conf);
        var daemon = DaemonProcess.Start(["--config-file", _conf]);
        var line = await daemon.WaitForLineAsync("osapi_compute listening on 127.0.0.1:");
        await daemon.WaitForLineAsync("Service ready");
        return (daemon, $"http://127.0.0.1:{ListeningPort().Match(line).Groups[1].Value}");
    }

    [GeneratedRegex(@"listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningPort();

    private async Task<(HttpStatusCode Status, string Body)> HealthAsync(string endpoint)
    {
        using var response = await _http.GetAsync(endpoint + "/healthcheck");
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<JsonNode> HeartbeatStatusAsync(string endpoint) =>
        JsonNode.Parse(await _http.GetStringAsync(endpoint + "/status"))!["heartbeat"]!;

    private static async Task<long> CountAsync(string sqlitePath, string host)
    {
        await using var connection = new SqliteConnection($"Data Source={sqlitePath};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        return await connection.ExecuteScalarAsync<long>("SELECT report_count FROM services WHERE host = @host AND deleted = 0", new { host });
    }

    private static async Task<bool> DisabledAsync(string sqlitePath, string host)
    {
        await using var connection = new SqliteConnection($"Data Source={sqlitePath};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        return await connection.ExecuteScalarAsync<bool>("SELECT disabled FROM services WHERE host = @host AND deleted = 0", new { host });
    }

    /// <summary>nova's own compute RPC client (python3-nova) calling this daemon.</summary>
    private async Task<JsonElement> SetHostEnabledAsync(bool enabled)
    {
        var script = Path.Combine(TestContext.CurrentContext.TestDirectory, "Compute", "Python", "compute_rpcapi_peer.py");
        var run = await Shell.RunAsync(TestServices.SystemPython, [script, "set_host_enabled", "--url", TestServices.TransportUrl,
            "--host", _host, "--enabled", enabled ? "true" : "false"], TimeSpan.FromSeconds(60));
        var line = run.Stdout.Split('\n').LastOrDefault(l => l.StartsWith('{'));
        Assert.That(line, Is.Not.Null, run.Output);
        return JsonDocument.Parse(line!).RootElement.Clone();
    }

    /// <summary>
    /// Issue 14.1: on a full disk the heartbeat's UPDATE … RETURNING row came back while the commit
    /// failed, so the daemon said "ok" (and 200, and "disabled") while nothing was stored.
    /// </summary>
    [Test]
    public async Task Run_SqliteDiskFull_EveryWriteReportsTheFailureOnceAndRecoversWhenSpaceReturns()
    {
        await using var disk = await FullDisk.MountAsync();
        var database = Path.Combine(disk.Directory, "nova.sqlite");
        var (daemon, endpoint) = await StartAsync("sqlite:///" + database);
        using var _ = daemon;
        await Eventually.Until(async () => await CountAsync(database, _host) >= 2, TimeSpan.FromSeconds(20), poll: TimeSpan.FromMilliseconds(250));
        Assert.That((await HealthAsync(endpoint)).Status, Is.EqualTo(HttpStatusCode.OK));

        var beforeOutage = daemon.Lines.Count;
        disk.Fill();
        await Eventually.Until(async () => (int)(await HeartbeatStatusAsync(endpoint))["consecutive_failures"]! >= 3,
            TimeSpan.FromSeconds(20), () => "three failed heartbeats", TimeSpan.FromMilliseconds(250));
        var stuck = await CountAsync(database, _host);
        var health = await HealthAsync(endpoint);
        var heartbeat = await HeartbeatStatusAsync(endpoint);
        Assert.Multiple(() =>
        {
            Assert.That(health.Status, Is.EqualTo(HttpStatusCode.ServiceUnavailable), health.Body);
            Assert.That(health.Body, Does.Contain("heartbeat failing").And.Contain(database).And.Contain("disk full"));
            Assert.That((string?)heartbeat["last_failure"], Does.Contain(database).And.Contain("disk full"));
        });

        var rpc = await SetHostEnabledAsync(false);
        Assert.That(rpc.TryGetProperty("error", out var error), Is.True, $"set_host_enabled(false) must fail: {rpc}");
        Assert.That(error.GetProperty("str").GetString(), Does.Contain("full"));
        var cli = await Shell.RunAsync(TestServices.PublishedDaemon, ["service", "disable", _host, "--config-file", _conf]);
        Assert.That(cli.ExitCode, Is.Not.Zero, cli.Output);
        Assert.That(cli.Stderr, Does.Contain(database).And.Contain("disk full"));
        Assert.That(await DisabledAsync(database, _host), Is.False);
        Assert.That(await CountAsync(database, _host), Is.EqualTo(stuck));

        disk.Free();
        await Eventually.Until(async () => (await HealthAsync(endpoint)).Status == HttpStatusCode.OK, TimeSpan.FromSeconds(20),
            () => "/healthcheck 200 again", TimeSpan.FromMilliseconds(250));
        await Eventually.Until(async () => await CountAsync(database, _host) > stuck, TimeSpan.FromSeconds(10), poll: TimeSpan.FromMilliseconds(250));
        Assert.That((await SetHostEnabledAsync(false)).GetProperty("ok").GetString(), Is.EqualTo("disabled"));
        Assert.That(await DisabledAsync(database, _host), Is.True);

        // Counted over the outage: with report_interval 1 a beat slowed past 1 s by a loaded machine
        // is a loss of its own, before or after it.
        Assert.That(daemon.LinesFrom(beforeOutage, until: RecoveredLine).Where(l => l.Contains(LostLine, StringComparison.Ordinal)).ToList(),
            Has.Count.EqualTo(1).And.All.Contain("disk full").And.All.Contain("WARNING"), daemon.Output);
        Assert.That(daemon.Count(RecoveredLine), Is.InRange(1, daemon.Count(LostLine)), daemon.Output);
        daemon.Signal(DaemonProcess.SIGTERM);
        Assert.That(await daemon.WaitForExitAsync(), Is.Zero, daemon.Output);
    }

    [Test]
    public async Task Run_StartOnFullDisk_Exits1NamingTheDatabaseFileAndTheFullDisk()
    {
        await using var disk = await FullDisk.MountAsync();
        disk.Fill();
        var database = Path.Combine(disk.Directory, "nova.sqlite");
        DaemonConfig.Database(_dir.FullName, $"sqlite:///{database}", _host).WriteTo(_conf);
        using var daemon = DaemonProcess.Start(["--config-file", _conf]);
        Assert.That(await daemon.WaitForExitAsync(), Is.EqualTo(1), daemon.Output);
        Assert.That(daemon.Lines.Where(l => l.Contains("Cannot start: ", StringComparison.Ordinal)).ToList(),
            Has.Count.EqualTo(1).And.All.Contain($"database file {database}: disk full"), daemon.Output);
        Assert.That(daemon.Output, Does.Not.Contain("Unhandled error"));
    }

    /// <summary>
    /// A PostgreSQL outage without touching the shared server: the test role loses CONNECT on the
    /// test database and its sessions are terminated, then CONNECT is granted back.
    /// </summary>
    [Test]
    public async Task Run_PostgreSqlRefusesTheRole_LossLoggedOnceAs503ThenRecoveredOnceWhenGrantedBack()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseDialect.PostgreSql, migrate: false);
        var target = new NpgsqlConnectionStringBuilder(database.Url.ConnectionString);
        var (daemon, endpoint) = await StartAsync(database.ConnectionText);
        using var _ = daemon;
        await Eventually.Until(async () => await PostgresCountAsync(database) >= 2, TimeSpan.FromSeconds(20), poll: TimeSpan.FromMilliseconds(250));

        long stuck;
        var beforeOutage = daemon.Lines.Count;
        try
        {
            await PsqlAsync($"REVOKE CONNECT ON DATABASE \"{target.Database}\" FROM PUBLIC, \"{target.Username}\"; " +
                $"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{target.Database}' AND usename = '{target.Username}'");
            await Eventually.Until(async () => (int)(await HeartbeatStatusAsync(endpoint))["consecutive_failures"]! >= 3,
                TimeSpan.FromSeconds(30), () => "three failed heartbeats", TimeSpan.FromMilliseconds(250));
            var health = await HealthAsync(endpoint);
            Assert.That(health.Status, Is.EqualTo(HttpStatusCode.ServiceUnavailable), health.Body);
        }
        finally
        {
            await PsqlAsync($"GRANT CONNECT ON DATABASE \"{target.Database}\" TO PUBLIC, \"{target.Username}\"");
            // The test's own pooled sessions were terminated too.
            NpgsqlConnection.ClearAllPools();
        }
        stuck = await PostgresCountAsync(database);
        await Eventually.Until(async () => (await HealthAsync(endpoint)).Status == HttpStatusCode.OK, TimeSpan.FromSeconds(30),
            () => "/healthcheck 200 again", TimeSpan.FromMilliseconds(250));
        await Eventually.Until(async () => await PostgresCountAsync(database) > stuck, TimeSpan.FromSeconds(10), poll: TimeSpan.FromMilliseconds(250));

        var outage = daemon.LinesFrom(beforeOutage, until: RecoveredLine);
        var lost = outage.Select((line, index) => (line, index)).Where(l => l.line.Contains(LostLine, StringComparison.Ordinal)).ToList();
        Assert.That(lost, Has.Count.EqualTo(1), daemon.Output);
        Assert.That(lost[0].line, Does.Contain("WARNING").And.Contain("SQLSTATE").Or.Contain("permission denied"));
        // One line: nothing after it belongs to it (a stack trace would follow indented).
        Assert.That(outage.Skip(lost[0].index + 1).FirstOrDefault() ?? "", Does.Not.Match(@"^\s+at "), daemon.Output);
        Assert.That(daemon.Count(RecoveredLine), Is.InRange(1, daemon.Count(LostLine)), daemon.Output);
        daemon.Signal(DaemonProcess.SIGTERM);
        Assert.That(await daemon.WaitForExitAsync(), Is.Zero, daemon.Output);
    }

    /// <summary>report_count on a connection of its own (the test's pool is cut by the outage as well).</summary>
    private async Task<long> PostgresCountAsync(TestDatabase database)
    {
        var builder = new NpgsqlConnectionStringBuilder(database.Url.ConnectionString) { Pooling = false, SearchPath = database.Schema };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        return await connection.ExecuteScalarAsync<long?>("SELECT report_count FROM services WHERE host = @host AND deleted = 0", new { host = _host }) ?? 0;
    }

    private static async Task PsqlAsync(string sql)
    {
        var run = await Shell.RunAsync("runuser", ["-u", "postgres", "--", "psql", "-v", "ON_ERROR_STOP=1", "-Atc", sql]);
        Assert.That(run.ExitCode, Is.Zero, $"psql: {sql}\n{run.Output}");
    }

    /// <summary>
    /// kill -9 at random points of the daemon's life, ten times: the database stays intact, the one
    /// services row is reused by every start, and report_count never goes back.
    /// </summary>
    [TestCase(DatabaseDialect.Sqlite)]
    [TestCase(DatabaseDialect.PostgreSql)]
    public async Task Run_KilledTenTimes_DatabaseIntactOneRowReusedCountMonotonic(DatabaseDialect dialect)
    {
        await using var database = dialect == DatabaseDialect.Sqlite
            ? await TestDatabase.CreateAsync(dialect, migrate: false, sqliteDirectory: Path.Combine(_dir.FullName, "db"))
            : await TestDatabase.CreateAsync(dialect, migrate: false);
        var random = new Random(20261201);
        long previous = 0;
        int? id = null;
        for (var life = 0; life < 10; life++)
        {
            var (daemon, _) = await StartAsync(database.ConnectionText);
            using (daemon)
            {
                if (life % 2 == 0)
                {
                    // Mid-heartbeat territory: once a beat of this life has landed.
                    var before = await RowCountAsync(database);
                    await Eventually.Until(async () => await RowCountAsync(database) > before, TimeSpan.FromSeconds(20), poll: TimeSpan.FromMilliseconds(50));
                }
                await Task.Delay(random.Next(0, 1000));
                var killedAt = Stopwatch.StartNew();
                daemon.Signal(DaemonProcess.SIGKILL);
                Assert.That(await daemon.WaitForExitAsync(), Is.EqualTo(128 + DaemonProcess.SIGKILL).Or.EqualTo(-1), $"life {life}");
                Assert.That(killedAt.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));
            }

            if (dialect == DatabaseDialect.Sqlite)
            {
                await using var connection = new SqliteConnection($"Data Source={database.SqlitePath};Pooling=False");
                await connection.OpenAsync();
                Assert.That(await connection.ExecuteScalarAsync<string>("PRAGMA integrity_check"), Is.EqualTo("ok"), $"life {life}");
            }
            var rows = (await database.Repository.ListAsync(null, null, CancellationToken.None)).Services;
            Assert.That(rows, Has.Count.EqualTo(1), $"life {life}");
            Assert.That(await AllRowsAsync(database), Is.EqualTo(1), $"life {life}: no soft-deleted duplicates either");
            id ??= rows[0].Id;
            Assert.That(rows[0].Id, Is.EqualTo(id), $"life {life}: the row is reused");
            Assert.That(rows[0].ReportCount, Is.GreaterThanOrEqualTo(previous), $"life {life}: report_count never goes back");
            previous = rows[0].ReportCount;
        }
        Assert.That(previous, Is.GreaterThanOrEqualTo(5), "every other life beat at least once");
    }

    private async Task<long> RowCountAsync(TestDatabase database) =>
        (await database.Repository.GetByHostAndBinaryAsync(_host, "nova-compute", CancellationToken.None))?.ReportCount ?? -1;

    private static async Task<long> AllRowsAsync(TestDatabase database)
    {
        await using var connection = await database.Factory.OpenAsync(CancellationToken.None);
        return await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM services");
    }
}
