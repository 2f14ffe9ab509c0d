using System.Globalization;

namespace NovaCompute.Bench;

/// <summary>
/// Start-up and idle footprint, repeated and interleaved: the published daemon from exec to READY=1
/// (local SQLite, the test broker, a NOTIFY_SOCKET this process bound) and its RSS two seconds
/// later; the floor server from exec to consuming; and, when NOVA_BENCH_RPC_BASELINE names another
/// build's published daemon, that one too, for before/after ratios in one run. Medians, with the
/// min-max of the per-round ratios and the load average beside them.
/// </summary>
internal sealed class StartupBenchmarks : IBenchmark
{
    private const int Rounds = 5;

    public string Name => "startup";

    public async Task<IReadOnlyList<BenchResult>> RunAsync(BenchEnvironment environment, CancellationToken cancellationToken)
    {
        var url = environment.TransportUrl ?? throw new InvalidOperationException("NOVA_TEST_TRANSPORT_URL is not set (run through ./build.sh bench)");
        var daemons = new List<(string Name, string Executable)>
        {
            ("daemon", RpcBenchmarks.PublishedDaemon() ?? throw new InvalidOperationException("no published daemon: run through ./build.sh bench")),
        };
        if (Environment.GetEnvironmentVariable("NOVA_BENCH_RPC_BASELINE") is { Length: > 0 } baseline)
        {
            daemons.Add(("baseline", baseline));
        }
        var ready = new Dictionary<string, List<double>>();
        var rss = new Dictionary<string, List<double>>();
        var loads = new List<double>();
        for (var round = 0; round < Rounds; round++)
        {
            loads.Add(ProcFigures.LoadAverage());
            foreach (var (name, executable) in daemons)
            {
                var host = $"bench-start-{name}-{Guid.NewGuid():N}"[..32];
                await using var server = await RpcBenchmarks.ChildServer.StartDaemonAsync(executable, host, url, Path.Combine(environment.WorkDirectory, host));
                await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
                Add(ready, name, server.StartToReady.TotalSeconds);
                Add(rss, name, server.RssMiB());
            }
            var id = Guid.NewGuid().ToString("N")[..10];
            await using (var floor = await RpcBenchmarks.ChildServer.StartAsync("floor", $"bench-{id}", $"bench-host-{id}", url))
            {
                Add(ready, "floor", floor.StartToReady.TotalSeconds);
            }
        }

        var load = string.Create(CultureInfo.InvariantCulture, $"load {loads.Average():0.0}");
        var results = new List<BenchResult>();
        foreach (var (name, _) in daemons)
        {
            results.Add(new BenchResult(name, "start -> READY=1", Median(ready[name]), "s", "floor", name == "daemon" ? "<= 0.4 s" : null,
                $"{load}; per-round ratio {Spread(ready[name], ready["floor"])}"));
            results.Add(new BenchResult(name, "RSS idle", Median(rss[name]), "MiB", name == "daemon" && daemons.Count > 1 ? "baseline" : null,
                name == "daemon" ? "<= 50 MiB" : null, load));
        }
        results.Add(new BenchResult("floor", "start -> consuming", Median(ready["floor"]), "s", Note: load));
        // The Print step pairs rows by metric name: give the floor's row the daemon's metric too.
        results.Add(new BenchResult("floor", "start -> READY=1", Median(ready["floor"]), "s", Note: "(= start -> consuming)"));
        return results;
    }

    private static void Add(Dictionary<string, List<double>> figures, string name, double value)
    {
        if (!figures.TryGetValue(name, out var list))
        {
            figures[name] = list = [];
        }
        list.Add(value);
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static string Spread(List<double> mine, List<double> floor)
    {
        var ratios = mine.Zip(floor, (m, f) => m / f).Order().ToList();
        return string.Create(CultureInfo.InvariantCulture, $"{ratios[0]:0.00}-{ratios[^1]:0.00}");
    }
}
