namespace NovaCompute.Compute.Drivers;

/// <summary>
/// What a virt driver reports for one node (nova's <c>get_available_resource</c> dict). Sizes in MB
/// and whole GB, as nova stores them; <see cref="CpuInfo"/> is the JSON text of the <c>cpu_info</c> column.
/// </summary>
public sealed record NodeResources
{
    public required string HypervisorHostname { get; init; }
    public required int Vcpus { get; init; }
    public required int MemoryMb { get; init; }
    public required int LocalGb { get; init; }
    public required int VcpusUsed { get; init; }
    public required int MemoryMbUsed { get; init; }
    public required int LocalGbUsed { get; init; }
    public required string HypervisorType { get; init; }
    public required int HypervisorVersion { get; init; }
    public required string CpuInfo { get; init; }
    public required int DiskAvailableLeast { get; init; }

    /// <summary>JSON list of <c>[arch, hypervisor type, vm mode]</c> triples the node can run.</summary>
    public required string SupportedInstances { get; init; }

    /// <summary>The node's uuid when the driver decides it (nova's ironic and predictable-uuid drivers); null lets the tracker pick one.</summary>
    public Guid? Uuid { get; init; }
}

/// <summary>
/// nova's <c>ComputeDriver</c> (nova/virt/driver.py), the part the service framework uses. A driver
/// that cannot do something throws <see cref="NotImplementedException"/>, which a caller over RPC
/// receives as Python's <c>NotImplementedError</c>, as from nova's drivers.
/// </summary>
public interface IComputeDriver
{
    /// <summary>The name <c>compute_driver</c> selects it by (<c>fake.FakeDriver</c>).</summary>
    string Name { get; }

    /// <summary>nova's <c>init_host</c>: prepare the host (directories, connections).</summary>
    Task InitHostAsync(string host, CancellationToken cancellationToken);

    /// <summary>nova's <c>cleanup_host</c>.</summary>
    Task CleanupHostAsync(string host, CancellationToken cancellationToken);

    /// <summary>The node names this driver manages (one for every driver but ironic's).</summary>
    IReadOnlyList<string> GetAvailableNodes();

    Task<NodeResources> GetAvailableResourceAsync(string nodename, CancellationToken cancellationToken);

    /// <summary>The host's <c>uptime</c> line.</summary>
    Task<string> GetHostUptimeAsync(CancellationToken cancellationToken);

    /// <summary><c>"enabled"</c> or <c>"disabled"</c>.</summary>
    string SetHostEnabled(bool enabled);

    /// <summary><c>"on_maintenance"</c> or <c>"off_maintenance"</c>.</summary>
    string HostMaintenanceMode(string host, bool mode);

    /// <summary>The result of <c>startup</c>, <c>shutdown</c> or <c>reboot</c>.</summary>
    string HostPowerAction(string action);
}
