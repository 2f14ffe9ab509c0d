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

    /// <summary>
    /// SQLAlchemy's SQLite DATETIME text, <c>YYYY-MM-DD HH:MM:SS[.ffffff]</c>, parsed without the
    /// general parser (it runs for every row of a listing); anything else falls back to it.
    /// </summary>
    internal static DateTime ParseSqliteTimestamp(string text)
    {
        var s = text.AsSpan();
        if (s.Length >= 19 && s[4] == '-' && s[7] == '-' && (s[10] == ' ' || s[10] == 'T') && s[13] == ':' && s[16] == ':'
            && TryDigits(s[..4], out var year) && TryDigits(s.Slice(5, 2), out var month) && TryDigits(s.Slice(8, 2), out var day)
            && TryDigits(s.Slice(11, 2), out var hour) && TryDigits(s.Slice(14, 2), out var minute) && TryDigits(s.Slice(17, 2), out var second))
        {
            long ticks = 0;
            if (s.Length > 19)
            {
                var fraction = s[20..];
                if (s[19] != '.' || fraction.Length is 0 or > 7 || !TryDigits(fraction, out var f))
                {
                    return Fallback(text);
                }
                ticks = f;
                for (var i = fraction.Length; i < 7; i++)
                {
                    ticks *= 10;
                }
            }
            return new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified).AddTicks(ticks);
        }
        return Fallback(text);

        static DateTime Fallback(string text) =>
            DateTime.SpecifyKind(DateTime.Parse(text, System.Globalization.CultureInfo.InvariantCulture), DateTimeKind.Unspecified);
    }

    private static bool TryDigits(ReadOnlySpan<char> digits, out int value)
    {
        value = 0;
        foreach (var c in digits)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
            value = (value * 10) + (c - '0');
        }
        return true;
    }

    /// <summary>Rows from SQLite's <c>json_group_array(json_array(...))</c> in <see cref="Columns"/> order.</summary>
    internal static List<ServiceRecord> ParseJsonRows(ReadOnlySpan<byte> json)
    {
        var rows = new List<ServiceRecord>();
        var reader = new System.Text.Json.Utf8JsonReader(json);
        Expect(ref reader, System.Text.Json.JsonTokenType.StartArray);
        while (reader.Read() && reader.TokenType == System.Text.Json.JsonTokenType.StartArray)
        {
            var row = new ServiceRecord
            {
                Id = NextInt(ref reader) ?? 0,
                Uuid = NextString(ref reader),
                Host = NextString(ref reader),
                Binary = NextString(ref reader),
                Topic = NextString(ref reader),
                ReportCount = NextInt(ref reader) ?? 0,
                Disabled = (NextInt(ref reader) ?? 0) != 0,
                DisabledReason = NextString(ref reader),
                LastSeenUp = NextTimestamp(ref reader),
                ForcedDown = (NextInt(ref reader) ?? 0) != 0,
                Version = NextInt(ref reader) ?? 0,
                CreatedAt = NextTimestamp(ref reader),
                UpdatedAt = NextTimestamp(ref reader),
                DeletedAt = NextTimestamp(ref reader),
                Deleted = NextInt(ref reader) ?? 0,
            };
            Expect(ref reader, System.Text.Json.JsonTokenType.EndArray);
            rows.Add(row);
        }
        return rows;

        static void Expect(ref System.Text.Json.Utf8JsonReader reader, System.Text.Json.JsonTokenType type)
        {
            if (!reader.Read() || reader.TokenType != type)
            {
                throw new FormatException($"unexpected service list JSON: {reader.TokenType} where {type} belongs");
            }
        }

        static int? NextInt(ref System.Text.Json.Utf8JsonReader reader)
        {
            reader.Read();
            return reader.TokenType switch
            {
                System.Text.Json.JsonTokenType.Null => null,
                System.Text.Json.JsonTokenType.True => 1,
                System.Text.Json.JsonTokenType.False => 0,
                _ => reader.GetInt32(),
            };
        }

        static string? NextString(ref System.Text.Json.Utf8JsonReader reader)
        {
            reader.Read();
            return reader.TokenType == System.Text.Json.JsonTokenType.Null ? null : reader.GetString();
        }

        static DateTime? NextTimestamp(ref System.Text.Json.Utf8JsonReader reader)
        {
            reader.Read();
            return reader.TokenType == System.Text.Json.JsonTokenType.Null ? null : ParseSqliteTimestamp(reader.GetString()!);
        }
    }
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
