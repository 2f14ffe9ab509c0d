using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using NovaCompute.Db;
using NovaCompute.ServiceGroup;

namespace NovaCompute.Api;

/// <summary>
/// nova's <c>ServiceController</c> (nova/api/openstack/compute/services.py) over
/// this daemon's services database: list with nova's view per microversion, the legacy PUT
/// actions before 2.53, PUT by uuid from 2.53, DELETE. Validation order, status codes and
/// messages are nova's. The list and every view after an update go through
/// <see cref="ServiceStatusQuery"/>, the code path of <c>nova-compute service list</c>, so
/// <c>state</c> is judged by the same rule on the database's clock.
/// What nova does beyond the services table (aggregates, placement, host mappings, the
/// compute's <c>set_host_enabled</c> RPC, instance and migration checks) has nothing to act on
/// in this daemon's database and is not done.
/// </summary>
internal sealed partial class ServicesApi(ServiceStatusQuery query, IServiceRepository repository, ILogger<ServicesApi> logger)
{
    private static readonly RequestSchema.String Binary = new(MinLength: 1, MaxLength: 255);
    private static readonly RequestSchema.String Reason = new(MinLength: 1, MaxLength: 255);
    private static readonly RequestSchema.String Fqdn = new(MinLength: 1, MaxLength: 255, Pattern: "^[a-zA-Z0-9-._]*$");

    internal static readonly RequestSchema.Object ServiceUpdate = new(
        [("host", Fqdn), ("binary", Binary), ("disabled_reason", Reason)], ["host", "binary"], AdditionalProperties: false);

    internal static readonly RequestSchema.Object ServiceUpdateV211 = new(
        [("host", Fqdn), ("binary", Binary), ("disabled_reason", Reason), ("forced_down", new RequestSchema.Boolean())],
        ["host", "binary"], AdditionalProperties: false);

    internal static readonly RequestSchema.Object ServiceUpdateV253 = new(
        [("status", new RequestSchema.String(Enum: ["enabled", "disabled"])), ("disabled_reason", Reason), ("forced_down", new RequestSchema.Boolean())],
        [], AdditionalProperties: false);

    private static readonly string[] QueryParameters = ["host", "binary"];

    /// <summary><c>GET /os-services</c>.</summary>
    public async Task<JsonObject> IndexAsync(HttpContext context, Microversion version)
    {
        var queryString = context.Request.Query;
        if (version >= Microversion.StrictQuery)
        {
            var unknown = queryString.Keys.Where(k => !QueryParameters.Contains(k)).Order(StringComparer.Ordinal).ToList();
            if (unknown.Count > 0)
            {
                throw new ComputeFault(400, $"Additional properties are not allowed ({string.Join(", ", unknown.Select(PyRepr.Repr))} {(unknown.Count == 1 ? "was" : "were")} unexpected)");
            }
        }
        // webob's req.GET[key] is the last value; an empty value filters nothing (nova's `if host:`).
        var host = queryString.TryGetValue("host", out var hosts) && hosts.Count > 0 && !string.IsNullOrEmpty(hosts[^1]) ? hosts[^1] : null;
        var binary = queryString.TryGetValue("binary", out var binaries) && binaries.Count > 0 && !string.IsNullOrEmpty(binaries[^1]) ? binaries[^1] : null;
        var services = await query.ListAsync(host, binary, context.RequestAborted).ConfigureAwait(false);
        return new JsonObject { ["services"] = new JsonArray(services.Select(s => (JsonNode)View(s, version)).ToArray()) };
    }

    /// <summary>One service as nova's <c>_get_service_detail</c> shows it at <paramref name="version"/>.</summary>
    internal static JsonObject View(ServiceListEntry service, Microversion version)
    {
        var view = new JsonObject
        {
            ["binary"] = service.Binary,
            ["host"] = service.Host,
            ["id"] = version >= Microversion.UuidForId ? JsonValue.Create(service.Uuid) : JsonValue.Create(service.Id),
            ["zone"] = service.Zone,
            ["status"] = service.Status,
            ["state"] = service.State,
            ["updated_at"] = Timestamp(service.UpdatedAt),
            ["disabled_reason"] = service.DisabledReason,
        };
        if (version >= Microversion.ForcedDown)
        {
            view["forced_down"] = service.ForcedDown;
        }
        return view;
    }

    /// <summary>The API's time stamp form: <c>YYYY-MM-DDTHH:MM:SS.ffffff</c>, no zone (UTC).</summary>
    internal static string? Timestamp(DateTime? value) =>
        value?.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'ffffff", CultureInfo.InvariantCulture);

    /// <summary><c>PUT /os-services/{id}</c>: the action form before 2.53, the uuid form from 2.53.</summary>
    public Task<JsonObject> UpdateAsync(HttpContext context, Microversion version, string id, JsonElement? body) =>
        version >= Microversion.UuidForId
            ? UpdateByUuidAsync(context, version, id, body)
            : UpdateByActionAsync(context, version, id, body);

    private async Task<JsonObject> UpdateByActionAsync(HttpContext context, Microversion version, string action, JsonElement? body)
    {
        var schema = version >= Microversion.ForcedDown ? ServiceUpdateV211 : ServiceUpdate;
        if (schema.Validate(body) is { } problem)
        {
            throw new ComputeFault(400, problem);
        }
        var request = body!.Value;
        var host = request.GetProperty("host").GetString()!;
        var binary = request.GetProperty("binary").GetString()!;
        switch (action)
        {
            case "enable":
                await UpdateByHostAndBinaryAsync(host, binary, (id, ct) => repository.SetDisabledAsync(id, false, null, ct), context.RequestAborted).ConfigureAwait(false);
                return Service(new JsonObject { ["host"] = host, ["binary"] = binary, ["status"] = "enabled" });
            case "disable":
                // nova's `disable` ignores a disabled_reason in the body; disable-log-reason keeps it.
                await UpdateByHostAndBinaryAsync(host, binary, (id, ct) => repository.SetDisabledAsync(id, true, null, ct), context.RequestAborted).ConfigureAwait(false);
                return Service(new JsonObject { ["host"] = host, ["binary"] = binary, ["status"] = "disabled" });
            case "disable-log-reason":
                if (!request.TryGetProperty("disabled_reason", out var reasonElement))
                {
                    throw new ComputeFault(400, "Missing disabled reason field");
                }
                var reason = reasonElement.GetString()!;
                await UpdateByHostAndBinaryAsync(host, binary, (id, ct) => repository.SetDisabledAsync(id, true, reason, ct), context.RequestAborted).ConfigureAwait(false);
                return Service(new JsonObject { ["host"] = host, ["binary"] = binary, ["status"] = "disabled", ["disabled_reason"] = reason });
            case "force-down" when version >= Microversion.ForcedDown:
                if (!request.TryGetProperty("forced_down", out var forcedElement))
                {
                    throw new ComputeFault(400, "Missing forced_down field");
                }
                var forcedDown = RequestSchema.Boolean.Value(forcedElement);
                await UpdateByHostAndBinaryAsync(host, binary, (id, ct) => repository.SetForcedDownAsync(id, forcedDown, ct), context.RequestAborted).ConfigureAwait(false);
                return Service(new JsonObject { ["host"] = host, ["binary"] = binary, ["forced_down"] = forcedDown });
            default:
                throw new ComputeFault(404, "Unknown action");
        }
    }

    private async Task UpdateByHostAndBinaryAsync(string host, string binary, Func<int, CancellationToken, Task<ServiceRecord?>> update,
        CancellationToken cancellationToken)
    {
        RefuseUnlessCompute(binary);
        var service = await repository.GetByHostAndBinaryAsync(host, binary, cancellationToken).ConfigureAwait(false);
        // A row deleted between the lookup and the update is as absent as one never there.
        if (service is null || await update(service.Id, cancellationToken).ConfigureAwait(false) is not { } updated)
        {
            throw new ComputeFault(404, new HostBinaryNotFoundException(host, binary).Message);
        }
        Log.Updated(logger, updated.Host, updated.Binary, updated.Disabled, updated.DisabledReason, updated.ForcedDown);
    }

    private async Task<JsonObject> UpdateByUuidAsync(HttpContext context, Microversion version, string id, JsonElement? body)
    {
        if (ServiceUpdateV253.Validate(body) is { } problem)
        {
            throw new ComputeFault(400, problem);
        }
        if (CanonicalUuid(id) is not { } uuid)
        {
            throw new ComputeFault(400, $"Invalid uuid {id}");
        }
        var cancellationToken = context.RequestAborted;
        var service = await FindByUuidAsync(uuid, cancellationToken).ConfigureAwait(false)
            ?? throw new ComputeFault(404, new ServiceNotFoundException(id).Message);
        RefuseUnlessCompute(service.Binary);

        var request = body!.Value;
        bool? disabled = null;
        string? reason = null;
        if (request.TryGetProperty("status", out var status))
        {
            if (status.GetString() == "enabled")
            {
                if (request.TryGetProperty("disabled_reason", out var unwanted) && unwanted.GetString() is { Length: > 0 })
                {
                    throw new ComputeFault(400, "Specifying 'disabled_reason' with status 'enabled' is invalid.");
                }
                disabled = false;
            }
            else
            {
                disabled = true;
                reason = request.TryGetProperty("disabled_reason", out var given) ? given.GetString() : null;
            }
        }
        bool? forcedDown = request.TryGetProperty("forced_down", out var forced) ? RequestSchema.Boolean.Value(forced) : null;
        if (disabled is null && forcedDown is null)
        {
            throw new ComputeFault(400, "No updates were requested. Fields 'status' or 'forced_down' should be specified.");
        }

        var updated = service;
        if (disabled is { } d)
        {
            updated = await repository.SetDisabledAsync(service.Id, d, reason, cancellationToken).ConfigureAwait(false);
        }
        if (forcedDown is { } f && updated is not null)
        {
            updated = await repository.SetForcedDownAsync(service.Id, f, cancellationToken).ConfigureAwait(false);
        }
        if (updated is null)
        {
            throw new ComputeFault(404, new ServiceNotFoundException(id).Message);
        }
        Log.Updated(logger, updated.Host, updated.Binary, updated.Disabled, updated.DisabledReason, updated.ForcedDown);

        var view = (await query.ListAsync(updated.Host, updated.Binary, cancellationToken).ConfigureAwait(false))
            .FirstOrDefault(s => s.Id == updated.Id)
            ?? throw new ComputeFault(404, new ServiceNotFoundException(id).Message);
        return Service(View(view, version));
    }

    /// <summary><c>DELETE /os-services/{id}</c>: an integer id before 2.53, a uuid from 2.53.</summary>
    public async Task DeleteAsync(HttpContext context, Microversion version, string id)
    {
        var cancellationToken = context.RequestAborted;
        ServiceRecord? service;
        if (version >= Microversion.UuidForId)
        {
            if (CanonicalUuid(id) is not { } uuid)
            {
                throw new ComputeFault(400, $"Invalid uuid {id}");
            }
            service = await FindByUuidAsync(uuid, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            if (PythonInt(id) is not { } number)
            {
                throw new ComputeFault(400, "Invalid input received: id must be an integer");
            }
            service = number >= int.MinValue && number <= int.MaxValue
                ? await repository.GetByIdAsync((int)number, cancellationToken).ConfigureAwait(false)
                : null;
        }
        if (service is null || !await repository.DestroyAsync(service.Id, cancellationToken).ConfigureAwait(false))
        {
            throw new ComputeFault(404, $"Service {id} not found.");
        }
        Log.Deleted(logger, service.Host, service.Binary, service.Id, service.Uuid);
    }

    /// <summary>
    /// The live row with this uuid. The repository has no lookup by uuid, so this reads the list
    /// (one statement; a few milliseconds for 10,000 services on SQLite).
    /// </summary>
    private async Task<ServiceRecord?> FindByUuidAsync(string uuid, CancellationToken cancellationToken)
    {
        var listing = await repository.ListAsync(null, null, cancellationToken).ConfigureAwait(false);
        return listing.Services.FirstOrDefault(s => s.Uuid is not null && string.Equals(CanonicalUuid(s.Uuid), uuid, StringComparison.Ordinal));
    }

    private static void RefuseUnlessCompute(string? binary)
    {
        if (binary != ServiceIdentity.ComputeBinary)
        {
            throw new ComputeFault(400, $"Updating a {binary ?? "None"} service is not supported. Only nova-compute services can be updated.");
        }
    }

    private static JsonObject Service(JsonObject service) => new() { ["service"] = service };

    /// <summary>
    /// oslo's <c>is_uuid_like</c>: any form Python's <c>uuid.UUID</c> reads (braces, <c>urn:uuid:</c>,
    /// no dashes, any case) whose hex digits are the value's. Returns the canonical lower-case form.
    /// </summary>
    internal static string? CanonicalUuid(string value)
    {
        var text = value.Replace("urn:", "", StringComparison.Ordinal).Replace("uuid:", "", StringComparison.Ordinal)
            .Trim('{', '}').Replace("-", "", StringComparison.Ordinal);
        if (text.Length != 32 || !text.All(char.IsAsciiHexDigit))
        {
            return null;
        }
        return Guid.ParseExact(text, "N").ToString("D");
    }

    /// <summary>Python's <c>int(str(value))</c>: surrounding whitespace, a sign and digit-group underscores allowed.</summary>
    internal static System.Numerics.BigInteger? PythonInt(string value)
    {
        var text = value.Trim();
        var digits = text.TrimStart('+', '-');
        if (digits.Length == 0 || text.Length - digits.Length > 1 || digits[0] == '_' || digits[^1] == '_'
            || digits.Contains("__", StringComparison.Ordinal) || !digits.All(c => char.IsAsciiDigit(c) || c == '_'))
        {
            return null;
        }
        var number = System.Numerics.BigInteger.Parse(digits.Replace("_", "", StringComparison.Ordinal), CultureInfo.InvariantCulture);
        return text[0] == '-' ? -number : number;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1720, Level = LogLevel.Information,
            Message = "Service {Binary} on {Host} updated through the API: disabled={Disabled} disabled_reason={DisabledReason} forced_down={ForcedDown}")]
        public static partial void Updated(ILogger logger, string? host, string? binary, bool disabled, string? disabledReason, bool forcedDown);

        [LoggerMessage(EventId = 1721, Level = LogLevel.Information, Message = "Service {Binary} on {Host} (id {ServiceId}, uuid {ServiceUuid}) deleted through the API")]
        public static partial void Deleted(ILogger logger, string? host, string? binary, int serviceId, string? serviceUuid);
    }
}
