using System.Data.Common;

namespace NovaCompute.Db;

/// <summary>One row of <c>services</c>. Timestamps are naive UTC (<see cref="DateTimeKind.Unspecified"/>), as stored.</summary>
internal sealed record ServiceRecord
{
    public int Id { get; init; }
    public string? Uuid { get; init; }
    public string? Host { get; init; }
    public string? Binary { get; init; }
    public string? Topic { get; init; }
    public int ReportCount { get; init; }
    public bool Disabled { get; init; }
    public string? DisabledReason { get; init; }
    public DateTime? LastSeenUp { get; init; }
    public bool ForcedDown { get; init; }
    public int Version { get; init; }
    public DateTime? CreatedAt { get; init; }
    public DateTime? UpdatedAt { get; init; }
    public DateTime? DeletedAt { get; init; }
    public int Deleted { get; init; }

    /// <summary>The column list <see cref="Read"/> expects, in order, for table alias <c>s</c>.</summary>
    internal const string Columns =
        "s.id, s.uuid, s.host, s.\"binary\", s.topic, s.report_count, s.disabled, s.disabled_reason, " +
        "s.last_seen_up, s.forced_down, s.version, s.created_at, s.updated_at, s.deleted_at, s.deleted";

    /// <summary>Reads the row at <paramref name="offset"/> (the first of <see cref="Columns"/>).</summary>
    internal static ServiceRecord Read(DbDataReader reader, int offset = 0) => new()
    {
        Id = reader.GetInt32(offset),
        Uuid = reader.IsDBNull(offset + 1) ? null : reader.GetString(offset + 1),
        Host = reader.IsDBNull(offset + 2) ? null : reader.GetString(offset + 2),
        Binary = reader.IsDBNull(offset + 3) ? null : reader.GetString(offset + 3),
        Topic = reader.IsDBNull(offset + 4) ? null : reader.GetString(offset + 4),
        ReportCount = reader.GetInt32(offset + 5),
        Disabled = !reader.IsDBNull(offset + 6) && reader.GetBoolean(offset + 6),
        DisabledReason = reader.IsDBNull(offset + 7) ? null : reader.GetString(offset + 7),
        LastSeenUp = ReadTimestamp(reader, offset + 8),
        ForcedDown = !reader.IsDBNull(offset + 9) && reader.GetBoolean(offset + 9),
        Version = reader.IsDBNull(offset + 10) ? 0 : reader.GetInt32(offset + 10),
        CreatedAt = ReadTimestamp(reader, offset + 11),
        UpdatedAt = ReadTimestamp(reader, offset + 12),
        DeletedAt = ReadTimestamp(reader, offset + 13),
        Deleted = reader.IsDBNull(offset + 14) ? 0 : reader.GetInt32(offset + 14),
    };

    internal static DateTime? ReadTimestamp(DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : DateTime.SpecifyKind(reader.GetDateTime(ordinal), DateTimeKind.Unspecified);
}

/// <summary>What a heartbeat wrote: the new count and the database's time stamps.</summary>
internal sealed record HeartbeatStamp(int ReportCount, DateTime LastSeenUp, DateTime UpdatedAt);

/// <summary>Rows of <c>services</c> together with the database's clock at the moment they were read.</summary>
internal sealed record ServiceListing(IReadOnlyList<ServiceRecord> Services, DateTime DatabaseNow);

/// <summary>Values of a new <c>services</c> row.</summary>
internal sealed record NewService(string Host, string Binary, string? Topic, int Version)
{
    public string Uuid { get; init; } = Guid.NewGuid().ToString();
    public bool Disabled { get; init; }
    public string? DisabledReason { get; init; }
}
