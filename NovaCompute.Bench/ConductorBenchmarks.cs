using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using NovaCompute.Conductor;
using NovaCompute.Db;
using NovaCompute.Messaging;
using NovaCompute.Messaging.Rpc;
using NovaCompute.Objects;
using Npgsql;

namespace NovaCompute.Bench;

/// <summary>
/// CPU per heartbeat through a real nova-conductor: the daemon's conductor client
/// (<see cref="ConductorServiceRepository.ReportStateAsync"/>: report_count + 1, <c>object_action</c>
/// save, merge the reply) against nova's own compute-side Python code doing the same
/// (<c>Python/nova_heartbeat.py</c>: <c>service_ref.report_count += 1; service_ref.save()</c> with
/// the conductor indirection API), one after the other against the same conductor in the same run.
/// Only the compute side's CPU is counted (each process measures its own). Needs the nova databases
/// the conductor-mode tests prepare (<c>&lt;NOVA_TEST_NOVA_DB_PREFIX&gt;api/cell0/cell1</c>).
/// </summary>
internal sealed class ConductorBenchmarks : IBenchmark
{
    private const int Beats = 300;
    private const string Daemon = "daemon heartbeat via nova-conductor";
    private const string Nova = "nova (Python) heartbeat via nova-conductor";

    public string Name => "conductor";

    public async Task<IReadOnlyList<BenchResult>> RunAsync(BenchEnvironment environment, CancellationToken cancellationToken)
    {
        if (environment.TransportUrl is not { } transportUrl || environment.PostgresUrl is not { } postgresUrl)
        {
            Console.WriteLine("   (skipped: NOVA_TEST_TRANSPORT_URL / NOVA_TEST_DATABASE_URL not set; ./build.sh bench sets them)");
            return [];
        }
        // The tests' NovaControlPlane default: one set of nova databases per vhost (ncp_<vhost>_).
        var vhost = Environment.GetEnvironmentVariable("NOVA_TEST_RABBIT_VHOST") ?? "";
        var prefix = Environment.GetEnvironmentVariable("NOVA_TEST_NOVA_DB_PREFIX") is { Length: > 0 } p ? p
            : "ncp_" + System.Text.RegularExpressions.Regex.Replace(vhost.ToLowerInvariant(), "[^a-z0-9_]", "_") + "_";
        var server = DatabaseUrl.Parse(postgresUrl);
        var builder = new NpgsqlConnectionStringBuilder(server.ConnectionString);
        string Db(string name) => $"postgresql://{builder.Username}:{builder.Password}@{builder.Host}:{builder.Port}/{prefix}{name}";
        if (!await PreparedAsync(builder, prefix + "api", cancellationToken))
        {
            Console.WriteLine($"   (skipped: the nova databases {prefix}api/cell0/cell1 are not prepared; the conductor-mode tests prepare them)");
            return [];
        }
        var conductorConf = Path.Combine(environment.WorkDirectory, "conductor.conf");
        await File.WriteAllTextAsync(conductorConf, $"""
            [DEFAULT]
            host = bench-conductor
            transport_url = {transportUrl}
            state_path = {environment.WorkDirectory}
            [api_database]
            connection = {Db("api")}
            [database]
            connection = {Db("cell1")}
            [conductor]
            workers = 1
            [placement]
            auth_type = none
            endpoint_override = http://127.0.0.1:1/placement
            [oslo_concurrency]
            lock_path = {environment.WorkDirectory}/lock
            """, cancellationToken);
        var computeConf = Path.Combine(environment.WorkDirectory, "compute.conf");
        await File.WriteAllTextAsync(computeConf, $"[DEFAULT]\ntransport_url = {transportUrl}\n", cancellationToken);

        using var conductorProcess = Process.Start(new ProcessStartInfo("/usr/bin/python3",
            ["-c", "from nova.cmd.conductor import main; main()", "--config-file", conductorConf])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        _ = conductorProcess.StandardOutput.ReadToEndAsync(cancellationToken);
        _ = conductorProcess.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            ObjectRegistry.RegisterAll();
            var rabbit = new RabbitSettings { TransportUrl = TransportUrl.Parse(transportUrl), ConnectionNamePrefix = "nova-bench" };
            await using var transport = new RabbitTransport(rabbit, NullLoggerFactory.Instance, TimeProvider.System);
            await using var waiter = new RpcReplyWaiter(transport, NullLogger<RpcReplyWaiter>.Instance);
            var conductor = new ConductorApi(new RpcClient(waiter, new RpcTarget { Topic = ConductorApi.Topic }, serializer: NovaObjectRpcSerializer.Instance),
                RequestContext.AdminContext());
            await WaitForConductorAsync(conductor, cancellationToken);

            var daemon = await MeasureDaemonAsync(conductor, cancellationToken);
            var nova = await MeasureNovaAsync(computeConf, cancellationToken);
            return
            [
                new(Nova, "CPU per beat", nova.Cpu * 1000 / Beats, "ms"),
                new(Daemon, "CPU per beat", daemon.Cpu * 1000 / Beats, "ms", Baseline: Nova, Target: "well below 1 x"),
                new(Nova, "wall per beat", nova.Wall * 1000 / Beats, "ms"),
                new(Daemon, "wall per beat", daemon.Wall * 1000 / Beats, "ms", Baseline: Nova),
            ];
        }
        finally
        {
            conductorProcess.Kill(entireProcessTree: true);
            await conductorProcess.WaitForExitAsync(CancellationToken.None);
        }
    }

    private static async Task<bool> PreparedAsync(NpgsqlConnectionStringBuilder server, string apiDatabase, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(server.ConnectionString) { Database = apiDatabase }.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using var query = new NpgsqlCommand("SELECT count(*) FROM cell_mappings WHERE name = 'cell1'", connection);
            return (long)(await query.ExecuteScalarAsync(cancellationToken))! > 0;
        }
        catch (NpgsqlException)
        {
            return false;
        }
    }

    private static async Task WaitForConductorAsync(ConductorApi conductor, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (true)
        {
            try
            {
                await conductor.PingAsync(TimeSpan.FromSeconds(5), cancellationToken);
                return;
            }
            catch (Exception ex) when (ex is MessagingTimeoutException or MessageUndeliverableException && DateTime.UtcNow < deadline)
            {
                await Task.Delay(500, cancellationToken);
            }
        }
    }

    private static async Task<(double Cpu, double Wall)> MeasureDaemonAsync(ConductorApi conductor, CancellationToken cancellationToken)
    {
        var repository = new ConductorServiceRepository(conductor, TimeProvider.System);
        var host = "bench-cs-" + Guid.NewGuid().ToString("N")[..8];
        var record = await repository.GetByHostAndBinaryAsync(host, "nova-compute", cancellationToken)
            ?? await repository.CreateAsync(new NewService(host, "nova-compute", "compute", Service.ServiceVersion), cancellationToken);
        // Warm-up long enough for tiered JIT to finish (tier-1 after 30 calls, compiled on a background
        // thread whose CPU this process would otherwise count); the published daemon is ReadyToRun and
        // has beaten for minutes by the time its heartbeat CPU matters. Python has no JIT to wait for.
        for (var i = 0; i < Beats; i++)
        {
            await repository.ReportStateAsync(record.Id, cancellationToken);
        }
        await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        var process = Process.GetCurrentProcess();
        process.Refresh();
        var cpu0 = process.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        for (var i = 0; i < Beats; i++)
        {
            _ = await repository.ReportStateAsync(record.Id, cancellationToken) ?? throw new InvalidOperationException("the record vanished");
        }
        wall.Stop();
        process.Refresh();
        return ((process.TotalProcessorTime - cpu0).TotalSeconds, wall.Elapsed.TotalSeconds);
    }

    private static async Task<(double Cpu, double Wall)> MeasureNovaAsync(string computeConf, CancellationToken cancellationToken)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "Python", "nova_heartbeat.py");
        var host = "bench-py-" + Guid.NewGuid().ToString("N")[..8];
        using var python = Process.Start(new ProcessStartInfo("/usr/bin/python3",
            [script, computeConf, host, Beats.ToString(CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var stdout = python.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = python.StandardError.ReadToEndAsync(cancellationToken);
        await python.WaitForExitAsync(cancellationToken);
        var line = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.StartsWith('{'))
            ?? throw new InvalidOperationException($"nova_heartbeat.py printed no result (exit {python.ExitCode}): {await stderr}");
        var result = JsonNode.Parse(line)!;
        return ((double)result["cpu_seconds"]!, (double)result["wall_seconds"]!);
    }
}
