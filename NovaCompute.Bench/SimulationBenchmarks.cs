using System.Diagnostics;
using System.Globalization;
using Dapper;
using NovaCompute.Db;
using Npgsql;

namespace NovaCompute.Bench;

/// <summary>
/// <c>nova-compute simulate</c> (the published daemon) with 1,000 computes (<c>NOVA_BENCH_SIM_COUNT</c> to change it,
/// <c>NOVA_BENCH_SIM_CONCURRENCY</c> for its <c>--start-concurrency</c>, 16 by default) at
/// <c>report_interval = 10</c> on the bench PostgreSQL and RabbitMQ: time from process start to
/// "all serve" (READY), then over one minute of steady state the process's average CPU cores, its
/// average and peak RSS and the heartbeats the database saw. Beside it in the same run, the
/// per-compute baseline: one real nova Python compute-side process (nova's <c>Service</c> with its
/// servicegroup DB driver and RPC server, <c>nova.manager.Manager</c>, on the same database and
/// vhost) measured over the same length of time: its RSS and its CPU per heartbeat.
/// </summary>
internal sealed class SimulationBenchmarks : IBenchmark
{
    private const int ReportInterval = 10;
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan Steady = TimeSpan.FromSeconds(60);

    public string Name => "simulate";

    public async Task<IReadOnlyList<BenchResult>> RunAsync(BenchEnvironment environment, CancellationToken cancellationToken)
    {
        if (environment.PostgresUrl is not { } postgres || environment.TransportUrl is not { } transportUrl)
        {
            throw new InvalidOperationException("needs NOVA_TEST_DATABASE_URL and NOVA_TEST_TRANSPORT_URL (./build.sh bench sets them)");
        }
        var count = int.TryParse(Environment.GetEnvironmentVariable("NOVA_BENCH_SIM_COUNT"), CultureInfo.InvariantCulture, out var n) ? n : 1000;
        var concurrency = int.TryParse(Environment.GetEnvironmentVariable("NOVA_BENCH_SIM_CONCURRENCY"), CultureInfo.InvariantCulture, out var c) ? c : 16;
        var url = DatabaseUrl.Parse(postgres);
        var schema = "bench_" + Guid.NewGuid().ToString("N");
        var prefix = "bench-" + Guid.NewGuid().ToString("N")[..8];
        await using (var admin = new NpgsqlConnection(url.ConnectionString))
        {
            await admin.OpenAsync(cancellationToken);
            await admin.ExecuteAsync($"CREATE SCHEMA {schema}");
        }
        var separator = postgres.Contains('?', StringComparison.Ordinal) ? "&" : "?";
        var connection = $"{postgres}{separator}options={Uri.EscapeDataString("-c search_path=" + schema)}";
        try
        {
            var results = new List<BenchResult>();
            var simulated = await MeasureSimulationAsync(environment, connection, transportUrl, prefix, count, concurrency, cancellationToken);
            results.AddRange(simulated.Results);
            var baseline = await MeasureNovaServiceAsync(connection, transportUrl, prefix + "-python", cancellationToken);
            results.Add(new BenchResult("nova Service, 1 compute (Python)", "RSS", baseline.RssMiB, "MiB"));
            results.Add(new BenchResult("nova Service, 1 compute (Python)", "CPU per heartbeat", baseline.CpuMsPerBeat, "ms"));
            results.Add(new BenchResult($"simulate, per compute of {count}", "RSS", simulated.RssMiB / count, "MiB", "nova Service, 1 compute (Python)"));
            results.Add(new BenchResult($"simulate, per compute of {count}", "CPU per heartbeat", simulated.CpuMsPerBeat, "ms", "nova Service, 1 compute (Python)"));
            return results;
        }
        finally
        {
            await using (var admin = new NpgsqlConnection(url.ConnectionString))
            {
                await admin.OpenAsync(CancellationToken.None);
                await admin.ExecuteAsync($"DROP SCHEMA {schema} CASCADE");
            }
            await DeleteServerQueuesAsync(transportUrl, prefix, count);
        }
    }

    private sealed record Simulated(IReadOnlyList<BenchResult> Results, double RssMiB, double CpuMsPerBeat);

    private static async Task<Simulated> MeasureSimulationAsync(BenchEnvironment environment, string connection, string transportUrl, string prefix,
        int count, int concurrency, CancellationToken cancellationToken)
    {
        var conf = Path.Combine(environment.WorkDirectory, "simulate.conf");
        await File.WriteAllTextAsync(conf, $"""
            [DEFAULT]
            compute_driver = fake.FakeDriver
            state_path = {environment.WorkDirectory}
            transport_url = {transportUrl}
            report_interval = {ReportInterval}
            [database]
            connection = {connection}
            """, cancellationToken);
        // The published daemon (Native AOT), as an operator runs it, not the JIT build beside the bench.
        var daemon = RpcBenchmarks.PublishedDaemon() ?? throw new InvalidOperationException("no published daemon (dist/nova-compute/nova-compute): run through ./build.sh bench");
        var start = new ProcessStartInfo(daemon) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "simulate", "--count", $"{count}",
            "--host-prefix", prefix, "--start-concurrency", $"{concurrency}", "--config-file", conf })
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment.Remove("NOTIFY_SOCKET");
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var errors = 0;
        var watch = Stopwatch.StartNew();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Watch(e.Data);
        process.ErrorDataReceived += (_, e) => Watch(e.Data);
        void Watch(string? line)
        {
            if (line is null)
            {
                return;
            }
            if (line.Contains($"All {count}/{count} compute services serve", StringComparison.Ordinal))
            {
                ready.TrySetResult();
            }
            if (line.Contains(" ERROR ", StringComparison.Ordinal) || line.Contains(" CRITICAL ", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref errors);
                Console.WriteLine("   daemon: " + line);
            }
        }
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await ready.Task.WaitAsync(TimeSpan.FromMinutes(10), cancellationToken);
            var upSeconds = watch.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   {count} computes serving after {upSeconds:0.0} s ({concurrency} at a time, load {Load()}); settling {Settle.TotalSeconds:0} s, measuring {Steady.TotalSeconds:0} s"));
            await Task.Delay(Settle, cancellationToken);
            var steady = await SampleAsync(process.Id, connection, prefix + "-%", cancellationToken);

            var stopWatch = Stopwatch.StartNew();
            using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync(cancellationToken);
            }
            await process.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromMinutes(2), cancellationToken);
            var subject = $"simulate, {count} computes";
            return new Simulated(
            [
                new BenchResult(subject, "time to all up", upSeconds, "s", null, "<= 90 s"),
                new BenchResult(subject, "CPU (steady)", steady.Cores, "cores", null, "<= 0.25"),
                new BenchResult(subject, "RSS avg (steady)", steady.RssMiB, "MiB", null, "<= 1024 MiB"),
                new BenchResult(subject, "RSS max (steady)", steady.RssMaxMiB, "MiB"),
                new BenchResult(subject, "heartbeats/s", steady.Beats / Steady.TotalSeconds, "1/s", null, $"{count / (double)ReportInterval:0}/s"),
                new BenchResult(subject, "SIGTERM to exit", stopWatch.Elapsed.TotalSeconds, "s", null, $"exit {process.ExitCode}, {errors} error lines"),
            ], steady.RssMiB, steady.Beats > 0 ? steady.CpuSeconds * 1000 / steady.Beats : double.NaN);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    private sealed record Baseline(double RssMiB, double CpuMsPerBeat);

    private static async Task<Baseline> MeasureNovaServiceAsync(string connection, string transportUrl, string host, CancellationToken cancellationToken)
    {
        // SQLAlchemy names the driver in the URL; the options (search_path) pass through to libpq.
        var sqlalchemy = "postgresql+psycopg2://" + connection["postgresql://".Length..];
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-u", Path.Combine(AppContext.BaseDirectory, "Python", "nova_service_heartbeat.py"), sqlalchemy, transportUrl, host,
            $"{ReportInterval}" })
        {
            start.ArgumentList.Add(argument);
        }
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stderr = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data == "READY")
            {
                ready.TrySetResult();
            }
        };
        process.ErrorDataReceived += (_, e) => stderr.Enqueue(e.Data ?? "");
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var exited = process.WaitForExitAsync(cancellationToken);
            if (await Task.WhenAny(ready.Task, exited, Task.Delay(TimeSpan.FromMinutes(2), cancellationToken)) != ready.Task)
            {
                throw new InvalidOperationException("nova's Service did not start: " + string.Join("\n", stderr.TakeLast(20)));
            }
            await Task.Delay(Settle, cancellationToken);
            var steady = await SampleAsync(process.Id, connection, host, cancellationToken);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"   nova Service (Python): {steady.Beats} heartbeats, {steady.CpuSeconds:0.000} s CPU, {steady.RssMiB:0.0} MiB RSS over {Steady.TotalSeconds:0} s"));
            return new Baseline(steady.RssMiB, steady.Beats > 0 ? steady.CpuSeconds * 1000 / steady.Beats : double.NaN);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None);
            }
        }
    }

    private sealed record Sample(double Cores, double CpuSeconds, double RssMiB, double RssMaxMiB, long Beats);

    /// <summary>One minute: CPU time from the kernel's accounting, RSS every second, heartbeats from the database's report counts.</summary>
    private static async Task<Sample> SampleAsync(int pid, string connection, string hostPattern, CancellationToken cancellationToken)
    {
        await using var db = new NpgsqlConnection(ToNpgsql(connection));
        await db.OpenAsync(cancellationToken);
        const string Beats = "SELECT COALESCE(SUM(report_count), 0) FROM services WHERE host LIKE @hostPattern AND deleted = 0";
        using var process = Process.GetProcessById(pid);
        var beatsBefore = await db.ExecuteScalarAsync<long>(Beats, new { hostPattern });
        var cpuBefore = process.TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        var rss = new List<double>();
        while (watch.Elapsed < Steady)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            rss.Add(RssMiB(pid));
        }
        process.Refresh();
        var cpu = (process.TotalProcessorTime - cpuBefore).TotalSeconds;
        var elapsed = watch.Elapsed.TotalSeconds;
        var beats = await db.ExecuteScalarAsync<long>(Beats, new { hostPattern }) - beatsBefore;
        return new Sample(cpu / elapsed, cpu, rss.Average(), rss.Max(), beats);
    }

    /// <summary>The 1-minute load average: the machine is shared, and a figure means little without it.</summary>
    private static string Load() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    private static double RssMiB(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
            }
        }
        return double.NaN;
    }

    private static string ToNpgsql(string connection) => DatabaseUrl.Parse(connection).ConnectionString;

    /// <summary>compute.&lt;host&gt; queues outlive the processes (oslo declares them non-exclusive): the vhost is shared by later runs.</summary>
    private static async Task DeleteServerQueuesAsync(string transportUrl, string prefix, int count)
    {
        try
        {
            await using var rabbit = await RpcBenchmarks.RawConnectionAsync(transportUrl);
            await using var channel = await rabbit.CreateChannelAsync();
            var width = Math.Max(5, count.ToString(CultureInfo.InvariantCulture).Length);
            for (var i = 1; i <= count; i++)
            {
                await channel.QueueDeleteAsync($"compute.{prefix}-{i.ToString(CultureInfo.InvariantCulture).PadLeft(width, '0')}", ifUnused: false, ifEmpty: false);
            }
            await channel.QueueDeleteAsync($"compute.{prefix}-python", ifUnused: false, ifEmpty: false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Console.WriteLine($"   (queues of {prefix} left in the vhost: {ex.Message})");
        }
    }
}
