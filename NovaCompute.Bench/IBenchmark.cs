namespace NovaCompute.Bench;

/// <summary>
/// One benchmark. It measures its subject and, in the same run, the baseline it is judged against,
/// so results are reported as ratios that survive a noisy shared machine.
/// </summary>
internal interface IBenchmark
{
    /// <summary>Short name used on the command line (<c>./build.sh bench NAME</c>).</summary>
    string Name { get; }

    Task<IReadOnlyList<BenchResult>> RunAsync(BenchEnvironment environment, CancellationToken cancellationToken);
}

/// <summary>One measured figure. <see cref="Baseline"/> names the row it is compared with, if any; <see cref="Note"/> says how it was taken (load, spread).</summary>
internal sealed record BenchResult(string Subject, string Metric, double Value, string Unit, string? Baseline = null, string? Target = null, string? Note = null);

/// <summary>What the benchmarks may use: the services <c>./build.sh bench</c> started.</summary>
internal sealed class BenchEnvironment
{
    public string? TransportUrl { get; } = Environment.GetEnvironmentVariable("NOVA_TEST_TRANSPORT_URL");
    public string? PostgresUrl { get; } = Environment.GetEnvironmentVariable("NOVA_TEST_DATABASE_URL");
    public string WorkDirectory { get; } = Directory.CreateTempSubdirectory("nova-bench-").FullName;
}
