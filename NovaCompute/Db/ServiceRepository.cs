using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace NovaCompute.Db;

/// <summary>The <c>services</c> table: what nova's DB API does for the service framework (nova/db/main/api.py).</summary>
internal interface IServiceRepository
{
    /// <summary>What the records are read from, as log lines name it ("the database", "nova-conductor").</summary>
    string StoreName => "the database";

    /// <summary>
    /// True when the store itself refuses a create or version save that the deployment's minimum
    /// version forbids (nova-conductor runs <c>Service._check_minimum_version</c> inside
    /// <c>create</c>/<c>save</c>); false when the caller must check first.
    /// </summary>
    bool ChecksMinimumVersion => false;

    /// <summary>The live row for (host, binary), or null (nova's <c>get_by_host_and_binary</c>).</summary>
    Task<ServiceRecord?> GetByHostAndBinaryAsync(string host, string binary, CancellationToken cancellationToken);

    /// <summary>The live row with this id, or null.</summary>
    Task<ServiceRecord?> GetByIdAsync(int id, CancellationToken cancellationToken);

    /// <summary>Inserts a live row stamped with the database's clock.</summary>
    /// <exception cref="ServiceBinaryExistsException">(host, binary) already has a live row.</exception>
    /// <exception cref="ServiceTopicExistsException">(host, topic) already has a live row.</exception>
    Task<ServiceRecord> CreateAsync(NewService service, CancellationToken cancellationToken);

    /// <summary>Sets <c>version</c>; null when the row is gone.</summary>
    Task<ServiceRecord?> UpdateVersionAsync(int id, int version, CancellationToken cancellationToken);

    /// <summary>
    /// One heartbeat in one statement: <c>report_count + 1</c>, <c>last_seen_up</c> and
    /// <c>updated_at</c> set to the database's now. Null when the live row is gone.
    /// </summary>
    Task<HeartbeatStamp?> ReportStateAsync(int id, CancellationToken cancellationToken);

    /// <summary>
    /// One heartbeat for each of <paramref name="ids"/> (what <see cref="ReportStateAsync"/> does
    /// for one), stamps by id; an id missing from the answer has no live row any more. This default
    /// reports them one by one; the database writes them in one statement, the conductor (where
    /// nova's <c>Service.save</c> is one object call per service) sends a bounded number at once.
    /// </summary>
    async Task<IReadOnlyDictionary<int, HeartbeatStamp>> ReportStatesAsync(IReadOnlyList<int> ids, CancellationToken cancellationToken)
    {
        var stamps = new Dictionary<int, HeartbeatStamp>(ids.Count);
        foreach (var id in ids)
        {
            if (await ReportStateAsync(id, cancellationToken).ConfigureAwait(false) is { } stamp)
            {
                stamps[id] = stamp;
            }
        }
        return stamps;
    }

    /// <summary>Live rows ordered by id, optionally filtered (exact match), with the database's clock.</summary>
    Task<ServiceListing> ListAsync(string? host, string? binary, CancellationToken cancellationToken);

    /// <summary>Enables or disables; the reason is cleared on enable. Null when the row is gone.</summary>
    Task<ServiceRecord?> SetDisabledAsync(int id, bool disabled, string? reason, CancellationToken cancellationToken);

    Task<ServiceRecord?> SetForcedDownAsync(int id, bool forcedDown, CancellationToken cancellationToken);

    /// <summary>
    /// Soft delete (<c>deleted = id</c>, <c>updated_at</c> kept); for nova-compute also the host's
    /// compute nodes. False when the row was already gone.
    /// </summary>
    Task<bool> DestroyAsync(int id, CancellationToken cancellationToken);

    /// <summary>
    /// nova's <c>service_get_minimum_version</c> for one binary: the lowest version among live,
    /// not forced-down rows; 0 when there are none (NULL versions count as 0).
    /// </summary>
    Task<int> GetMinimumVersionAsync(string binary, CancellationToken cancellationToken);
}

/// <summary>ADO.NET over <see cref="IDbConnectionFactory"/>; one statement per call, stamped with the database's clock.</summary>
internal sealed class ServiceRepository(IDbConnectionFactory factory) : IServiceRepository
{
    private bool Sqlite => factory.Dialect == DatabaseDialect.Sqlite;

    private const string SelectByHostAndBinary =
        $"SELECT {ServiceRecord.Columns} FROM services s WHERE s.host = @host AND s.\"binary\" = @binary AND s.deleted = 0 ORDER BY s.id LIMIT 1";

    public async Task<ServiceRecord?> GetByHostAndBinaryAsync(string host, string binary, CancellationToken cancellationToken)
    {
        await using var connection = await factory.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command(SelectByHostAndBinary).Bind("host", host).Bind("binary", binary);
        return await QuerySingleAsync(command, cancellationToken).ConfigureAwait(false);
    }

    private const string SelectById = $"SELECT {ServiceRecord.Columns} FROM services s WHERE s.id = @id AND s.deleted = 0";

    public async Task<ServiceRecord?> GetByIdAsync(int id, CancellationToken cancellationToken)
    {
        await using var connection = await factory.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command(SelectById).Bind("id", id);
        return await QuerySingleAsync(command, cancellationToken).ConfigureAwait(false);
    }

    private const string InsertColumns =
        "(created_at, updated_at, deleted_at, host, \"binary\", topic, report_count, disabled, deleted, disabled_reason, last_seen_up, forced_down, version, uuid)";

    private const string InsertValues =
        "@host, @binary, @topic, 0, @disabled, 0, @disabledReason, NULL, @forcedDown, @version, @uuid)";

    private const string Returning = " RETURNING id, uuid, host, \"binary\", topic, report_count, disabled, disabled_reason, " +
        "last_seen_up, forced_down, version, created_at, updated_at, deleted_at, deleted";

    private static readonly DialectSql Insert = DialectSql.WithNow(
        $"INSERT INTO services {InsertColumns} VALUES ({DialectSql.Now}, NULL, NULL, {InsertValues}{Returning}");

    public async Task<ServiceRecord> CreateAsync(NewService service, CancellationToken cancellationToken)
    {
        await using var connection = await factory.OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var command = connection.Command(Insert.For(factory.Dialect))
                .Bind("host", service.Host)
                .Bind("binary", service.Binary)
                .Bind("topic", service.Topic)
                .Bind("disabled", service.Disabled)
                .Bind("disabledReason", service.DisabledReason)
                .Bind("forcedDown", false)
                .Bind("version", service.Version)
                .Bind("uuid", service.Uuid);
            var row = await QuerySingleAsync(command, cancellationToken).ConfigureAwait(false);
            return row ?? throw new InvalidOperationException("INSERT ... RETURNING returned no row");
        }
        catch (DbException ex) when (UniqueViolation(ex) is { } columns)
        {
            // nova's rule (db/main/api.py service_create): a violation naming "binary" is the
            // binary constraint, anything else the topic one. When a sibling's row breaks both,
            // which one the database names first is its own choice, so ask which it really is.
            var binaryTaken = columns.Contains("binary", StringComparison.Ordinal)
                || await GetByHostAndBinaryAsync(service.Host, service.Binary, cancellationToken).ConfigureAwait(false) is not null;
            throw binaryTaken
                ? new ServiceBinaryExistsException(service.Host, service.Binary)
                : new ServiceTopicExistsException(service.Host, service.Topic);
        }
    }

    private static readonly DialectSql UpdateVersion = DialectSql.WithNow(
        $"UPDATE services SET version = @version, updated_at = {DialectSql.Now} WHERE id = @id AND deleted = 0{Returning}");

    public async Task<ServiceRecord?> UpdateVersionAsync(int id, int version, CancellationToken cancellationToken)
    {
        await using var connection = await factory.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command(UpdateVersion.For(factory.Dialect)).Bind("id", id).Bind("version", version);
        return await QuerySingleAsync(command, cancellationToken).ConfigureAwait(false);
    }

    // One round trip, no read-modify-write: the increment happens in the database, so a heartbeat
    // cannot lose a count to a concurrent writer, and both stamps come from the same clock.
    internal static readonly DialectSql ReportState = DialectSql.WithNow($"""
        UPDATE services SET report_count = report_count + 1, last_seen_up = {DialectSql.Now}, updated_at = {DialectSql.Now}
        WHERE id = @id AND deleted = 0
        RETURNING report_count, last_seen_up, updated_at
        """);

    private readonly SqliteHeartbeat _sqliteHeartbeat = new();

    public async Task<HeartbeatStamp?> ReportStateAsync(int id, CancellationToken cancellationToken)
    {
        await using var connection = await factory.OpenAsync(cancellationToken).ConfigureAwait(false);
        if (connection is SqliteConnection sqlite)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return _sqliteHeartbeat.Run(sqlite, id);
        }
        await using var command = connection.Command(ReportState.PostgreSql).Bind("id", id);
        return await SingleRow.QueryAsync(command, static reader => new HeartbeatStamp(reader.GetInt32(0),
            ServiceRecord.ReadTimestamp(reader, 1)!.Value, ServiceRecord.ReadTimestamp(reader, 2)!.Value), cancellationToken).ConfigureAwait(false);
    }

    // A heartbeat round of many services in one statement: the cost of a round is one round trip,
    // not one per service. PostgreSQL takes the ids as one array parameter (= ANY), SQLite as a
    // JSON array (json_each), so the statement text is the same for every batch size.
    private const string ReportStatesSqlite = $"""
        UPDATE services SET report_count = report_count + 1, last_seen_up = {Schema.SqliteNow}, updated_at = {Schema.SqliteNow}
        WHERE id IN (SELECT value FROM json_each(@ids)) AND deleted = 0
        RETURNING id, report_count, last_seen_up, updated_at
        """;

    private const string ReportStatesPostgreSql = $"""
        UPDATE services SET report_count = report_count + 1, last_seen_up = {Schema.PostgreSqlNow}, updated_at = {Schema.PostgreSqlNow}
        WHERE id = ANY(@ids) AND deleted = 0
        RETURNING id, report_count, last_seen_up, updated_at
        """;

    public async Task<IReadOnlyDictionary<int, HeartbeatStamp>> ReportStatesAsync(IReadOnlyList<int> ids, CancellationToken cancellationToken)
    {
        var stamps = new Dictionary<int, HeartbeatStamp>(ids.Count);
        if (ids.Count == 0)
        {
            return stamps;
        }
        await using var connection = await factory.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Sqlite
            ? connection.Command(ReportStatesSqlite)
                .Bind("ids", "[" + string.Join(",", ids.Select(id => id.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]")
            : connection.Command(ReportStatesPostgreSql).Bind("ids", ids.ToArray());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            stamps[reader.GetInt32(0)] = new HeartbeatStamp(reader.GetInt32(1), ServiceRecord.ReadTimestamp(reader, 2)!.Value,
                ServiceRecord.ReadTimestamp(reader, 3)!.Value);
        }
        return stamps;
    }

    // The clock comes from the same statement as the rows (a one-row derived table joined to the
    // services), so is_up compares last_seen_up with the clock that wrote it, as of this read.
    // No ORDER BY: sorting 10,000 full-width rows was most of the server's time for the query
    // (a quicksort of ~2 MB, EXPLAIN ANALYZE 26 of 34 ms); the ids are sorted here instead, as on SQLite.
    internal const string ListPostgreSql =
        $"SELECT n.db_now, {ServiceRecord.Columns} FROM (SELECT {Schema.PostgreSqlNow} AS db_now) n LEFT JOIN services s ON s.deleted = 0";

    // SQLite's per-value cost through the ADO.NET provider is about a microsecond, so 10,000 rows
    // of 15 columns read value by value take ~200 ms; built as one JSON text inside SQLite and
    // parsed here, the same rows take a few milliseconds. Order is restored by id after parsing.
    private const string ListSqliteJson = $"""
        SELECT {Schema.SqliteNow}, (SELECT json_group_array(json_array(s.id, s.uuid, s.host, s."binary", s.topic, s.report_count,
            s.disabled, s.disabled_reason, s.last_seen_up, s.forced_down, s.version, s.created_at, s.updated_at, s.deleted_at, s.deleted))
        FROM services s WHERE s.deleted = 0
        """;

    public async Task<ServiceListing> ListAsync(string? host, string? binary, CancellationToken cancellationToken)
    {
        if (Sqlite)
        {
            return await ListSqliteAsync(host, binary, cancellationToken).ConfigureAwait(false);
        }
        var sql = ListPostgreSql;
        if (host is not null)
        {
            sql += " AND s.host = @host";
        }
        if (binary is not null)
        {
            sql += " AND s.\"binary\" = @binary";
        }
        await using var connection = await factory.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = BindFilter(connection.Command(sql), host, binary);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<ServiceRecord>();
        DateTime now = default;
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            now = ServiceRecord.ReadTimestamp(reader, 0)!.Value;
            if (!reader.IsDBNull(1))
            {
                rows.Add(ServiceRecord.Read(reader, 1));
            }
        }
        rows.Sort(static (a, b) => a.Id.CompareTo(b.Id));
        return new ServiceListing(rows, now);
    }

    private async Task<ServiceListing> ListSqliteAsync(string? host, string? binary, CancellationToken cancellationToken)
    {
        var sql = ListSqliteJson;
        if (host is not null)
        {
            sql += " AND s.host = @host";
        }
        if (binary is not null)
        {
            sql += " AND s.\"binary\" = @binary";
        }
        sql += ")";
        await using var connection = await factory.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = BindFilter(connection.Command(sql), host, binary);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            throw new InvalidOperationException("the service list query returned no row");
        }
        var now = ServiceRecord.ParseSqliteTimestamp(reader.GetString(0));
        // The JSON text's UTF-8 bytes as SQLite holds them: no UTF-16 round trip for megabytes of text.
        var rows = ServiceRecord.ParseJsonRows(reader.GetFieldValue<byte[]>(1));
        rows.Sort(static (a, b) => a.Id.CompareTo(b.Id));
        return new ServiceListing(rows, now);
    }

    private static readonly DialectSql SetDisabled = DialectSql.WithNow(
        $"UPDATE services SET disabled = @disabled, disabled_reason = @reason, updated_at = {DialectSql.Now} WHERE id = @id AND deleted = 0{Returning}");

    public async Task<ServiceRecord?> SetDisabledAsync(int id, bool disabled, string? reason, CancellationToken cancellationToken)
    {
        await using var connection = await factory.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command(SetDisabled.For(factory.Dialect))
            .Bind("id", id).Bind("disabled", disabled).Bind("reason", disabled ? reason : null);
        return await QuerySingleAsync(command, cancellationToken).ConfigureAwait(false);
    }

    private static readonly DialectSql SetForcedDown = DialectSql.WithNow(
        $"UPDATE services SET forced_down = @forcedDown, updated_at = {DialectSql.Now} WHERE id = @id AND deleted = 0{Returning}");

    public async Task<ServiceRecord?> SetForcedDownAsync(int id, bool forcedDown, CancellationToken cancellationToken)
    {
        await using var connection = await factory.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command(SetForcedDown.For(factory.Dialect)).Bind("id", id).Bind("forcedDown", forcedDown);
        return await QuerySingleAsync(command, cancellationToken).ConfigureAwait(false);
    }

    // nova's soft delete: deleted = id, deleted_at = now, updated_at explicitly preserved.
    private static readonly DialectSql Destroy = DialectSql.WithNow(
        $"UPDATE services SET deleted = id, deleted_at = {DialectSql.Now}, updated_at = updated_at WHERE id = @id AND deleted = 0 RETURNING host, \"binary\"");

    private static readonly DialectSql DestroyNodes = DialectSql.WithNow(
        $"UPDATE compute_nodes SET deleted = id, deleted_at = {DialectSql.Now}, updated_at = updated_at WHERE deleted = 0 AND (service_id = @id OR host = @host)");

    public async Task<bool> DestroyAsync(int id, CancellationToken cancellationToken)
    {
        await using var connection = await factory.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        string? host, binary;
        await using (var command = connection.Command(Destroy.For(factory.Dialect), transaction).Bind("id", id))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return false;
            }
            host = reader.IsDBNull(0) ? null : reader.GetString(0);
            binary = reader.IsDBNull(1) ? null : reader.GetString(1);
        }
        if (binary == "nova-compute")
        {
            await using var command = connection.Command(DestroyNodes.For(factory.Dialect), transaction).Bind("id", id).Bind("host", host);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    private const string MinimumVersion =
        "SELECT MIN(COALESCE(version, 0)) FROM services WHERE \"binary\" = @binary AND deleted = 0 AND (forced_down IS NULL OR forced_down = @notForced)";

    public async Task<int> GetMinimumVersionAsync(string binary, CancellationToken cancellationToken)
    {
        await using var connection = await factory.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command(MinimumVersion).Bind("binary", binary).Bind("notForced", false);
        return await command.ScalarAsync<int>(cancellationToken).ConfigureAwait(false) ?? 0;
    }

    private static async Task<ServiceRecord?> QuerySingleAsync(DbCommand command, CancellationToken cancellationToken)
    {
        return await SingleRow.QueryAsync(command, static reader => ServiceRecord.Read(reader), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The list's optional filters, bound only when the statement names them (as Dapper bound only the parameters a statement used).</summary>
    private static DbCommand BindFilter(DbCommand command, string? host, string? binary)
    {
        if (host is not null)
        {
            command.Bind("host", host);
        }
        if (binary is not null)
        {
            command.Bind("binary", binary);
        }
        return command;
    }

    /// <summary>The columns of a violated unique constraint (or its name), null for any other error.</summary>
    private static string? UniqueViolation(DbException exception) => exception switch
    {
        // "UNIQUE constraint failed: services.host, services.binary, services.deleted"
        SqliteException { SqliteExtendedErrorCode: 2067 } sqlite => sqlite.Message,
        PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } pg => pg.ConstraintName ?? pg.Detail ?? "",
        _ => null,
    };
}
