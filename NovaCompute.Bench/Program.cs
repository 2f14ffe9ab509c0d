using System.Globalization;

namespace NovaCompute.Bench;

/// <summary>Runs every <see cref="IBenchmark"/> in this assembly (or those named) and prints a table.</summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var all = typeof(Program).Assembly.GetTypes()
            .Where(t => typeof(IBenchmark).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
            .Select(t => (IBenchmark)Activator.CreateInstance(t, nonPublic: true)!)
            .OrderBy(b => b.Name, StringComparer.Ordinal)
            .ToList();
        var selected = args.Length == 0 ? all : all.Where(b => args.Contains(b.Name)).ToList();
        var unknown = args.Except(all.Select(b => b.Name)).ToList();
        if (unknown.Count > 0)
        {
            Console.Error.WriteLine($"unknown benchmark(s): {string.Join(", ", unknown)}; known: {string.Join(", ", all.Select(b => b.Name))}");
            return 2;
        }
        if (selected.Count == 0)
        {
            Console.WriteLine("no benchmarks");
            return 0;
        }

        var environment = new BenchEnvironment();
        var failed = 0;
        foreach (var benchmark in selected)
        {
            Console.WriteLine($"== {benchmark.Name}");
            try
            {
                var results = await benchmark.RunAsync(environment, CancellationToken.None);
                Print(results);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                failed++;
                Console.WriteLine($"   FAILED: {ex.GetType().Name}: {ex.Message}");
            }
        }
        try
        {
            Directory.Delete(environment.WorkDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Left for the OS's temp cleaner; a benchmark may still hold a file open.
        }
        return failed == 0 ? 0 : 1;
    }

    private static void Print(IReadOnlyList<BenchResult> results)
    {
        foreach (var r in results)
        {
            var line = string.Create(CultureInfo.InvariantCulture, $"   {r.Subject,-44} {r.Metric,-18} {r.Value,12:0.###} {r.Unit}");
            if (r.Baseline is not null && results.FirstOrDefault(b => b.Subject == r.Baseline && b.Metric == r.Metric) is { Value: > 0 } baseline)
            {
                line += string.Create(CultureInfo.InvariantCulture, $"   ratio {r.Value / baseline.Value:0.00} x {r.Baseline}");
            }
            if (r.Target is not null)
            {
                line += $"   (target: {r.Target})";
            }
            if (r.Note is not null)
            {
                line += $"   [{r.Note}]";
            }
            Console.WriteLine(line);
        }
    }
}
