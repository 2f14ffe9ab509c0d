using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using NovaCompute.Compute;
using NovaCompute.Db;
using NovaCompute.Messaging.Rpc;
using NovaCompute.Objects;

namespace NovaCompute.Conductor;

/// <summary>
/// The <c>compute_nodes</c> records through nova-conductor, as nova's resource tracker reaches them:
/// <c>ComputeNodeList.get_all_by_host</c>, <c>ComputeNode.create</c> / <c>save</c> / <c>destroy</c>
/// (nova/objects/compute_node.py, 1.19). The columns nova keeps as JSON text travel as objects
/// (<c>stats</c> a dict, <c>supported_hv_specs</c> a list of <c>HVSpec</c>, <c>pci_device_pools</c> a
/// <c>PciDevicePoolList</c>) and are turned back into the text the database holds, so a row read back
/// equals the row written and the tracker saves only when something changed.
/// </summary>
internal sealed class ConductorComputeNodeRepository(ConductorApi conductor) : IComputeNodeRepository
{
    private const string ObjectName = "ComputeNode";
    private const string ObjectVersion = "1.19";

    public async Task<IReadOnlyList<ComputeNodeRecord>> ListAsync(string? host, CancellationToken cancellationToken)
    {
        JsonElement result;
        try
        {
            result = await ConductorCalls.GuardAsync(() => host is null
                ? conductor.ObjectClassActionAsync("ComputeNodeList", "get_all", ConductorApi.ComputeNodeListVersions, [], cancellationToken)
                : conductor.ObjectClassActionAsync("ComputeNodeList", "get_all_by_host", ConductorApi.ComputeNodeListVersions, [host], cancellationToken))
                .ConfigureAwait(false);
        }
        catch (RemoteException ex) when (ex.ClassName == "ComputeHostNotFound")
        {
            // compute_node_get_all_by_host raises when the host has none yet.
            return [];
        }
        if (result.ValueKind != JsonValueKind.Object || !result.TryGetProperty(NovaObject.DataKey, out var data)
            || !data.TryGetProperty("objects", out var objects) || objects.ValueKind != JsonValueKind.Array)
        {
            throw new ConductorReplyException($"ComputeNodeList answered {ConductorApi.Abbreviate(result.GetRawText())}, not a ComputeNodeList");
        }
        var rows = objects.EnumerateArray().Select(o => FromPrimitive(JsonNode.Parse(o.GetRawText())!.AsObject())).ToList();
        rows.Sort(static (a, b) => a.Id.CompareTo(b.Id));
        return rows;
    }

    public async Task<ComputeNodeRecord> CreateAsync(string uuid, ComputeNodeValues values, CancellationToken cancellationToken)
    {
        var data = new JsonObject { ["uuid"] = uuid };
        AddValues(data, values);
        var primitive = Primitive(data, changes: [.. data.Select(p => p.Key)]);
        var (updates, _) = await ConductorCalls.GuardAsync(() => conductor.ObjectActionAsync(primitive, "create", cancellationToken)).ConfigureAwait(false);
        return FromPrimitive(Merge(primitive, updates));
    }

    public async Task<ComputeNodeRecord?> UpdateAsync(int id, ComputeNodeValues values, CancellationToken cancellationToken)
    {
        var data = new JsonObject { ["id"] = id };
        AddValues(data, values);
        var primitive = Primitive(data, changes: [.. data.Select(p => p.Key).Where(k => k != "id")]);
        try
        {
            var (updates, _) = await ConductorCalls.GuardAsync(() => conductor.ObjectActionAsync(primitive, "save", cancellationToken)).ConfigureAwait(false);
            return FromPrimitive(Merge(primitive, updates));
        }
        catch (RemoteException ex) when (ex.ClassName == "ComputeHostNotFound")
        {
            return null;
        }
    }

    public async Task<bool> DestroyAsync(int id, CancellationToken cancellationToken)
    {
        var primitive = Primitive(new JsonObject { ["id"] = id }, changes: []);
        try
        {
            await ConductorCalls.GuardAsync(() => conductor.ObjectActionAsync(primitive, "destroy", cancellationToken)).ConfigureAwait(false);
            return true;
        }
        catch (RemoteException ex) when (ex.ClassName == "ComputeHostNotFound")
        {
            return false;
        }
    }

    private static JsonObject Primitive(JsonObject data, IReadOnlyList<string> changes)
    {
        var primitive = new JsonObject
        {
            [NovaObject.NameKey] = ObjectName,
            [NovaObject.NamespaceKey] = "nova",
            [NovaObject.VersionKey] = ObjectVersion,
            [NovaObject.DataKey] = data,
        };
        if (changes.Count > 0)
        {
            primitive[NovaObject.ChangesKey] = new JsonArray([.. changes.Select(c => (JsonNode)c)]);
        }
        return primitive;
    }

    /// <summary>The tracked values as <c>ComputeNode</c> fields (nova's <c>_convert_*_to_db_format</c> in reverse).</summary>
    internal static void AddValues(JsonObject data, ComputeNodeValues v)
    {
        if (v.ServiceId is { } serviceId)
        {
            data["service_id"] = serviceId;
        }
        data["host"] = v.Host;
        data["vcpus"] = v.Vcpus;
        data["memory_mb"] = v.MemoryMb;
        data["local_gb"] = v.LocalGb;
        data["vcpus_used"] = v.VcpusUsed;
        data["memory_mb_used"] = v.MemoryMbUsed;
        data["local_gb_used"] = v.LocalGbUsed;
        data["hypervisor_type"] = v.HypervisorType;
        data["hypervisor_version"] = v.HypervisorVersion;
        data["hypervisor_hostname"] = v.HypervisorHostname;
        data["free_ram_mb"] = v.FreeRamMb;
        data["free_disk_gb"] = v.FreeDiskGb;
        data["current_workload"] = v.CurrentWorkload;
        data["running_vms"] = v.RunningVms;
        data["cpu_info"] = v.CpuInfo;
        data["disk_available_least"] = v.DiskAvailableLeast;
        data["metrics"] = v.Metrics;
        data["stats"] = v.Stats is null ? null : JsonNode.Parse(v.Stats);
        data["host_ip"] = v.HostIp;
        data["numa_topology"] = v.NumaTopology;
        data["supported_hv_specs"] = HvSpecs(v.SupportedInstances);
        data["pci_device_pools"] = v.PciStats is null ? null : JsonNode.Parse(v.PciStats);
        // FloatField, not nullable: an unset ratio is left out rather than sent as null.
        if (v.CpuAllocationRatio is { } cpu)
        {
            data["cpu_allocation_ratio"] = cpu;
        }
        if (v.RamAllocationRatio is { } ram)
        {
            data["ram_allocation_ratio"] = ram;
        }
        if (v.DiskAllocationRatio is { } disk)
        {
            data["disk_allocation_ratio"] = disk;
        }
    }

    /// <summary><c>supported_instances</c> text (<c>[["x86_64", "qemu", "hvm"]]</c>) as <c>HVSpec</c> 1.2 primitives.</summary>
    private static JsonArray HvSpecs(string? supportedInstances)
    {
        var specs = new JsonArray();
        if (supportedInstances is null || JsonNode.Parse(supportedInstances) is not JsonArray list)
        {
            return specs;
        }
        foreach (var item in list.OfType<JsonArray>().Where(i => i.Count == 3))
        {
            specs.Add((JsonNode)new JsonObject
            {
                [NovaObject.NameKey] = "HVSpec",
                [NovaObject.NamespaceKey] = "nova",
                [NovaObject.VersionKey] = "1.2",
                [NovaObject.DataKey] = new JsonObject
                {
                    ["arch"] = item[0]?.DeepClone(),
                    ["hv_type"] = item[1]?.DeepClone(),
                    ["vm_mode"] = item[2]?.DeepClone(),
                },
                [NovaObject.ChangesKey] = new JsonArray("arch", "hv_type", "vm_mode"),
            });
        }
        return specs;
    }

    /// <summary>The object the conductor now holds: what was sent with its <c>updates</c> applied.</summary>
    private static JsonObject Merge(JsonObject sent, JsonObject updates)
    {
        var merged = sent.DeepClone().AsObject();
        var data = merged[NovaObject.DataKey]!.AsObject();
        foreach (var (key, value) in updates)
        {
            if (key != "obj_what_changed")
            {
                data[key] = value?.DeepClone();
            }
        }
        merged.Remove(NovaObject.ChangesKey);
        // Re-read, so every value is JSON-backed whatever built it.
        return JsonNode.Parse(merged.ToJsonString())!.AsObject();
    }

    /// <summary>A <c>ComputeNode</c> primitive as the row it stands for.</summary>
    internal static ComputeNodeRecord FromPrimitive(JsonObject primitive)
    {
        if ((string?)primitive[NovaObject.NameKey] != ObjectName || primitive[NovaObject.DataKey] is not JsonObject d)
        {
            throw new ConductorReplyException($"expected a ComputeNode, got {ConductorApi.Abbreviate(primitive.ToJsonString())}");
        }
        var version = (string?)primitive[NovaObject.VersionKey] ?? "";
        if (!version.StartsWith("1.", StringComparison.Ordinal))
        {
            throw new ConductorReplyException($"nova-conductor sent ComputeNode {version}; this daemon understands 1.x up to {ObjectVersion}");
        }
        string? S(string k) => d[k] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
        int? I(string k) => d[k] is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? (int)v.GetValue<double>() : null;
        double? F(string k) => d[k] is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? v.GetValue<double>() : null;
        DateTime? T(string k) => S(k) is { } text
            ? DateTime.SpecifyKind(DateTime.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal), DateTimeKind.Unspecified)
            : null;
        return new ComputeNodeRecord
        {
            Id = I("id") ?? 0,
            Uuid = S("uuid") ?? "",
            Values = new ComputeNodeValues
            {
                ServiceId = I("service_id"),
                Host = S("host") ?? "",
                HypervisorHostname = S("hypervisor_hostname") ?? "",
                Vcpus = I("vcpus") ?? 0,
                MemoryMb = I("memory_mb") ?? 0,
                LocalGb = I("local_gb") ?? 0,
                VcpusUsed = I("vcpus_used") ?? 0,
                MemoryMbUsed = I("memory_mb_used") ?? 0,
                LocalGbUsed = I("local_gb_used") ?? 0,
                HypervisorType = S("hypervisor_type") ?? "",
                HypervisorVersion = I("hypervisor_version") ?? 0,
                CpuInfo = S("cpu_info") ?? "",
                DiskAvailableLeast = I("disk_available_least"),
                FreeRamMb = I("free_ram_mb"),
                FreeDiskGb = I("free_disk_gb"),
                CurrentWorkload = I("current_workload"),
                RunningVms = I("running_vms"),
                HostIp = S("host_ip"),
                SupportedInstances = SupportedInstances(d["supported_hv_specs"]),
                PciStats = PciStats(d["pci_device_pools"]),
                Metrics = S("metrics"),
                ExtraResources = null,
                Stats = d["stats"] is JsonObject stats ? PythonJson.Dumps(stats) : null,
                NumaTopology = S("numa_topology"),
                CpuAllocationRatio = F("cpu_allocation_ratio"),
                RamAllocationRatio = F("ram_allocation_ratio"),
                DiskAllocationRatio = F("disk_allocation_ratio"),
            },
            Mapped = I("mapped") ?? 0,
            CreatedAt = T("created_at"),
            UpdatedAt = T("updated_at"),
        };
    }

    private static string? SupportedInstances(JsonNode? specs)
    {
        if (specs is not JsonArray list)
        {
            return null;
        }
        var rows = new JsonArray();
        foreach (var spec in list.OfType<JsonObject>())
        {
            var data = spec[NovaObject.DataKey] as JsonObject;
            rows.Add((JsonNode)new JsonArray(data?["arch"]?.DeepClone(), data?["hv_type"]?.DeepClone(), data?["vm_mode"]?.DeepClone()));
        }
        return PythonJson.Dumps(rows);
    }

    private static string? PciStats(JsonNode? pools) => pools switch
    {
        null => null,
        JsonObject o when o[NovaObject.DataKey]?["objects"] is JsonArray { Count: 0 } => ResourceTracker.EmptyPciStats,
        _ => PythonJson.Dumps(pools),
    };
}

/// <summary>Python's <c>json.dumps</c> default layout (<c>", "</c> and <c>": "</c>, ASCII only): how nova writes its JSON columns.</summary>
internal static class PythonJson
{
    public static string Dumps(JsonNode? node)
    {
        var sb = new StringBuilder();
        Write(sb, node);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, JsonNode? node)
    {
        switch (node)
        {
            case null:
                sb.Append("null");
                break;
            case JsonObject o:
                sb.Append('{');
                var first = true;
                foreach (var (key, value) in o)
                {
                    if (!first)
                    {
                        sb.Append(", ");
                    }
                    first = false;
                    String(sb, key);
                    sb.Append(": ");
                    Write(sb, value);
                }
                sb.Append('}');
                break;
            case JsonArray a:
                sb.Append('[');
                for (var i = 0; i < a.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(", ");
                    }
                    Write(sb, a[i]);
                }
                sb.Append(']');
                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                String(sb, v.GetValue<string>());
                break;
            default:
                sb.Append(node.ToJsonString());
                break;
        }
    }

    private static void String(StringBuilder sb, string text)
    {
        sb.Append('"');
        foreach (var c in text)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c < 0x20 || c > 0x7e)
                    {
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }
                    break;
            }
        }
        sb.Append('"');
    }
}
