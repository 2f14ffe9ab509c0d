using Microsoft.Extensions.Logging;
using NovaCompute.Compute.Drivers;
using NovaCompute.Config;
using NovaCompute.Db;

namespace NovaCompute.Compute;

/// <summary>
/// nova's <c>ResourceTracker.update_available_resource</c> for a host without instances: asks the
/// driver about each node, creates the node's <c>compute_nodes</c> row on first sight (uuid from the
/// driver or a new one, <c>initial_*_allocation_ratio</c>, linked to this service's record), writes
/// it again only when a value changed, and soft-deletes rows of nodes the driver no longer reports.
/// Used amounts are what nova's tracker stores: the host reservations (plus instances, of which this
/// daemon has none); the driver's own view of free memory and disk is logged, as nova does, and the
/// real free disk is kept in <c>disk_available_least</c>.
/// </summary>
internal sealed partial class ResourceTracker(IComputeDriver driver, IComputeNodeRepository nodes, IServiceRepository services,
    ServiceIdentity identity, IConfigMonitor config, ILogger<ResourceTracker> logger) : IDisposable
{
    /// <summary>nova's <c>PciDevicePoolList</c> primitive with no pools: what a host without PCI passthrough stores.</summary>
    internal const string EmptyPciStats =
        """{"nova_object.name": "PciDevicePoolList", "nova_object.namespace": "nova", "nova_object.version": "1.1", "nova_object.data": {"objects": []}, "nova_object.changes": ["objects"]}""";

    // nova's COMPUTE_RESOURCE_SEMAPHORE: one update at a time, whoever asks.
    private readonly SemaphoreSlim _semaphore = new(1, 1);
    private volatile IReadOnlyList<ComputeNodeRecord> _nodes = [];

    /// <summary>The rows as last written or confirmed.</summary>
    public IReadOnlyList<ComputeNodeRecord> Nodes => _nodes;

    public async Task UpdateAvailableResourceAsync(bool startup, CancellationToken cancellationToken)
    {
        await _semaphore.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var nodenames = driver.GetAvailableNodes();
            var inDb = await nodes.ListAsync(identity.Host, cancellationToken).ConfigureAwait(false);
            var current = new List<ComputeNodeRecord>();
            foreach (var nodename in nodenames)
            {
                var resources = await driver.GetAvailableResourceAsync(nodename, cancellationToken).ConfigureAwait(false);
                LogHypervisorView(resources);
                var existing = inDb.FirstOrDefault(n => n.Values.HypervisorHostname == nodename);
                current.Add(await UpdateNodeAsync(resources, existing, cancellationToken).ConfigureAwait(false));
            }
            foreach (var orphan in inDb.Where(n => !nodenames.Contains(n.Values.HypervisorHostname)))
            {
                Log.DeletingOrphan(logger, orphan.Id, orphan.Values.HypervisorHostname, string.Join(", ", nodenames));
                await nodes.DestroyAsync(orphan.Id, cancellationToken).ConfigureAwait(false);
            }
            _nodes = current;
            if (startup)
            {
                Log.StartupDone(logger, current.Count);
            }
        }
        finally
        {
            _semaphore.Release();
        }
    }

    private async Task<ComputeNodeRecord> UpdateNodeAsync(NodeResources resources, ComputeNodeRecord? existing, CancellationToken cancellationToken)
    {
        var settings = config.Current;
        var service = await services.GetByHostAndBinaryAsync(identity.Host, identity.Binary, cancellationToken).ConfigureAwait(false);
        var values = TrackedValues(resources, settings, identity.Host, service?.Id, existing?.Values);
        ComputeNodeRecord record;
        if (existing is null)
        {
            var uuid = (resources.Uuid ?? Guid.NewGuid()).ToString();
            record = await nodes.CreateAsync(uuid, values, cancellationToken).ConfigureAwait(false);
            Log.Created(logger, identity.Host, resources.HypervisorHostname, uuid);
        }
        else if (existing.Values != values)
        {
            record = await nodes.UpdateAsync(existing.Id, values, cancellationToken).ConfigureAwait(false)
                ?? await nodes.CreateAsync((resources.Uuid ?? Guid.NewGuid()).ToString(), values, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            record = existing;
        }
        Log.FinalView(logger, values.HypervisorHostname, values.MemoryMb, values.MemoryMbUsed, values.LocalGb, values.LocalGbUsed,
            values.Vcpus, values.VcpusUsed, "[]");
        return record;
    }

    /// <summary>
    /// The row as nova's tracker leaves it for a node without instances: <c>_copy_resources</c> then
    /// <c>_update_usage_from_instances</c> (used = reservations, free = total − used).
    /// </summary>
    internal static ComputeNodeValues TrackedValues(NodeResources resources, NovaConfig settings, string host, int? serviceId, ComputeNodeValues? previous)
    {
        var memoryUsed = settings.Get(ComputeOptions.ReservedHostMemoryMb);
        var diskUsed = settings.Get(ComputeOptions.ReservedHostDiskMb) / 1024;
        static double? Ratio(double configured, double? kept) => kept ?? (configured == 0.0 ? null : configured);
        return new ComputeNodeValues
        {
            ServiceId = serviceId,
            Host = host,
            HypervisorHostname = resources.HypervisorHostname,
            Vcpus = resources.Vcpus,
            MemoryMb = resources.MemoryMb,
            LocalGb = resources.LocalGb,
            VcpusUsed = settings.Get(ComputeOptions.ReservedHostCpus),
            MemoryMbUsed = memoryUsed,
            LocalGbUsed = diskUsed,
            HypervisorType = resources.HypervisorType,
            HypervisorVersion = resources.HypervisorVersion,
            CpuInfo = resources.CpuInfo,
            DiskAvailableLeast = resources.DiskAvailableLeast,
            FreeRamMb = resources.MemoryMb - memoryUsed,
            FreeDiskGb = resources.LocalGb - diskUsed,
            CurrentWorkload = 0,
            RunningVms = 0,
            HostIp = settings.Get(ComputeOptions.MyIp),
            SupportedInstances = resources.SupportedInstances,
            PciStats = EmptyPciStats,
            Metrics = "[]",
            ExtraResources = null,
            Stats = """{"failed_builds": "0"}""",
            NumaTopology = null,
            // Only a new row takes the initial ratios; later runs keep what the row has (nova, with
            // cpu/ram/disk_allocation_ratio unset).
            CpuAllocationRatio = Ratio(settings.Get(ComputeOptions.InitialCpuAllocationRatio), previous?.CpuAllocationRatio),
            RamAllocationRatio = Ratio(settings.Get(ComputeOptions.InitialRamAllocationRatio), previous?.RamAllocationRatio),
            DiskAllocationRatio = Ratio(settings.Get(ComputeOptions.InitialDiskAllocationRatio), previous?.DiskAllocationRatio),
        };
    }

    private void LogHypervisorView(NodeResources r)
    {
        if (!logger.IsEnabled(LogLevel.Debug))
        {
            return;
        }
        var freeVcpus = r.Vcpus > 0 ? (r.Vcpus - r.VcpusUsed).ToString(System.Globalization.CultureInfo.InvariantCulture) : "unknown";
        Log.HypervisorView(logger, r.HypervisorHostname, r.MemoryMb - r.MemoryMbUsed, r.LocalGb - r.LocalGbUsed, freeVcpus, "None");
    }

    public void Dispose() => _semaphore.Dispose();

    private static partial class Log
    {
        [LoggerMessage(EventId = 1801, Level = LogLevel.Debug,
            Message = "Hypervisor/Node resource view: name={Node} free_ram={FreeRam}MB free_disk={FreeDisk}GB free_vcpus={FreeVcpus} pci_devices={PciDevices}")]
        public static partial void HypervisorView(ILogger logger, string node, int freeRam, int freeDisk, string freeVcpus, string pciDevices);

        [LoggerMessage(EventId = 1802, Level = LogLevel.Information,
            Message = "Final resource view: name={Node} phys_ram={PhysRam}MB used_ram={UsedRam}MB phys_disk={PhysDisk}GB used_disk={UsedDisk}GB total_vcpus={TotalVcpus} used_vcpus={UsedVcpus} pci_stats={PciStats}")]
        public static partial void FinalView(ILogger logger, string node, int physRam, int usedRam, int physDisk, int usedDisk, int totalVcpus, int usedVcpus, string pciStats);

        [LoggerMessage(EventId = 1803, Level = LogLevel.Information, Message = "Compute node record created for {Host}:{Node} with uuid: {Uuid}")]
        public static partial void Created(ILogger logger, string host, string node, string uuid);

        [LoggerMessage(EventId = 1804, Level = LogLevel.Information, Message = "Deleting orphan compute node {Id} hypervisor host is {HypervisorHostname}, nodes are {Nodes}")]
        public static partial void DeletingOrphan(ILogger logger, int id, string hypervisorHostname, string nodes);

        [LoggerMessage(EventId = 1805, Level = LogLevel.Debug, Message = "Resources of {Count} node(s) updated at start-up")]
        public static partial void StartupDone(ILogger logger, int count);
    }
}
