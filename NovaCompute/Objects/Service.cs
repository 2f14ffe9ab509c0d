using System.Text.Json.Nodes;
using NovaCompute.Db;

namespace NovaCompute.Objects;

/// <summary>
/// nova's <c>Service</c> object, version 1.22 (nova/objects/service.py): what a <c>services</c> row looks like
/// on the RPC wire.
/// </summary>
internal sealed class Service : NovaObject
{
    /// <summary>nova 26.2.2's SERVICE_VERSION (compute RPC 6.1).</summary>
    public const int ServiceVersion = 64;

    /// <summary>The oldest compute service version this release runs with (<c>Yoga</c>).</summary>
    public const int OldestSupportedServiceVersion = 61;

    public const string OldestSupportedServiceRelease = "Yoga";

    private static readonly FieldDefinition[] Definitions =
    [
        new("id", IntegerField.Instance, ReadOnly: true),
        new("uuid", UuidField.Instance),
        new("host", StringField.Instance, Nullable: true),
        new("binary", StringField.Instance, Nullable: true),
        new("topic", StringField.Instance, Nullable: true),
        new("report_count", IntegerField.Instance),
        new("disabled", BooleanField.Instance),
        new("disabled_reason", StringField.Instance, Nullable: true),
        new("availability_zone", StringField.Instance, Nullable: true),
        new("compute_node", new ObjectField("ComputeNode")),
        new("last_seen_up", DateTimeField.Instance, Nullable: true),
        new("forced_down", BooleanField.Instance),
        new("version", IntegerField.Instance),
        new("created_at", DateTimeField.Instance, Nullable: true),
        new("updated_at", DateTimeField.Instance, Nullable: true),
        new("deleted_at", DateTimeField.Instance, Nullable: true),
        new("deleted", BooleanField.Instance),
    ];

    /// <summary>A new object: like nova's constructor it sets <c>version</c> (and marks it changed).</summary>
    public Service()
    {
        Set("version", ServiceVersion);
    }

    public override string ObjectName => "Service";

    public override string CurrentVersion => "1.22";

    public override IReadOnlyList<FieldDefinition> Fields => Definitions;

    public int Id { get => Get<int>("id"); set => Set("id", value); }
    public string? Uuid { get => GetOrDefault<string>("uuid"); set => Set("uuid", value); }
    public string? Host { get => GetOrDefault<string>("host"); set => Set("host", value); }
    public string? Binary { get => GetOrDefault<string>("binary"); set => Set("binary", value); }
    public string? Topic { get => GetOrDefault<string>("topic"); set => Set("topic", value); }
    public int ReportCount { get => Get<int>("report_count"); set => Set("report_count", value); }
    public bool Disabled { get => Get<bool>("disabled"); set => Set("disabled", value); }
    public string? DisabledReason { get => GetOrDefault<string>("disabled_reason"); set => Set("disabled_reason", value); }
    public string? AvailabilityZone { get => GetOrDefault<string>("availability_zone"); set => Set("availability_zone", value); }
    public DateTime? LastSeenUp { get => GetOrDefault<DateTime?>("last_seen_up"); set => Set("last_seen_up", value); }
    public bool ForcedDown { get => Get<bool>("forced_down"); set => Set("forced_down", value); }
    public int Version => Get<int>("version");
    public DateTime? CreatedAt { get => GetOrDefault<DateTime?>("created_at"); set => Set("created_at", value); }
    public DateTime? UpdatedAt { get => GetOrDefault<DateTime?>("updated_at"); set => Set("updated_at", value); }
    public DateTime? DeletedAt { get => GetOrDefault<DateTime?>("deleted_at"); set => Set("deleted_at", value); }
    public bool Deleted { get => Get<bool>("deleted"); set => Set("deleted", value); }

    /// <summary>
    /// nova's <c>_from_db_object</c>: every column (not <c>compute_node</c>), a NULL uuid left unset,
    /// then no pending changes.
    /// </summary>
    public static Service FromRecord(ServiceRecord record)
    {
        var service = new Service();
        service.Set("id", record.Id);
        if (record.Uuid is not null)
        {
            service.Set("uuid", record.Uuid);
        }
        service.Set("host", record.Host);
        service.Set("binary", record.Binary);
        service.Set("topic", record.Topic);
        service.Set("report_count", record.ReportCount);
        service.Set("disabled", record.Disabled);
        service.Set("disabled_reason", record.DisabledReason);
        service.Set("last_seen_up", record.LastSeenUp);
        service.Set("forced_down", record.ForcedDown);
        service.Set("version", record.Version);
        service.Set("created_at", record.CreatedAt);
        service.Set("updated_at", record.UpdatedAt);
        service.Set("deleted_at", record.DeletedAt);
        service.Set("deleted", record.Deleted != 0);
        service.ResetChanges();
        return service;
    }

    /// <summary>The row this object describes (<c>deleted</c> as nova stores it: the id when deleted).</summary>
    public ServiceRecord ToRecord() => new()
    {
        Id = IsSet("id") ? Id : 0,
        Uuid = Uuid,
        Host = Host,
        Binary = Binary,
        Topic = Topic,
        ReportCount = IsSet("report_count") ? ReportCount : 0,
        Disabled = IsSet("disabled") && Disabled,
        DisabledReason = DisabledReason,
        LastSeenUp = Naive(LastSeenUp),
        ForcedDown = IsSet("forced_down") && ForcedDown,
        Version = IsSet("version") ? Version : 0,
        CreatedAt = Naive(CreatedAt),
        UpdatedAt = Naive(UpdatedAt),
        DeletedAt = Naive(DeletedAt),
        Deleted = IsSet("deleted") && Deleted ? (IsSet("id") ? Id : 1) : 0,
    };

    // Records keep naive UTC, as the database does.
    private static DateTime? Naive(DateTime? value) => value is { } v ? DateTime.SpecifyKind(v, DateTimeKind.Unspecified) : null;

    /// <summary>nova's backports (<c>Service.obj_make_compatible</c> in nova/objects/service.py).</summary>
    protected override void MakeCompatible(JsonObject data, ObjectVersion target)
    {
        if (target < new ObjectVersion(1, 10))
        {
            // Before 1.10 the compute node was embedded; nova lazy-loads it for that. Peers that old
            // are out of support (Yoga is the oldest), so refuse rather than send a wrong shape.
            throw new ObjectActionException("obj_make_compatible", $"Service {target} predates the supported releases");
        }
        if (target < new ObjectVersion(1, 21))
        {
            data.Remove("uuid");
        }
        if (target < new ObjectVersion(1, 16))
        {
            data.Remove("version");
        }
        if (target < new ObjectVersion(1, 14))
        {
            data.Remove("forced_down");
        }
        if (target < new ObjectVersion(1, 13))
        {
            data.Remove("last_seen_up");
        }
    }
}
