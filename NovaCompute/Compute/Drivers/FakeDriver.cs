namespace NovaCompute.Compute.Drivers;

/// <summary>
/// nova's <c>nova.virt.fake.FakeDriver</c>: a pretend hypervisor with lots of CPU, memory and disk
/// (1000 vCPUs, 800000 MB, 600000 GB), what nova uses to simulate many computes. The node is named
/// after the host (<c>fake-mini</c> for a host called <c>compute</c>, as nova's samples expect).
/// Host actions answer as nova's fake does; it has no uptime (nova's raises NotImplementedError).
/// </summary>
public class FakeDriver : IComputeDriver
{
    // json.dumps of nova's OrderedDict, byte for byte.
    internal const string FakeCpuInfo =
        """{"arch": "x86_64", "model": "Nehalem", "vendor": "Intel", "features": ["pge", "clflush"], "topology": {"cores": 1, "threads": 1, "sockets": 4}}""";

    private volatile IReadOnlyList<string> _nodes = [];

    public FakeDriver(int vcpus = 1000, int memoryMb = 800000, int localGb = 600000)
    {
        Vcpus = vcpus;
        MemoryMb = memoryMb;
        LocalGb = localGb;
    }

    public virtual string Name => "fake.FakeDriver";

    public int Vcpus { get; }

    public int MemoryMb { get; }

    public int LocalGb { get; }

    public Task InitHostAsync(string host, CancellationToken cancellationToken)
    {
        _nodes = [host == "compute" ? "fake-mini" : host];
        return Task.CompletedTask;
    }

    public Task CleanupHostAsync(string host, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>nova's <c>_set_nodes</c>: tests make one driver manage several nodes.</summary>
    public void SetNodes(IReadOnlyList<string> nodes) => _nodes = [.. nodes];

    public IReadOnlyList<string> GetAvailableNodes() => _nodes;

    public Task<NodeResources> GetAvailableResourceAsync(string nodename, CancellationToken cancellationToken)
    {
        if (!_nodes.Contains(nodename))
        {
            throw new ArgumentException($"{nodename} is not a node of this driver", nameof(nodename));
        }
        return Task.FromResult(new NodeResources
        {
            HypervisorHostname = nodename,
            Vcpus = Vcpus,
            MemoryMb = MemoryMb,
            LocalGb = LocalGb,
            VcpusUsed = 0,
            MemoryMbUsed = 0,
            LocalGbUsed = 0,
            HypervisorType = "fake",
            // versionutils.convert_version_to_int('1.0')
            HypervisorVersion = 1000,
            CpuInfo = FakeCpuInfo,
            DiskAvailableLeast = 0,
            SupportedInstances = """[["x86_64", "fake", "hvm"]]""",
        });
    }

    public Task<string> GetHostUptimeAsync(CancellationToken cancellationToken) =>
        throw new NotImplementedException($"{Name} does not report a host uptime");

    public string SetHostEnabled(bool enabled) => enabled ? "enabled" : "disabled";

    public string HostMaintenanceMode(string host, bool mode) => mode ? "on_maintenance" : "off_maintenance";

    public string HostPowerAction(string action) => action;
}

/// <summary>nova's <c>fake.SmallFakeDriver</c>: the sizes nova's API samples expect.</summary>
public sealed class SmallFakeDriver() : FakeDriver(2, 8192, 1028)
{
    public override string Name => "fake.SmallFakeDriver";
}

/// <summary>nova's <c>fake.MediumFakeDriver</c>: room for a few instances, easy to exhaust.</summary>
public sealed class MediumFakeDriver() : FakeDriver(10, 8192, 1028)
{
    public override string Name => "fake.MediumFakeDriver";
}
