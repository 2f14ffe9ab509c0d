using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using NovaCompute.Db;
using NovaCompute.ServiceGroup;

namespace NovaCompute.Cli;

/// <summary>
/// The <c>service</c> subcommands as plain functions (repository or query, arguments, writers →
/// exit status), so tests call them without a command line. Output follows
/// <c>nova service-list</c> (novaclient/v2/shell.py do_service_list) and the os-services API
/// (nova/api/openstack/compute/services.py).
/// </summary>
internal static class ServiceCli
{
    public const string DefaultBinary = ServiceIdentity.ComputeBinary;

    private static readonly string[] ListColumns =
        ["Id", "Binary", "Host", "Zone", "Status", "State", "Updated_at", "Disabled Reason", "Forced down"];

    public static async Task<int> ListAsync(ServiceStatusQuery query, string? host, string? binary, string format,
        TextWriter output, CancellationToken cancellationToken)
    {
        var services = await query.ListAsync(host, binary, cancellationToken).ConfigureAwait(false);
        if (format == "json")
        {
            await output.WriteLineAsync(ToJson(services).ToJsonString(new JsonSerializerOptions { WriteIndented = true })).ConfigureAwait(false);
        }
        else
        {
            await output.WriteAsync(Table(ListColumns, services.Select(Cells))).ConfigureAwait(false);
        }
        return ExitCodes.Ok;
    }

    public static async Task<int> EnableAsync(IServiceRepository repository, string host, string binary,
        TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var service = await FindUpdatableAsync(repository, host, binary, error, cancellationToken).ConfigureAwait(false);
        if (service is null)
        {
            return ExitCodes.Failure;
        }
        var updated = await repository.SetDisabledAsync(service.Id, false, null, cancellationToken).ConfigureAwait(false);
        return await ReportAsync(updated, host, binary, output, error,
            u => (["Host", "Binary", "Status"], [u.Host, u.Binary, "enabled"])).ConfigureAwait(false);
    }

    public static async Task<int> DisableAsync(IServiceRepository repository, string host, string binary, string? reason,
        TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (reason is not null && (reason.Trim().Length == 0 || reason.Length > 255))
        {
            await error.WriteLineAsync("nova-compute: error: --reason must be 1 to 255 characters long").ConfigureAwait(false);
            return ExitCodes.Usage;
        }
        var service = await FindUpdatableAsync(repository, host, binary, error, cancellationToken).ConfigureAwait(false);
        if (service is null)
        {
            return ExitCodes.Failure;
        }
        var updated = await repository.SetDisabledAsync(service.Id, true, reason, cancellationToken).ConfigureAwait(false);
        return await ReportAsync(updated, host, binary, output, error, u => reason is null
            ? (["Host", "Binary", "Status"], [u.Host, u.Binary, "disabled"])
            : (["Host", "Binary", "Status", "Disabled Reason"], [u.Host, u.Binary, "disabled", u.DisabledReason])).ConfigureAwait(false);
    }

    public static async Task<int> ForceDownAsync(IServiceRepository repository, string host, string binary, bool unset,
        TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var service = await FindUpdatableAsync(repository, host, binary, error, cancellationToken).ConfigureAwait(false);
        if (service is null)
        {
            return ExitCodes.Failure;
        }
        var updated = await repository.SetForcedDownAsync(service.Id, !unset, cancellationToken).ConfigureAwait(false);
        return await ReportAsync(updated, host, binary, output, error,
            u => (["Host", "Binary", "Forced down"], [u.Host, u.Binary, Bool(u.ForcedDown)])).ConfigureAwait(false);
    }

    public static async Task<int> DeleteAsync(IServiceRepository repository, string host, string binary,
        TextWriter error, CancellationToken cancellationToken)
    {
        var service = await repository.GetByHostAndBinaryAsync(host, binary, cancellationToken).ConfigureAwait(false);
        if (service is null || !await repository.DestroyAsync(service.Id, cancellationToken).ConfigureAwait(false))
        {
            await error.WriteLineAsync($"nova-compute: error: {new HostBinaryNotFoundException(host, binary).Message}").ConfigureAwait(false);
            return ExitCodes.Failure;
        }
        return ExitCodes.Ok;
    }

    /// <summary>The os-services rule: only nova-compute records may be updated.</summary>
    private static async Task<ServiceRecord?> FindUpdatableAsync(IServiceRepository repository, string host, string binary,
        TextWriter error, CancellationToken cancellationToken)
    {
        if (binary != ServiceIdentity.ComputeBinary)
        {
            await error.WriteLineAsync(
                $"nova-compute: error: Updating a {binary} service is not supported. Only nova-compute services can be updated.").ConfigureAwait(false);
            return null;
        }
        var service = await repository.GetByHostAndBinaryAsync(host, binary, cancellationToken).ConfigureAwait(false);
        if (service is null)
        {
            await error.WriteLineAsync($"nova-compute: error: {new HostBinaryNotFoundException(host, binary).Message}").ConfigureAwait(false);
        }
        return service;
    }

    private static async Task<int> ReportAsync(ServiceRecord? updated, string host, string binary, TextWriter output, TextWriter error,
        Func<ServiceRecord, (string[] Columns, string?[] Cells)> view)
    {
        if (updated is null)
        {
            // Deleted between the lookup and the update.
            await error.WriteLineAsync($"nova-compute: error: {new HostBinaryNotFoundException(host, binary).Message}").ConfigureAwait(false);
            return ExitCodes.Failure;
        }
        var (columns, cells) = view(updated);
        await output.WriteAsync(Table(columns, [cells])).ConfigureAwait(false);
        return ExitCodes.Ok;
    }

    private static string?[] Cells(ServiceListEntry s) =>
    [
        s.Id.ToString(CultureInfo.InvariantCulture), s.Binary, s.Host, s.Zone, s.Status, s.State,
        Api.ServicesApi.Timestamp(s.UpdatedAt), s.DisabledReason, Bool(s.ForcedDown),
    ];

    /// <summary>The os-services body: <c>{"services": [...]}</c> with the API's field names, plus <c>uuid</c>.</summary>
    internal static JsonObject ToJson(IEnumerable<ServiceListEntry> services) => new()
    {
        ["services"] = new JsonArray(services.Select(s => (JsonNode)new JsonObject
        {
            ["id"] = s.Id,
            ["uuid"] = s.Uuid,
            ["binary"] = s.Binary,
            ["host"] = s.Host,
            ["zone"] = s.Zone,
            ["status"] = s.Status,
            ["state"] = s.State,
            ["updated_at"] = Api.ServicesApi.Timestamp(s.UpdatedAt),
            ["disabled_reason"] = s.DisabledReason,
            ["forced_down"] = s.ForcedDown,
        }).ToArray()),
    };

    private static string Bool(bool value) => value ? "True" : "False";

    /// <summary>A prettytable grid as novaclient prints it; null cells show <c>-</c>.</summary>
    internal static string Table(IReadOnlyList<string> columns, IEnumerable<string?[]> rows)
    {
        var cells = rows.Select(r => r.Select(c => c ?? "-").ToArray()).ToList();
        var widths = columns.Select((c, i) => Math.Max(c.Length, cells.Count == 0 ? 0 : cells.Max(r => r[i].Length))).ToArray();
        var border = "+" + string.Join("+", widths.Select(w => new string('-', w + 2))) + "+\n";
        var sb = new StringBuilder(border.Length * (cells.Count + 4));
        sb.Append(border);
        AppendRow(sb, columns, widths);
        sb.Append(border);
        foreach (var row in cells)
        {
            AppendRow(sb, row, widths);
        }
        sb.Append(border);
        return sb.ToString();
    }

    private static void AppendRow(StringBuilder sb, IReadOnlyList<string> cells, int[] widths)
    {
        sb.Append('|');
        for (var i = 0; i < widths.Length; i++)
        {
            sb.Append(' ').Append(cells[i]).Append(' ', widths[i] - cells[i].Length).Append(" |");
        }
        sb.Append('\n');
    }
}
