using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using NovaCompute.Db;

namespace NovaCompute.Cli;

/// <summary>
/// <c>nova-compute hypervisor list [--host H] [--format table|json]</c>: each compute node's
/// resources as the resource tracker last wrote them (<c>compute_nodes</c>; what
/// <c>openstack hypervisor show</c> reports).
/// </summary>
public static class HypervisorCommands
{
    private static readonly string[] Columns =
        ["ID", "Hypervisor Hostname", "Host", "Hypervisor Type", "Host IP", "vCPUs Used", "vCPUs", "Memory MB Used", "Memory MB",
         "Local GB Used", "Local GB", "Disk Available Least", "Running VMs", "Updated At"];

    public static Command Build()
    {
        var host = new Option<string?>("--host") { Description = "Only the nodes of this host.", HelpName = "HOST" };
        var format = new Option<string>("--format") { Description = "Output format.", DefaultValueFactory = _ => "table", HelpName = "table|json" };
        format.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string>() is not ("table" or "json") and var value)
            {
                r.AddError($"--format must be table or json, not '{value}'");
            }
        });
        var list = new Command("list", "List compute nodes with their resources (used = host reservations plus instances, as nova counts).") { host, format };
        list.SetAction((result, cancellationToken) => CliDatabase.RunAsync(result, requireSchema: true, (context, ct) =>
            ListAsync(context.Nodes, result.GetValue(host), result.GetValue(format)!, Console.Out, ct), cancellationToken));
        var command = new Command("hypervisor", "Show compute nodes (hypervisors) and their resources.");
        command.Subcommands.Add(list);
        return command;
    }

    internal static async Task<int> ListAsync(IComputeNodeRepository nodes, string? host, string format, TextWriter output, CancellationToken cancellationToken)
    {
        var rows = await nodes.ListAsync(host, cancellationToken).ConfigureAwait(false);
        if (format == "json")
        {
            var array = new JsonArray([.. rows.Select(n => (JsonNode)new JsonObject
            {
                ["id"] = n.Uuid,
                ["hypervisor_hostname"] = n.Values.HypervisorHostname,
                ["host"] = n.Values.Host,
                ["hypervisor_type"] = n.Values.HypervisorType,
                ["hypervisor_version"] = n.Values.HypervisorVersion,
                ["host_ip"] = n.Values.HostIp,
                ["vcpus"] = n.Values.Vcpus,
                ["vcpus_used"] = n.Values.VcpusUsed,
                ["memory_mb"] = n.Values.MemoryMb,
                ["memory_mb_used"] = n.Values.MemoryMbUsed,
                ["free_ram_mb"] = n.Values.FreeRamMb,
                ["local_gb"] = n.Values.LocalGb,
                ["local_gb_used"] = n.Values.LocalGbUsed,
                ["free_disk_gb"] = n.Values.FreeDiskGb,
                ["disk_available_least"] = n.Values.DiskAvailableLeast,
                ["running_vms"] = n.Values.RunningVms,
                ["current_workload"] = n.Values.CurrentWorkload,
                ["cpu_info"] = n.Values.CpuInfo,
                ["updated_at"] = Stamp(n.UpdatedAt ?? n.CreatedAt),
            })]);
            await output.WriteLineAsync(array.ToJsonString(new JsonSerializerOptions { WriteIndented = true })).ConfigureAwait(false);
        }
        else
        {
            static string I(int? v) => v?.ToString(CultureInfo.InvariantCulture) ?? "-";
            await output.WriteAsync(ServiceCli.Table(Columns, rows.Select(n => new string?[]
            {
                n.Uuid, n.Values.HypervisorHostname, n.Values.Host, n.Values.HypervisorType, n.Values.HostIp,
                I(n.Values.VcpusUsed), I(n.Values.Vcpus), I(n.Values.MemoryMbUsed), I(n.Values.MemoryMb),
                I(n.Values.LocalGbUsed), I(n.Values.LocalGb), I(n.Values.DiskAvailableLeast), I(n.Values.RunningVms),
                Stamp(n.UpdatedAt ?? n.CreatedAt),
            }))).ConfigureAwait(false);
        }
        return ExitCodes.Ok;
    }

    private static string? Stamp(DateTime? value) => value?.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff", CultureInfo.InvariantCulture);
}
