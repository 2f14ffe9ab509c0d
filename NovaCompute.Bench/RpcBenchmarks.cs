using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using NovaCompute.Messaging;
using NovaCompute.Messaging.Rpc;

namespace NovaCompute.Bench;

/// <summary>
/// RPC call throughput, latency, server CPU and broker CPU per call, at concurrency 1, 8 and 64, for
/// the published daemon; a raw RabbitMQ.Client server with oslo's delivery rules and nothing else
/// (the floor: ack before work, reply mandatory, persistent, publisher-confirmed; no parsing
/// beyond finding _msg_id and _reply_q); and a real oslo.messaging server when Debian's
/// python3-oslo.messaging is installed. One client drives them all: ours, sending requests with the
/// request context nova's ComputeAPI sends (<see cref="NovaRequest"/>). Each server runs in a
/// process of its own so that its CPU time can be read from the kernel; the broker's CPU is read
/// from the shared node's beam.smp the same way (read only).
/// Every subject is first driven until neither its server process nor this one compiles methods any
/// more (the daemon, which cannot be asked, for a fixed time): a fresh .NET process on a busy
/// two-core machine spends many seconds in tiered JIT, and figures taken during that time measure
/// how much code each side has to compile, not what a call costs in a running daemon. All servers
/// then run side by side and each concurrency is measured in short rounds that alternate between
/// the subjects, so that a change in the machine's background load (other builds) falls on every
/// subject alike. Each figure's note gives the spread of the per-round ratios and the mean load
/// average, to say how far the machine's noise moved it; the broker's idle CPU (other vhosts'
/// traffic) is sampled in a slice of its own each round and reported beside.
/// Variables: NOVA_BENCH_RPC_SUBJECTS (comma list of daemon, floor, oslo, ours, baseline; default
/// all but ours), NOVA_BENCH_RPC_BASELINE (another build's published nova-compute: the subject
/// "baseline", for before/after ratios in one run), NOVA_BENCH_RPC_CONCURRENCIES (e.g. "1"),
/// NOVA_BENCH_RPC_ROUNDS, NOVA_COMPUTE_PUBLISHED (the daemon to measure). With NOVA_BENCH_RPC_ROLE=load
/// it only drives a running daemon (see <see cref="DriveAsync"/>).
/// </summary>
internal sealed partial class RpcBenchmarks : IBenchmark
{
    private const string RoleVariable = "NOVA_BENCH_RPC_ROLE";
    private const string TopicVariable = "NOVA_BENCH_RPC_TOPIC";
    private const string HostVariable = "NOVA_BENCH_RPC_HOST";
    private const string BaselineVariable = "NOVA_BENCH_RPC_BASELINE";
    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(0.5);
    private static readonly TimeSpan SettleSlice = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan SettleLimit = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan UncountedSettle = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan DaemonSettle = TimeSpan.FromSeconds(10);
    private const int SettledJitDelta = 2;
    private const string JitQuery = "jit";

    public string Name => "rpc";

    public async Task<IReadOnlyList<BenchResult>> RunAsync(BenchEnvironment environment, CancellationToken cancellationToken)
    {
        var url = environment.TransportUrl ?? throw new InvalidOperationException("NOVA_TEST_TRANSPORT_URL is not set (run through ./build.sh bench)");
        switch (Environment.GetEnvironmentVariable(RoleVariable))
        {
            case "ours":
                await ServeOursAsync(url);
                return [];
            case "floor":
                await ServeFloorAsync(url);
                return [];
            case "load":
                return await DriveAsync(url);
        }

        var wanted = (Environment.GetEnvironmentVariable("NOVA_BENCH_RPC_SUBJECTS") is { Length: > 0 } list ? list : "daemon,baseline,floor,oslo")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        var concurrencies = Environment.GetEnvironmentVariable("NOVA_BENCH_RPC_CONCURRENCIES") is { Length: > 0 } c
            ? c.Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray()
            : [1, 8, 64];
        var rounds = Environment.GetEnvironmentVariable("NOVA_BENCH_RPC_ROUNDS") is { Length: > 0 } r ? int.Parse(r, CultureInfo.InvariantCulture) : 6;
        var brokerPid = ProcFigures.BrokerPid();
        if (brokerPid is null)
        {
            Console.WriteLine("   (no beam.smp process found: broker CPU not measured)");
        }

        var results = new List<BenchResult>();
        var settings = new RabbitSettings { TransportUrl = TransportUrl.Parse(url), ConnectionNamePrefix = "nova-bench" };
        await using var transport = new RabbitTransport(settings, NullLoggerFactory.Instance, TimeProvider.System);
        await using var waiter = new RpcReplyWaiter(transport, NullLogger<RpcReplyWaiter>.Instance);
        Func<int, Task> Caller(string topic, string host)
        {
            var client = new RpcClient(waiter, new RpcTarget { Topic = topic, Server = host, Namespace = "baseapi", Version = "1.0" }, timeout: TimeSpan.FromSeconds(60));
            return i => client.CallAsync(NovaRequest.Context(), "ping", PingArgs(i));
        }

        var subjects = new List<Subject>();
        try
        {
            if (wanted.Contains("daemon"))
            {
                var daemon = PublishedDaemon() ?? throw new InvalidOperationException("no published daemon (dist/nova-compute/nova-compute): run through ./build.sh bench");
                subjects.Add(await StartDaemonSubjectAsync("daemon", daemon, url, environment, Caller));
            }
            if (wanted.Contains("baseline") && Environment.GetEnvironmentVariable(BaselineVariable) is { Length: > 0 } baseline)
            {
                subjects.Add(await StartDaemonSubjectAsync("baseline", baseline, url, environment, Caller));
            }
            if (wanted.Contains("ours"))
            {
                var (topic, host) = Names();
                var server = await ChildServer.StartAsync("ours", topic, host, url);
                subjects.Add(new Subject("ours", server, Caller(topic, host)));
            }
            if (wanted.Contains("floor"))
            {
                var (topic, host) = Names();
                var server = await ChildServer.StartAsync("floor", topic, host, url);
                subjects.Add(new Subject("floor", server, Caller(topic, host)));
            }
            var script = OsloPeerScript();
            if (wanted.Contains("oslo") && script is not null && OsloInstalled())
            {
                var (topic, host) = Names();
                var server = await ChildServer.StartPythonAsync(script, topic, host, url);
                subjects.Add(new Subject("oslo server", server, Caller(topic, host)));
            }
            else if (wanted.Contains("oslo"))
            {
                Console.WriteLine("   (python3-oslo.messaging not installed: oslo server skipped)");
            }
            foreach (var subject in subjects)
            {
                results.Add(new BenchResult(subject.Name, "start -> ready", subject.Server.StartToReady.TotalSeconds, "s",
                    Note: subject.Name is "daemon" or "baseline" ? "READY=1 on NOTIFY_SOCKET" : "READY on stdout (consuming)"));
            }
            foreach (var subject in subjects.Where(s => s.IdleRssMiB is not null))
            {
                results.Add(new BenchResult(subject.Name, "RSS idle", subject.IdleRssMiB!.Value, "MiB", Target: subject.Name == "daemon" ? "<= 50 MiB" : null));
            }
            await MeasureAllAsync(subjects, concurrencies, rounds, brokerPid, results);
            foreach (var subject in subjects.Where(s => s.IdleRssMiB is not null))
            {
                results.Add(new BenchResult(subject.Name, "RSS after load", subject.Server.RssMiB(), "MiB", Target: subject.Name == "daemon" ? "<= 64 MiB" : null));
            }
        }
        finally
        {
            foreach (var subject in subjects)
            {
                await subject.Server.DisposeAsync();
            }
        }

        foreach (var concurrency in concurrencies)
        {
            foreach (var name in new[] { "daemon", "baseline", "ours" })
            {
                var subject = $"{name} c={concurrency}";
                var floor = $"floor c={concurrency}";
                var mine = name == "daemon";
                Annotate(results, subject, "calls/s", floor, mine && concurrency == 64 ? ">= 1.2 x floor" : null);
                Annotate(results, subject, "p50 latency", floor, mine && concurrency == 1 ? "<= 1.3 x floor" : null);
                Annotate(results, subject, "p99 latency", floor, null);
                Annotate(results, subject, "server CPU", floor, mine && concurrency == 1 ? "<= 1.5 x floor" : null);
                Annotate(results, subject, "broker CPU", floor, mine ? "<= 1.1 x floor" : null);
            }
            if (results.Any(r => r.Subject == $"oslo server c={concurrency}") && results.FirstOrDefault(r => r.Subject == $"daemon c={concurrency}" && r.Metric == "calls/s") is { } ours)
            {
                results.Add(ours with { Subject = $"daemon c={concurrency} (vs oslo)", Baseline = $"oslo server c={concurrency}", Target = concurrency == 64 ? ">= 5 x oslo" : null, Note = null });
            }
        }
        Annotate(results, "daemon", "start -> ready", "floor", "<= 0.4 s");
        Annotate(results, "baseline", "start -> ready", "floor", null);
        Annotate(results, "daemon", "RSS idle", "baseline", "<= 50 MiB");
        Annotate(results, "daemon", "RSS after load", "baseline", "<= 64 MiB");
        return results;
    }

    /// <summary>
    /// For profiling with the runtime's own tools (dotnet-counters, dotnet-trace) attached to a
    /// server: steady load on <c>compute.&lt;NOVA_BENCH_RPC_HOST&gt;</c> at NOVA_BENCH_RPC_CONCURRENCIES
    /// (first value) for NOVA_BENCH_RPC_SECONDS, then the number of calls, so counters become per call.
    /// </summary>
    private static async Task<IReadOnlyList<BenchResult>> DriveAsync(string url)
    {
        var host = Environment.GetEnvironmentVariable(HostVariable) ?? throw new InvalidOperationException($"{HostVariable} names the daemon's host");
        var concurrency = int.Parse((Environment.GetEnvironmentVariable("NOVA_BENCH_RPC_CONCURRENCIES") ?? "1").Split(',')[0], CultureInfo.InvariantCulture);
        var seconds = double.Parse(Environment.GetEnvironmentVariable("NOVA_BENCH_RPC_SECONDS") ?? "20", CultureInfo.InvariantCulture);
        var settings = new RabbitSettings { TransportUrl = TransportUrl.Parse(url), ConnectionNamePrefix = "nova-bench" };
        await using var transport = new RabbitTransport(settings, NullLoggerFactory.Instance, TimeProvider.System);
        await using var waiter = new RpcReplyWaiter(transport, NullLogger<RpcReplyWaiter>.Instance);
        var client = new RpcClient(waiter, new RpcTarget { Topic = ServiceIdentity.ComputeTopic, Server = host, Namespace = "baseapi", Version = "1.0" }, timeout: TimeSpan.FromSeconds(60));
        var (calls, elapsed, latencies) = await RunLoadAsync(i => client.CallAsync(NovaRequest.Context(), "ping", PingArgs(i)), concurrency, TimeSpan.FromSeconds(seconds));
        latencies.Sort();
        return [new BenchResult($"compute.{host} c={concurrency}", "calls", calls, "", Note: string.Create(CultureInfo.InvariantCulture,
            $"{calls / elapsed.TotalSeconds:0} /s, p50 {Percentile(latencies, 0.5):0.000} ms, load {ProcFigures.LoadAverage():0.0}"))];
    }

    private static async Task<Subject> StartDaemonSubjectAsync(string name, string executable, string url, BenchEnvironment environment,
        Func<string, string, Func<int, Task>> caller)
    {
        var host = "bench-" + name + "-" + Guid.NewGuid().ToString("N")[..8];
        var server = await ChildServer.StartDaemonAsync(executable, host, url, Path.Combine(environment.WorkDirectory, host));
        // Idle: past start-up's allocations, before any call (a heartbeat or two has run).
        await Task.Delay(TimeSpan.FromSeconds(3));
        var rss = server.RssMiB();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   ({name}: pid {server.Pid}, READY=1 after {server.StartToReady.TotalSeconds:0.000} s, {executable})"));
        return new Subject(name, server, caller(ServiceIdentity.ComputeTopic, host)) { IdleRssMiB = rss };
    }

    private static void Annotate(List<BenchResult> results, string subject, string metric, string baseline, string? target)
    {
        var index = results.FindIndex(r => r.Subject == subject && r.Metric == metric);
        if (index >= 0)
        {
            results[index] = results[index] with { Baseline = baseline, Target = target ?? results[index].Target };
        }
    }

    private static (string Topic, string Host) Names()
    {
        var id = Guid.NewGuid().ToString("N")[..10];
        return ($"bench-{id}", $"bench-host-{id}");
    }

    private static Dictionary<string, object?> PingArgs(int i) => new() { ["arg"] = new Dictionary<string, object?> { ["seq"] = i, ["tag"] = "anchor" } };

    private static async Task MeasureAllAsync(List<Subject> subjects, int[] concurrencies, int rounds, int? brokerPid, List<BenchResult> results)
    {
        foreach (var subject in subjects)
        {
            await SettleAsync(subject, concurrencies.Max());
        }
        var bySubject = subjects.Select(_ => new List<BenchResult>()).ToArray();
        var floorIndex = subjects.FindIndex(s => s.Name == "floor");
        foreach (var concurrency in concurrencies)
        {
            // CPU times come in 10 ms ticks: a slice must hold enough calls for a per-round figure to mean something.
            var slice = TimeSpan.FromSeconds(concurrency == 1 ? 1.0 : 0.75);
            var tallies = subjects.Select(_ => new Tally()).ToArray();
            var idle = new Tally();
            foreach (var subject in subjects)
            {
                await RunLoadAsync(subject.Call, concurrency, Warmup);
            }
            for (var round = 0; round < rounds; round++)
            {
                for (var i = 0; i < subjects.Count; i++)
                {
                    var load = ProcFigures.LoadAverage();
                    var cpuBefore = subjects[i].Server.CpuTime();
                    var brokerBefore = brokerPid is { } b ? ProcFigures.CpuTime(b) : TimeSpan.Zero;
                    var (calls, elapsed, latencies) = await RunLoadAsync(subjects[i].Call, concurrency, slice);
                    var broker = brokerPid is { } b2 ? ProcFigures.CpuTime(b2) - brokerBefore : TimeSpan.Zero;
                    tallies[i].Add(calls, elapsed, subjects[i].Server.CpuTime() - cpuBefore, broker, latencies, load);
                }
                if (brokerPid is { } pid)
                {
                    // What the broker spends meanwhile on everybody else's vhosts, with none of our calls.
                    var brokerBefore = ProcFigures.CpuTime(pid);
                    var watch = Stopwatch.StartNew();
                    await Task.Delay(slice);
                    idle.Add(0, watch.Elapsed, TimeSpan.Zero, ProcFigures.CpuTime(pid) - brokerBefore, [], ProcFigures.LoadAverage());
                }
            }
            for (var i = 0; i < subjects.Count; i++)
            {
                var tally = tallies[i];
                var floor = floorIndex >= 0 && floorIndex != i ? tallies[floorIndex] : null;
                var name = $"{subjects[i].Name} c={concurrency}";
                var load = string.Create(CultureInfo.InvariantCulture, $"load {tally.Loads.Average():0.0}");
                string Note(Func<Round, double> figure) =>
                    floor is null ? load : $"{load}; per-round ratio {Spread(tally.Rounds, floor.Rounds, figure)}";
                bySubject[i].Add(new BenchResult(name, "calls/s", tally.Calls / tally.Elapsed.TotalSeconds, "1/s", Note: Note(r => r.Calls / r.Elapsed.TotalSeconds)));
                bySubject[i].Add(new BenchResult(name, "p50 latency", Percentile(tally.Latencies, 0.50), "ms", Note: Note(r => r.P50)));
                bySubject[i].Add(new BenchResult(name, "p99 latency", Percentile(tally.Latencies, 0.99), "ms", Note: load));
                bySubject[i].Add(new BenchResult(name, "server CPU", tally.Cpu.TotalMicroseconds / tally.Calls, "us/call", Note: Note(r => r.Cpu.TotalMicroseconds / r.Calls)));
                if (brokerPid is not null)
                {
                    var idlePerSecond = idle.Broker.TotalMicroseconds / idle.Elapsed.TotalSeconds;
                    var net = (tally.Broker.TotalMicroseconds - idlePerSecond * tally.Elapsed.TotalSeconds) / tally.Calls;
                    bySubject[i].Add(new BenchResult(name, "broker CPU", tally.Broker.TotalMicroseconds / tally.Calls, "us/call",
                        Note: Note(r => r.Broker.TotalMicroseconds / r.Calls) + string.Create(CultureInfo.InvariantCulture,
                            $"; broker idle {idlePerSecond / 1000:0} ms/s, less idle {net:0} us/call")));
                }
            }
        }
        results.AddRange(bySubject.SelectMany(r => r));
    }

    // min-max of subject/floor over the rounds: how far the machine's noise moved the ratio.
    private static string Spread(List<Round> mine, List<Round> floor, Func<Round, double> figure)
    {
        var ratios = mine.Zip(floor, (m, f) => figure(f) > 0 ? figure(m) / figure(f) : double.NaN).Where(double.IsFinite).Order().ToList();
        return ratios.Count == 0 ? "n/a" : string.Create(CultureInfo.InvariantCulture, $"{ratios[0]:0.00}-{ratios[^1]:0.00} (median {ratios[ratios.Count / 2]:0.00})");
    }

    private sealed record Subject(string Name, ChildServer Server, Func<int, Task> Call)
    {
        public double? IdleRssMiB { get; init; }
    }

    private sealed record Round(int Calls, TimeSpan Elapsed, TimeSpan Cpu, TimeSpan Broker, double P50);

    private sealed class Tally
    {
        public int Calls { get; private set; }
        public TimeSpan Elapsed { get; private set; }
        public TimeSpan Cpu { get; private set; }
        public TimeSpan Broker { get; private set; }
        public List<double> Latencies { get; } = [];
        public List<double> Loads { get; } = [];
        public List<Round> Rounds { get; } = [];

        public void Add(int calls, TimeSpan elapsed, TimeSpan cpu, TimeSpan broker, List<double> latencies, double load)
        {
            Calls += calls;
            Elapsed += elapsed;
            Cpu += cpu;
            Broker += broker;
            latencies.Sort();
            Rounds.Add(new Round(calls, elapsed, cpu, broker, Percentile(latencies, 0.5)));
            Latencies.AddRange(latencies);
            Latencies.Sort();
            Loads.Add(load);
        }
    }

    /// <summary>
    /// Drives the server at the highest concurrency until one slice passes in which neither process
    /// compiled more than a couple of methods (tier-1 promotion, OSR, PGO rejits). A server that
    /// cannot say gets a fixed warm-up instead: the daemon a long one, the Python server a short one.
    /// </summary>
    private static async Task SettleAsync(Subject subject, int concurrency)
    {
        var started = Stopwatch.StartNew();
        var serverJit = await subject.Server.JitCountAsync();
        if (serverJit is null)
        {
            await RunLoadAsync(subject.Call, concurrency, subject.IdleRssMiB is null ? UncountedSettle : DaemonSettle);
            // Then one at a time, so that code only the low-load path runs is compiled too.
            await RunLoadAsync(subject.Call, 1, SettleSlice);
            return;
        }
        var ownJit = System.Runtime.JitInfo.GetCompiledMethodCount();
        while (started.Elapsed < SettleLimit)
        {
            await RunLoadAsync(subject.Call, concurrency, SettleSlice);
            var (serverNow, ownNow) = (await subject.Server.JitCountAsync(), System.Runtime.JitInfo.GetCompiledMethodCount());
            if (serverNow - serverJit <= SettledJitDelta && ownNow - ownJit <= SettledJitDelta)
            {
                return;
            }
            (serverJit, ownJit) = (serverNow, ownNow);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"   ({subject.Name}: still compiling after {SettleLimit.TotalSeconds} s of warm-up; its figures include JIT time)"));
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))];

    private static async Task<(int Calls, TimeSpan Elapsed, List<double> LatenciesMs)> RunLoadAsync(Func<int, Task> call, int concurrency, TimeSpan duration)
    {
        var latencies = new ConcurrentBag<List<double>>();
        var calls = 0;
        var sequence = 0;
        var watch = Stopwatch.StartNew();
        var until = duration.TotalSeconds;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            var mine = new List<double>(4096);
            while (watch.Elapsed.TotalSeconds < until)
            {
                var start = Stopwatch.GetTimestamp();
                await call(Interlocked.Increment(ref sequence));
                mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                Interlocked.Increment(ref calls);
            }
            latencies.Add(mine);
        })));
        return (calls, watch.Elapsed, latencies.SelectMany(l => l).ToList());
    }

    private static string? OsloPeerScript()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "NovaCompute.Tests", "Messaging", "Python", "oslo_peer.py");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    private static bool OsloInstalled()
    {
        if (!File.Exists("/usr/bin/python3"))
        {
            return false;
        }
        using var probe = Process.Start(new ProcessStartInfo("/usr/bin/python3", "-c \"import oslo_messaging\"") { RedirectStandardError = true })!;
        probe.WaitForExit();
        return probe.ExitCode == 0;
    }
}
