using System.Collections;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace NovaCompute.Messaging.Rpc;

/// <summary>
/// nova's <c>RequestContext</c> (over oslo.context) as it travels in RPC messages: every
/// <c>to_dict()</c> key is sent as <c>_context_&lt;key&gt;</c>. Keys this class does not know are kept
/// and sent on unchanged. <see cref="AuthToken"/> is never logged nor shown by <see cref="ToString"/>.
/// </summary>
public sealed class RequestContext
{
    internal const string Prefix = "_context_";
    private const int MaxUnallocatedKeyLength = 64;
    private static ReadOnlySpan<byte> PrefixUtf8 => "_context_"u8;
    private const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.ffffff";

    public string RequestId { get; init; } = NewRequestId();
    public string? GlobalRequestId { get; init; }
    public string? UserId { get; init; }
    public string? ProjectId { get; init; }
    public string? UserName { get; init; }
    public string? ProjectName { get; init; }
    public string? SystemScope { get; init; }
    public string? DomainId { get; init; }
    public string? UserDomainId { get; init; }
    public string? ProjectDomainId { get; init; }
    public bool IsAdmin { get; init; }
    public bool IsAdminProject { get; init; } = true;
    public bool ReadOnly { get; init; }
    public bool ShowDeleted { get; init; }

    /// <summary><c>no</c>, <c>yes</c> or <c>only</c>.</summary>
    public string ReadDeleted { get; init; } = "no";

    /// <summary>The Keystone token when the request came from the API. Secret: never logged.</summary>
    public string? AuthToken { get; init; }

    public string? ResourceUuid { get; init; }
    public string? RemoteAddress { get; init; }
    public string? QuotaClass { get; init; }
    public IReadOnlyList<string> Roles { get; init; } = [];

    /// <summary>Creation time, UTC.</summary>
    public DateTime Timestamp { get; init; } = DateTime.UtcNow;

    /// <summary>The (filtered) service catalog as received; an empty list when absent.</summary>
    public JsonElement? ServiceCatalog { get; init; }

    /// <summary>Context keys this class has no property for, kept to be sent on unchanged.</summary>
    public IReadOnlyDictionary<string, JsonElement> Extra { get; init; } = EmptyExtra;

    private static readonly Dictionary<string, JsonElement> EmptyExtra = new(StringComparer.Ordinal);

    /// <summary>oslo's <c>user_identity</c>: user, project, domain, user domain, project domain; <c>-</c> for each missing one.</summary>
    public string UserIdentity =>
        $"{UserId ?? "-"} {ProjectId ?? "-"} {DomainId ?? "-"} {UserDomainId ?? "-"} {ProjectDomainId ?? "-"}";

    /// <summary><c>req-</c> and a uuid4, as oslo.context generates them.</summary>
    public static string NewRequestId() => "req-" + Guid.NewGuid().ToString("D");

    /// <summary>nova's <c>get_admin_context()</c>: no user or project, admin, a fresh request id.</summary>
    public static RequestContext AdminContext(TimeProvider? time = null) => new()
    {
        IsAdmin = true,
        Timestamp = (time ?? TimeProvider.System).GetUtcNow().UtcDateTime,
    };

    /// <summary>Rebuilds the context from the <c>_context_*</c> keys of a request (unknown keys kept in <see cref="Extra"/>).</summary>
    /// <exception cref="RpcMessageException">A key or value is not valid text (<see cref="RpcMessageFault.UnreadableContext"/>).</exception>
    public static RequestContext FromMessage(JsonElement message)
    {
        string? requestId = null, globalRequestId = null, userId = null, user = null, projectId = null, project = null;
        string? userName = null, projectName = null, systemScope = null, domain = null, userDomain = null, projectDomain = null;
        string? authToken = null, resourceUuid = null, remoteAddress = null, quotaClass = null;
        string readDeleted = "no";
        bool isAdmin = false, isAdminProject = true, readOnly = false, showDeleted = false;
        IReadOnlyList<string> roles = [];
        DateTime? timestamp = null;
        JsonElement? catalog = null;
        Dictionary<string, JsonElement>? extra = null;

        // A request carries some 25 context keys: match them on the raw UTF-8 name rather than
        // allocating a string for every property name of every message.
        Span<char> scratch = stackalloc char[MaxUnallocatedKeyLength];
        // Escapes that do not make valid text (a lone surrogate) throw from the reader's decoder
        // (JsonElement.GetString, JsonProperty.Name); the caller gets a typed problem naming the key.
        JsonProperty? current = null;
        try
        {
            foreach (var property in message.EnumerateObject())
            {
                current = property;
                var raw = JsonMarshal.GetRawUtf8PropertyName(property);
                scoped ReadOnlySpan<char> name;
                if (raw.Contains((byte)'\\'))
                {
                    name = property.Name; // escaped: let the reader decode it
                }
                else if (!raw.StartsWith(PrefixUtf8))
                {
                    continue;
                }
                else
                {
                    name = Encoding.UTF8.TryGetChars(raw, scratch, out var written) ? scratch[..written] : property.Name;
                }
                if (!name.StartsWith(Prefix, StringComparison.Ordinal))
                {
                    continue;
                }
                var value = property.Value;
                switch (name[Prefix.Length..])
                {
                    case "request_id": requestId = Str(value); break;
                    case "global_request_id": globalRequestId = Str(value); break;
                    case "user_id": userId = Str(value); break;
                    case "user": user = Str(value); break;
                    case "project_id": projectId = Str(value); break;
                    case "project": project = Str(value); break;
                    case "tenant": project ??= Str(value); break;
                    case "user_name": userName = Str(value); break;
                    case "project_name": projectName = Str(value); break;
                    case "system_scope": systemScope = Str(value); break;
                    case "domain": domain = Str(value); break;
                    case "user_domain": userDomain = Str(value); break;
                    case "project_domain": projectDomain = Str(value); break;
                    case "auth_token": authToken = Str(value); break;
                    case "resource_uuid": resourceUuid = Str(value); break;
                    case "remote_address": remoteAddress = Str(value); break;
                    case "quota_class": quotaClass = Str(value); break;
                    case "read_deleted": readDeleted = Str(value) ?? "no"; break;
                    case "is_admin": isAdmin = Bool(value, false); break;
                    case "is_admin_project": isAdminProject = Bool(value, true); break;
                    case "read_only": readOnly = Bool(value, false); break;
                    case "show_deleted": showDeleted = Bool(value, false); break;
                    case "roles":
                        roles = value.ValueKind == JsonValueKind.Array
                            ? [.. value.EnumerateArray().Where(r => r.ValueKind == JsonValueKind.String).Select(r => r.GetString()!)]
                            : [];
                        break;
                    case "timestamp":
                        if (value.ValueKind == JsonValueKind.String && ParseTimestamp(value.GetString()) is { } parsed)
                        {
                            timestamp = parsed;
                        }
                        break;
                    case "service_catalog": catalog = value.Clone(); break;
                    case "user_identity": break; // derived
                    default:
                        (extra ??= new(StringComparer.Ordinal))[name[Prefix.Length..].ToString()] = value.Clone();
                        break;
                }
            }
        }
        catch (InvalidOperationException ex)
        {
            var key = current is { } at ? Encoding.UTF8.GetString(JsonMarshal.GetRawUtf8PropertyName(at)) : null;
            throw new RpcMessageException(
                new RpcMessageProblem(RpcMessageFault.UnreadableContext, $"the request context is unreadable: {ex.Message}", key), ex);
        }

        return new RequestContext
        {
            RequestId = requestId ?? NewRequestId(),
            GlobalRequestId = globalRequestId,
            UserId = userId ?? user,
            ProjectId = projectId ?? project,
            UserName = userName,
            ProjectName = projectName,
            SystemScope = systemScope,
            DomainId = domain,
            UserDomainId = userDomain,
            ProjectDomainId = projectDomain,
            AuthToken = authToken,
            ResourceUuid = resourceUuid,
            RemoteAddress = remoteAddress,
            QuotaClass = quotaClass,
            ReadDeleted = readDeleted,
            IsAdmin = isAdmin,
            IsAdminProject = isAdminProject,
            ReadOnly = readOnly,
            ShowDeleted = showDeleted,
            Roles = roles,
            Timestamp = timestamp ?? DateTime.UtcNow,
            ServiceCatalog = catalog,
            Extra = extra ?? EmptyExtra,
        };

        static DateTime? ParseTimestamp(string? text)
        {
            const DateTimeStyles Utc = DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal;
            // oslo.context's own format first: the general parser is several times slower.
            return DateTime.TryParseExact(text, TimestampFormat, CultureInfo.InvariantCulture, Utc, out var exact) ? exact
                : DateTime.TryParse(text, CultureInfo.InvariantCulture, Utc, out var parsed) ? parsed
                : null;
        }

        static string? Str(JsonElement e) => e.ValueKind switch
        {
            JsonValueKind.String => e.GetString(),
            JsonValueKind.Null or JsonValueKind.Undefined => null,
            _ => e.GetRawText(),
        };

        static bool Bool(JsonElement e, bool fallback) => e.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => fallback,
        };
    }

    /// <summary>Writes nova's <c>to_dict()</c> as <c>_context_*</c> properties of the current JSON object.</summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        writer.WriteString("_context_user", UserId);
        writer.WriteString("_context_project_id", ProjectId);
        writer.WriteString("_context_system_scope", SystemScope);
        writer.WriteString("_context_project", ProjectId);
        writer.WriteString("_context_domain", DomainId);
        writer.WriteString("_context_user_domain", UserDomainId);
        writer.WriteString("_context_project_domain", ProjectDomainId);
        writer.WriteBoolean("_context_is_admin", IsAdmin);
        writer.WriteBoolean("_context_read_only", ReadOnly);
        writer.WriteBoolean("_context_show_deleted", ShowDeleted);
        writer.WriteString("_context_auth_token", AuthToken);
        writer.WriteString("_context_request_id", RequestId);
        writer.WriteString("_context_global_request_id", GlobalRequestId);
        writer.WriteString("_context_resource_uuid", ResourceUuid);
        writer.WriteStartArray("_context_roles");
        foreach (var role in Roles)
        {
            writer.WriteStringValue(role);
        }
        writer.WriteEndArray();
        writer.WriteString("_context_user_identity", UserIdentity);
        writer.WriteBoolean("_context_is_admin_project", IsAdminProject);
        writer.WriteString("_context_user_id", UserId);
        writer.WriteString("_context_read_deleted", ReadDeleted);
        writer.WriteString("_context_remote_address", RemoteAddress);
        writer.WriteString("_context_timestamp", Timestamp.ToString(TimestampFormat, CultureInfo.InvariantCulture));
        writer.WriteString("_context_quota_class", QuotaClass);
        writer.WriteString("_context_user_name", UserName);
        writer.WritePropertyName("_context_service_catalog");
        if (ServiceCatalog is { } catalog)
        {
            catalog.WriteTo(writer);
        }
        else
        {
            writer.WriteStartArray();
            writer.WriteEndArray();
        }
        writer.WriteString("_context_project_name", ProjectName);
        foreach (var (key, value) in Extra)
        {
            writer.WritePropertyName(Prefix + key);
            value.WriteTo(writer);
        }
    }

    /// <summary>The logging scope that carries this context into every log line (and journald field) while it is current.</summary>
    public IReadOnlyList<KeyValuePair<string, object?>> LogScope() => new RequestContextLogScope(this);

    public override string ToString() =>
        $"RequestContext(request_id={RequestId}, global_request_id={GlobalRequestId ?? "-"}, user={UserIdentity}, is_admin={IsAdmin})";

    /// <summary>
    /// Scope state with the property names the log formatter and the journald sink look for
    /// (RequestId, GlobalRequestId, UserId, ProjectId, UserName, ProjectName); absent values are left out.
    /// </summary>
    /// <remarks>
    /// Every request opens one, and most are never read (no provider keeps scopes, or nothing is
    /// logged at the enabled level), so the list is built on first use.
    /// </remarks>
    private sealed class RequestContextLogScope(RequestContext context) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        private KeyValuePair<string, object?>[]? _items;

        private KeyValuePair<string, object?>[] Items => _items ??= Build(context);

        private static KeyValuePair<string, object?>[] Build(RequestContext context)
        {
            var items = new List<KeyValuePair<string, object?>>(6) { new("RequestId", context.RequestId) };
            Add(items, "GlobalRequestId", context.GlobalRequestId);
            Add(items, "UserId", context.UserId);
            Add(items, "ProjectId", context.ProjectId);
            Add(items, "UserName", context.UserName);
            Add(items, "ProjectName", context.ProjectName);
            return [.. items];

            static void Add(List<KeyValuePair<string, object?>> list, string key, string? value)
            {
                if (value is not null)
                {
                    list.Add(new(key, value));
                }
            }
        }

        public int Count => Items.Length;

        public KeyValuePair<string, object?> this[int index] => Items[index];

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)Items).GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => context.RequestId;
    }
}
