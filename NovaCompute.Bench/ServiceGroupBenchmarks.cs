using System.Diagnostics;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using NovaCompute.Cli;
using NovaCompute.Db;
using NovaCompute.ServiceGroup;
using Npgsql;

namespace NovaCompute.Bench;

/// <summary>
/// Heartbeat writes per second through <see cref="ServiceRepository.ReportStateAsync"/> (connection
/// from the pool, one statement, result read back), against a raw prepared single-row UPDATE on one
/// open connection; and <c>service list</c> (query + verdicts + table) over 10,000 services.
/// Both on SQLite (WAL file) and on PostgreSQL when <c>./build.sh bench</c> started it.
/// </summary>
internal sealed class ServiceGroupBenchmarks : IBenchmark
{
    private const int ListedServices = 10_000;

    public string Name => "servicegroup";

    public async Task<IReadOnlyList<BenchResult>> RunAsync(BenchEnvironment environment, CancellationToken cancellationToken)
    {
        var results = new List<BenchResult>();
        var sqlite = DatabaseUrl.Parse("sqlite:///" + Path.Combine(environment.WorkDirectory, "bench.sqlite"));
        await using (var factory = new DbConnectionFactory(sqlite))
        {
            results.AddRange(await MeasureAsync("SQLite", factory, cancellationToken));
        }
        if (environment.PostgresUrl is { } postgres)
        {
            var url = DatabaseUrl.Parse(postgres);
            var schema = "bench_" + Guid.NewGuid().ToString("N");
            await using (var admin = new NpgsqlConnection(url.ConnectionString))
            {
                await admin.OpenAsync(cancellationToken);
                await admin.ExecuteAsync($"CREATE SCHEMA {schema}");
            }
            try
            {
                await using var factory = new DbConnectionFactory(url, new DbConnectionSettings { PostgresSearchPath = schema });
                results.AddRange(await MeasureAsync("PostgreSQL", factory, cancellationToken));
            }
            finally
            {
                await using var admin = new NpgsqlConnection(url.ConnectionString);
                await admin.OpenAsync(CancellationToken.None);
                await admin.ExecuteAsync($"DROP SCHEMA {schema} CASCADE");
            }
        }
        else
        {
            Console.WriteLine("   (PostgreSQL skipped: NOVA_TEST_DATABASE_URL is not set; ./build.sh bench sets it)");
        }
        return results;
    }

    private static async Task<IEnumerable<BenchResult>> MeasureAsync(string dialect, DbConnectionFactory factory, CancellationToken cancellationToken)
    {
        await new SchemaMigrator(factory, NullLogger<SchemaMigrator>.Instance).MigrateAsync(cancellationToken);
        var repository = new ServiceRepository(factory);
        var service = await repository.CreateAsync(new NewService("bench-compute", "nova-compute", "compute", 64), cancellationToken);

        // Warm every path (JIT, pools, statement caches) before timing; then short slices that
        // alternate between them, so that a change in the machine's load falls on each alike.
        await HeartbeatsAsync(repository, service.Id, TimeSpan.FromMilliseconds(300), cancellationToken);
        await RawUpdatesAsync(factory, service.Id, TimeSpan.FromMilliseconds(300), cancellationToken);
        var sqliteFile = dialect == "SQLite";
        if (sqliteFile)
        {
            await ProviderHeartbeatsAsync(factory, service.Id, TimeSpan.FromMilliseconds(300), cancellationToken);
        }
        var raws = new List<double>();
        var beats = new List<double>();
        var viaProvider = new List<double>();
        var loads = new List<double>();
        for (var round = 0; round < Rounds; round++)
        {
            loads.Add(ProcFigures.LoadAverage());
            raws.Add(await RawUpdatesAsync(factory, service.Id, Slice, cancellationToken));
            beats.Add(await HeartbeatsAsync(repository, service.Id, Slice, cancellationToken));
            if (sqliteFile)
            {
                viaProvider.Add(await ProviderHeartbeatsAsync(factory, service.Id, Slice, cancellationToken));
            }
        }
        var raw = Median(raws);
        var heartbeats = Median(beats);
        var note = $"load {loads.Average():0.0}; per-round ratio {Spread(beats, raws)}";

        var listMs = await ServiceListAsync(factory, repository, cancellationToken);
        var queryMs = await MedianMsAsync(() => repository.ListAsync(null, null, cancellationToken));
        // Same-run baseline on PostgreSQL: the query as it was before (sorted by the server), read the same way.
        var serverSortedMs = dialect == "SQLite" ? (double?)null
            : await MedianMsAsync(() => ServerSortedListAsync(factory, cancellationToken));

        var rawSubject = $"raw single-row UPDATE ({dialect})";
        return
        [
            new BenchResult(rawSubject, "writes/s", raw, "1/s"),
            new BenchResult($"heartbeat ReportStateAsync ({dialect})", "writes/s", heartbeats, "1/s", rawSubject,
                sqliteFile ? ">= 20000/s; nova's conductor path ~260/s" : null, note),
            .. sqliteFile
                ? new[]
                {
                    // Same-run baseline: the heartbeat as it ran before SqliteHeartbeat: the strftime statement returning
                    // three columns, through Microsoft.Data.Sqlite (compiled on every beat).
                    new BenchResult($"  the old statement via the provider + SingleRow ({dialect})", "writes/s", Median(viaProvider), "1/s", rawSubject, null,
                        $"load {loads.Average():0.0}; per-round ratio {Spread(viaProvider, raws)}; heartbeat {Median(beats) / Median(viaProvider):0.00} x this"),
                }
                : [],
            new BenchResult($"service list, {ListedServices} services ({dialect})", "median ms", listMs, "ms", null, "< 100 ms"),
            // The database part of the above (query and rows materialised), to see where the time goes.
            new BenchResult($"  of which ServiceRepository.ListAsync ({dialect})", "median ms", queryMs, "ms",
                serverSortedMs is null ? null : $"ORDER BY in the server ({dialect})"),
            .. serverSortedMs is { } ms ? new[] { new BenchResult($"ORDER BY in the server ({dialect})", "median ms", ms, "ms") } : [],
        ];
    }

    private static async Task ServerSortedListAsync(DbConnectionFactory factory, CancellationToken cancellationToken)
    {
        await using var connection = await factory.OpenAsync(cancellationToken);
        await using var reader = await connection.ExecuteReaderAsync(new CommandDefinition(ServiceRepository.ListPostgreSql + " ORDER BY s.id",
            cancellationToken: cancellationToken));
        var rows = new List<ServiceRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            _ = ServiceRecord.ReadTimestamp(reader, 0);
            if (!reader.IsDBNull(1))
            {
                rows.Add(ServiceRecord.Read(reader, 1));
            }
        }
    }

    private static async Task<double> HeartbeatsAsync(ServiceRepository repository, int id, TimeSpan duration, CancellationToken cancellationToken)
    {
        var count = 0;
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < duration)
        {
            _ = await repository.ReportStateAsync(id, cancellationToken) ?? throw new InvalidOperationException("service row vanished");
            count++;
        }
        return count / watch.Elapsed.TotalSeconds;
    }

    private const int Rounds = 5;
    private static readonly TimeSpan Slice = TimeSpan.FromSeconds(1);

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string Spread(List<double> values, List<double> floors)
    {
        var ratios = values.Zip(floors, (v, f) => v / f).ToList();
        return System.FormattableString.Invariant($"{ratios.Min():0.00}-{ratios.Max():0.00} (median {Median(ratios):0.00})");
    }

    /// <summary>
    /// The heartbeat's statement as it ran before <see cref="SqliteHeartbeat"/>: the provider, <see cref="SingleRow"/>
    /// (through Dapper until the database layer dropped it for Native AOT; Dapper only bound the parameter).
    /// </summary>
    private static async Task<double> ProviderHeartbeatsAsync(DbConnectionFactory factory, int id, TimeSpan duration, CancellationToken cancellationToken)
    {
        var count = 0;
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < duration)
        {
            await using var connection = await factory.OpenAsync(cancellationToken);
            await using var command = connection.Command(ServiceRepository.ReportState.Sqlite).Bind("id", id);
            _ = await SingleRow.QueryAsync(command,
                static reader => new HeartbeatStamp(reader.GetInt32(0), ServiceRecord.ReadTimestamp(reader, 1)!.Value, ServiceRecord.ReadTimestamp(reader, 2)!.Value),
                cancellationToken)
                ?? throw new InvalidOperationException("service row vanished");
            count++;
        }
        return count / watch.Elapsed.TotalSeconds;
    }

    /// <summary>The floor: one open connection, one prepared statement, nothing read back.</summary>
    private static async Task<double> RawUpdatesAsync(DbConnectionFactory factory, int id, TimeSpan duration, CancellationToken cancellationToken)
    {
        await using var connection = await factory.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE services SET report_count = report_count + 1 WHERE id = @id";
        var parameter = command.CreateParameter();
        parameter.ParameterName = "id";
        parameter.Value = id;
        command.Parameters.Add(parameter);
        await command.PrepareAsync(cancellationToken);
        var count = 0;
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < duration)
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
            count++;
        }
        return count / watch.Elapsed.TotalSeconds;
    }

    private static async Task<double> ServiceListAsync(DbConnectionFactory factory, ServiceRepository repository, CancellationToken cancellationToken)
    {
        await using (var connection = await factory.OpenAsync(cancellationToken))
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO services (created_at, updated_at, host, \"binary\", topic, report_count, disabled, deleted, last_seen_up, forced_down, version, uuid) " +
                "VALUES (@now, @now, @host, 'nova-compute', 'compute', 1, @disabled, 0, @now, FALSE, 64, @uuid)",
                Enumerable.Range(0, ListedServices - 1).Select(i => new
                {
                    now = Timestamp(factory, DateTime.UtcNow.AddSeconds(-(i % 120))),
                    host = $"compute-{i:D5}",
                    disabled = i % 10 == 0,
                    uuid = Guid.NewGuid().ToString(),
                }), transaction, cancellationToken: cancellationToken));
            await transaction.CommitAsync(cancellationToken);
        }
        var query = new ServiceStatusQuery(repository, new Settings(), new ZoneSettings());
        var samples = new List<double>();
        for (var i = 0; i < 25; i++)
        {
            var watch = Stopwatch.StartNew();
            await ServiceCli.ListAsync(query, null, null, "table", TextWriter.Null, cancellationToken);
            samples.Add(watch.Elapsed.TotalMilliseconds);
        }
        var listed = await query.ListAsync(null, null, cancellationToken);
        if (listed.Count != ListedServices)
        {
            throw new InvalidOperationException($"service list returned {listed.Count} services, expected {ListedServices}");
        }
        samples.Sort();
        return samples[samples.Count / 2];
    }

    private static async Task<double> MedianMsAsync(Func<Task> run)
    {
        var samples = new List<double>();
        for (var i = 0; i < 25; i++)
        {
            var watch = Stopwatch.StartNew();
            await run();
            samples.Add(watch.Elapsed.TotalMilliseconds);
        }
        samples.Sort();
        return samples[samples.Count / 2];
    }

    private static object Timestamp(DbConnectionFactory factory, DateTime value) =>
        factory.Dialect == DatabaseDialect.Sqlite
            ? value.ToString("yyyy-MM-dd HH:mm:ss.ffffff", System.Globalization.CultureInfo.InvariantCulture)
            : DateTime.SpecifyKind(value, DateTimeKind.Unspecified);

    private sealed class Settings : IServiceGroupSettingsSource
    {
        public ServiceGroupSettings Current { get; } = new(10, 60);

        public event Action? Changed
        {
            add { }
            remove { }
        }
    }
}
