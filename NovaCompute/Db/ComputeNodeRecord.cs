using System.Data.Common;

namespace NovaCompute.Db;

/// <summary>
/// The values of a <c>compute_nodes</c> row that the resource tracker owns (nova/db/main/models.py <c>ComputeNode</c>): what it
/// writes on create and compares before an update. Timestamps, <c>deleted</c> and <c>mapped</c> are
/// the database's business.
/// </summary>
internal sealed record ComputeNodeValues
{
    public int? ServiceId { get; init; }
    public required string Host { get; init; }
    public required string HypervisorHostname { get; init; }
    public int Vcpus { get; init; }
    public int MemoryMb { get; init; }
    public int LocalGb { get; init; }
    public int VcpusUsed { get; init; }
    public int MemoryMbUsed { get; init; }
    public int LocalGbUsed { get; init; }
    public required string HypervisorType { get; init; }
    public int HypervisorVersion { get; init; }
    public required string CpuInfo { get; init; }
    public int? DiskAvailableLeast { get; init; }
    public int? FreeRamMb { get; init; }
    public int? FreeDiskGb { get; init; }
    public int? CurrentWorkload { get; init; }
    public int? RunningVms { get; init; }
    public string? HostIp { get; init; }
    public string? SupportedInstances { get; init; }
    public string? PciStats { get; init; }
    public string? Metrics { get; init; }
    public string? ExtraResources { get; init; }
    public string? Stats { get; init; }
    public string? NumaTopology { get; init; }
    public double? CpuAllocationRatio { get; init; }
    public double? RamAllocationRatio { get; init; }
    public double? DiskAllocationRatio { get; init; }
}

/// <summary>A live <c>compute_nodes</c> row.</summary>
internal sealed record ComputeNodeRecord
{
    public int Id { get; init; }
    public required string Uuid { get; init; }
    public required ComputeNodeValues Values { get; init; }
    public int Mapped { get; init; }
    public DateTime? CreatedAt { get; init; }
    public DateTime? UpdatedAt { get; init; }


    internal static ComputeNodeRecord Read(DbDataReader r)
    {
        string? S(int i) => r.IsDBNull(i) ? null : r.GetString(i);
        int? I(int i) => r.IsDBNull(i) ? null : r.GetInt32(i);
        double? D(int i) => r.IsDBNull(i) ? null : r.GetDouble(i);
        return new ComputeNodeRecord
        {
            Id = r.GetInt32(0),
            Uuid = r.GetString(1),
            Values = new ComputeNodeValues
            {
                ServiceId = I(2),
                Host = S(3) ?? "",
                HypervisorHostname = S(4) ?? "",
                Vcpus = r.GetInt32(5),
                MemoryMb = r.GetInt32(6),
                LocalGb = r.GetInt32(7),
                VcpusUsed = r.GetInt32(8),
                MemoryMbUsed = r.GetInt32(9),
                LocalGbUsed = r.GetInt32(10),
                HypervisorType = r.GetString(11),
                HypervisorVersion = r.GetInt32(12),
                CpuInfo = r.GetString(13),
                DiskAvailableLeast = I(14),
                FreeRamMb = I(15),
                FreeDiskGb = I(16),
                CurrentWorkload = I(17),
                RunningVms = I(18),
                HostIp = S(19),
                SupportedInstances = S(20),
                PciStats = S(21),
                Metrics = S(22),
                ExtraResources = S(23),
                Stats = S(24),
                NumaTopology = S(25),
                CpuAllocationRatio = D(26),
                RamAllocationRatio = D(27),
                DiskAllocationRatio = D(28),
            },
            Mapped = I(29) ?? 0,
            CreatedAt = ServiceRecord.ReadTimestamp(r, 30),
            UpdatedAt = ServiceRecord.ReadTimestamp(r, 31),
        };
    }
}
