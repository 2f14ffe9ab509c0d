using System.Data.Common;

namespace NovaCompute.Db;

/// <summary>The <c>compute_nodes</c> table, as nova's resource tracker and <c>ComputeNode</c> object use it.</summary>
internal interface IComputeNodeRepository
{
    /// <summary>Live nodes of a host, by id (nova's <c>compute_node_get_all_by_host</c>); all live nodes when null.</summary>
    Task<IReadOnlyList<ComputeNodeRecord>> ListAsync(string? host, CancellationToken cancellationToken);

    /// <summary>Inserts a live row (<c>mapped = 0</c>, <c>created_at</c> from the database's clock).</summary>
    Task<ComputeNodeRecord> CreateAsync(string uuid, ComputeNodeValues values, CancellationToken cancellationToken);

    /// <summary>Writes every tracked column and <c>updated_at</c>; null when the row is gone.</summary>
    Task<ComputeNodeRecord?> UpdateAsync(int id, ComputeNodeValues values, CancellationToken cancellationToken);

    /// <summary>nova's soft delete; false when the row was already gone.</summary>
    Task<bool> DestroyAsync(int id, CancellationToken cancellationToken);
}

/// <summary>ADO.NET over <see cref="IDbConnectionFactory"/>, one statement per call, stamped with the database's clock.</summary>
internal sealed class ComputeNodeRepository(IDbConnectionFactory factory) : IComputeNodeRepository
{
    private bool Sqlite => factory.Dialect == DatabaseDialect.Sqlite;

    // PostgreSQL keeps host_ip as INET (nova's model): written through a cast, read back without the prefix length.
    private const string SqliteColumns = $"n.id, n.uuid, n.service_id, n.host, n.hypervisor_hostname, n.vcpus, n.memory_mb, n.local_gb, n.vcpus_used, n.memory_mb_used, n.local_gb_used, n.hypervisor_type, n.hypervisor_version, n.cpu_info, n.disk_available_least, n.free_ram_mb, n.free_disk_gb, n.current_workload, n.running_vms, n.host_ip, n.supported_instances, n.pci_stats, n.metrics, n.extra_resources, n.stats, n.numa_topology, n.cpu_allocation_ratio, n.ram_allocation_ratio, n.disk_allocation_ratio, n.mapped, n.created_at, n.updated_at";

    private const string PostgreSqlColumns = $"n.id, n.uuid, n.service_id, n.host, n.hypervisor_hostname, n.vcpus, n.memory_mb, n.local_gb, n.vcpus_used, n.memory_mb_used, n.local_gb_used, n.hypervisor_type, n.hypervisor_version, n.cpu_info, n.disk_available_least, n.free_ram_mb, n.free_disk_gb, n.current_workload, n.running_vms, host(n.host_ip), n.supported_instances, n.pci_stats, n.metrics, n.extra_resources, n.stats, n.numa_topology, n.cpu_allocation_ratio, n.ram_allocation_ratio, n.disk_allocation_ratio, n.mapped, n.created_at, n.updated_at";

    private string Columns => Sqlite ? SqliteColumns : PostgreSqlColumns;

    private string Now => Sqlite ? Schema.SqliteNow : Schema.PostgreSqlNow;

    private string HostIpParameter => Sqlite ? "@HostIp" : "CAST(@HostIp AS inet)";

    public async Task<IReadOnlyList<ComputeNodeRecord>> ListAsync(string? host, CancellationToken cancellationToken)
    {
        var sql = $"SELECT {Columns} FROM compute_nodes n WHERE n.deleted = 0" + (host is null ? "" : " AND n.host = @host") + " ORDER BY n.id";
        await using var connection = await factory.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command(sql);
        if (host is not null)
        {
            command.Bind("host", host);
        }
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<ComputeNodeRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(ComputeNodeRecord.Read(reader));
        }
        return rows;
    }

    private const string InsertColumns =
        "(created_at, updated_at, deleted_at, deleted, mapped, uuid, service_id, host, hypervisor_hostname, vcpus, memory_mb, local_gb, " +
        "vcpus_used, memory_mb_used, local_gb_used, hypervisor_type, hypervisor_version, cpu_info, disk_available_least, free_ram_mb, " +
        "free_disk_gb, current_workload, running_vms, host_ip, supported_instances, pci_stats, metrics, extra_resources, stats, " +
        "numa_topology, cpu_allocation_ratio, ram_allocation_ratio, disk_allocation_ratio)";

    public async Task<ComputeNodeRecord> CreateAsync(string uuid, ComputeNodeValues values, CancellationToken cancellationToken)
    {
        var sql = $"INSERT INTO compute_nodes {InsertColumns} VALUES ({Now}, NULL, NULL, 0, 0, @Uuid, @ServiceId, @Host, @HypervisorHostname, " +
            "@Vcpus, @MemoryMb, @LocalGb, @VcpusUsed, @MemoryMbUsed, @LocalGbUsed, @HypervisorType, @HypervisorVersion, @CpuInfo, " +
            $"@DiskAvailableLeast, @FreeRamMb, @FreeDiskGb, @CurrentWorkload, @RunningVms, {HostIpParameter}, @SupportedInstances, @PciStats, " +
            "@Metrics, @ExtraResources, @Stats, @NumaTopology, @CpuAllocationRatio, @RamAllocationRatio, @DiskAllocationRatio) RETURNING id";
        await using var connection = await factory.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = BindValues(connection.Command(sql), values).Bind("Uuid", uuid);
        // Not ExecuteScalar: it disposes the reader after the RETURNING row, before SQLite commits (see SingleRow).
        var id = await SingleRow.QueryAsync(command, static reader => (int?)reader.GetInt32(0), cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException("INSERT ... RETURNING returned no row");
        return await GetAsync(connection, id, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException("the compute node just inserted cannot be read back");
    }

    public async Task<ComputeNodeRecord?> UpdateAsync(int id, ComputeNodeValues values, CancellationToken cancellationToken)
    {
        var sql = $"UPDATE compute_nodes SET updated_at = {Now}, service_id = @ServiceId, host = @Host, hypervisor_hostname = @HypervisorHostname, " +
            "vcpus = @Vcpus, memory_mb = @MemoryMb, local_gb = @LocalGb, vcpus_used = @VcpusUsed, memory_mb_used = @MemoryMbUsed, " +
            "local_gb_used = @LocalGbUsed, hypervisor_type = @HypervisorType, hypervisor_version = @HypervisorVersion, cpu_info = @CpuInfo, " +
            "disk_available_least = @DiskAvailableLeast, free_ram_mb = @FreeRamMb, free_disk_gb = @FreeDiskGb, " +
            $"current_workload = @CurrentWorkload, running_vms = @RunningVms, host_ip = {HostIpParameter}, " +
            "supported_instances = @SupportedInstances, pci_stats = @PciStats, metrics = @Metrics, extra_resources = @ExtraResources, " +
            "stats = @Stats, numa_topology = @NumaTopology, cpu_allocation_ratio = @CpuAllocationRatio, " +
            "ram_allocation_ratio = @RamAllocationRatio, disk_allocation_ratio = @DiskAllocationRatio WHERE id = @Id AND deleted = 0";
        await using var connection = await factory.OpenAsync(cancellationToken).ConfigureAwait(false);
        int changed;
        await using (var command = BindValues(connection.Command(sql), values).Bind("Id", id))
        {
            changed = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        return changed == 0 ? null : await GetAsync(connection, id, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> DestroyAsync(int id, CancellationToken cancellationToken)
    {
        // nova's soft delete: deleted = id, deleted_at = now, updated_at explicitly preserved.
        var sql = $"UPDATE compute_nodes SET deleted = id, deleted_at = {Now}, updated_at = updated_at WHERE id = @id AND deleted = 0";
        await using var connection = await factory.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command(sql).Bind("id", id);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    private async Task<ComputeNodeRecord?> GetAsync(DbConnection connection, int id, CancellationToken cancellationToken)
    {
        await using var command = connection.Command($"SELECT {Columns} FROM compute_nodes n WHERE n.id = @id AND n.deleted = 0").Bind("id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ComputeNodeRecord.Read(reader) : null;
    }

    /// <summary>Every <see cref="ComputeNodeValues"/> property as a parameter of its own name (what <c>new DynamicParameters(values)</c> bound).</summary>
    private static DbCommand BindValues(DbCommand command, ComputeNodeValues values) => command
        .Bind(nameof(values.ServiceId), values.ServiceId)
        .Bind(nameof(values.Host), values.Host)
        .Bind(nameof(values.HypervisorHostname), values.HypervisorHostname)
        .Bind(nameof(values.Vcpus), values.Vcpus)
        .Bind(nameof(values.MemoryMb), values.MemoryMb)
        .Bind(nameof(values.LocalGb), values.LocalGb)
        .Bind(nameof(values.VcpusUsed), values.VcpusUsed)
        .Bind(nameof(values.MemoryMbUsed), values.MemoryMbUsed)
        .Bind(nameof(values.LocalGbUsed), values.LocalGbUsed)
        .Bind(nameof(values.HypervisorType), values.HypervisorType)
        .Bind(nameof(values.HypervisorVersion), values.HypervisorVersion)
        .Bind(nameof(values.CpuInfo), values.CpuInfo)
        .Bind(nameof(values.DiskAvailableLeast), values.DiskAvailableLeast)
        .Bind(nameof(values.FreeRamMb), values.FreeRamMb)
        .Bind(nameof(values.FreeDiskGb), values.FreeDiskGb)
        .Bind(nameof(values.CurrentWorkload), values.CurrentWorkload)
        .Bind(nameof(values.RunningVms), values.RunningVms)
        .Bind(nameof(values.HostIp), values.HostIp)
        .Bind(nameof(values.SupportedInstances), values.SupportedInstances)
        .Bind(nameof(values.PciStats), values.PciStats)
        .Bind(nameof(values.Metrics), values.Metrics)
        .Bind(nameof(values.ExtraResources), values.ExtraResources)
        .Bind(nameof(values.Stats), values.Stats)
        .Bind(nameof(values.NumaTopology), values.NumaTopology)
        .Bind(nameof(values.CpuAllocationRatio), values.CpuAllocationRatio)
        .Bind(nameof(values.RamAllocationRatio), values.RamAllocationRatio)
        .Bind(nameof(values.DiskAllocationRatio), values.DiskAllocationRatio);
}
