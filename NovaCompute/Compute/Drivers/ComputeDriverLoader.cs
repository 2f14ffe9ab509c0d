using NovaCompute.Config;

namespace NovaCompute.Compute.Drivers;

/// <summary>
/// nova's <c>load_compute_driver</c>: <c>compute_driver</c> names the driver, and is required.
/// Unlike nova (which logs and exits 1 from deep inside the manager's constructor), a missing or
/// unknown driver is a configuration error reported before anything starts (exit 78).
/// </summary>
public static class ComputeDriverLoader
{
    public const string HostDriverName = "host.HostDriver";

    /// <summary>The drivers this daemon ships, with what they are for (the sample lists them).</summary>
    public static IReadOnlyList<(string Name, string Description)> Drivers { get; } =
    [
        (HostDriverName, "this machine's real CPUs, memory and the disk under instances_path; runs no instances"),
        ("fake.FakeDriver", "nova's fake driver: 1000 vCPUs, 800000 MB, 600000 GB (scale tests)"),
        ("fake.SmallFakeDriver", "nova's fake driver with 2 vCPUs, 8192 MB, 1028 GB"),
        ("fake.MediumFakeDriver", "nova's fake driver with 10 vCPUs, 8192 MB, 1028 GB"),
    ];

    public static IReadOnlyList<string> Known { get; } = [.. Drivers.Select(d => d.Name)];

    /// <summary>The problem with the configured driver, or null when it can be loaded.</summary>
    public static string? Problem(NovaConfig config) => config.Get(ComputeOptions.ComputeDriver) switch
    {
        null or "" => $"Compute driver option required, but not specified: set [DEFAULT] compute_driver to one of {string.Join(", ", Known)}",
        var name when !Known.Contains(name) => $"Unable to load the virtualization driver '{name}': [DEFAULT] compute_driver must be one of {string.Join(", ", Known)}",
        _ => null,
    };

    public static IComputeDriver Load(NovaConfig config)
    {
        if (Problem(config) is { } problem)
        {
            throw new InvalidOperationException(problem);
        }
        return config.Get(ComputeOptions.ComputeDriver) switch
        {
            HostDriverName => new HostDriver(config.Get(ComputeOptions.InstancesPath) ?? "/var/lib/nova/instances"),
            "fake.SmallFakeDriver" => new SmallFakeDriver(),
            "fake.MediumFakeDriver" => new MediumFakeDriver(),
            _ => new FakeDriver(),
        };
    }
}
