using System.Globalization;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using NovaCompute.Db;
using Npgsql;

namespace NovaCompute.Tests.Support;

/// <summary>
/// A real, private database for one test: a SQLite file in a fresh temporary directory, or a schema
/// of its own (via <c>search_path</c>) in the shared PostgreSQL test database, dropped afterwards.
/// Fixtures parameterised with <see cref="DatabaseDialect"/> run the same test bodies on both.
/// </summary>
internal sealed class TestDatabase : IAsyncDisposable
{
    private readonly List<DbConnectionFactory> _factories = [];
    private readonly string? _directory;
    private readonly string? _schema;
    private readonly string? _adminConnectionString;

    private TestDatabase(DatabaseDialect dialect, DatabaseUrl url, string? directory, string? schema, string? adminConnectionString)
    {
        Dialect = dialect;
        Url = url;
        _directory = directory;
        _schema = schema;
        _adminConnectionString = adminConnectionString;
        Factory = NewFactory();
    }

    public DatabaseDialect Dialect { get; }

    public DatabaseUrl Url { get; }

    /// <summary>The oslo.db URL text a config file would hold for this database.</summary>
    public string ConnectionText { get; private set; } = "";

    /// <summary>The PostgreSQL schema of this test (null for SQLite).</summary>
    public string? Schema => _schema;

    /// <summary>The SQLite file (null for PostgreSQL).</summary>
    public string? SqlitePath => Url.SqlitePath;

    public DbConnectionFactory Factory { get; }

    public ServiceRepository Repository => new(Factory);

    /// <summary>Creates a database; <paramref name="migrate"/> applies the schema.</summary>
    /// <param name="sqliteDirectory">Where the SQLite file goes (a fresh temporary directory when null).</param>
    public static async Task<TestDatabase> CreateAsync(DatabaseDialect dialect, bool migrate = true, string? sqliteDirectory = null)
    {
        TestDatabase database;
        if (dialect == DatabaseDialect.Sqlite)
        {
            var directory = sqliteDirectory ?? Directory.CreateTempSubdirectory("nova-db-test-").FullName;
            var text = "sqlite:///" + Path.Combine(directory, "nova.sqlite");
            database = new TestDatabase(dialect, DatabaseUrl.Parse(text), directory, null, null) { ConnectionText = text };
        }
        else
        {
            var text = TestServices.PostgresUrl;
            var url = DatabaseUrl.Parse(text);
            var schema = "t_" + Guid.NewGuid().ToString("N");
            await using (var admin = new NpgsqlConnection(url.ConnectionString))
            {
                await admin.OpenAsync();
                await admin.ExecuteAsync($"CREATE SCHEMA {schema}");
            }
            // The schema travels in the URL too (libpq's options parameter), so a config file can name it.
            var separator = text.Contains('?', StringComparison.Ordinal) ? "&" : "?";
            database = new TestDatabase(dialect, url, null, schema, url.ConnectionString)
            {
                ConnectionText = $"{text}{separator}options={Uri.EscapeDataString("-c search_path=" + schema)}",
            };
        }
        if (migrate)
        {
            await new SchemaMigrator(database.Factory, NullLogger<SchemaMigrator>.Instance).MigrateAsync(CancellationToken.None);
        }
        return database;
    }

    /// <summary>Another factory on the same database: what a second process would have.</summary>
    public DbConnectionFactory NewFactory(DbConnectionSettings? settings = null)
    {
        settings ??= new DbConnectionSettings();
        var factory = new DbConnectionFactory(Url, settings with { PostgresSearchPath = _schema });
        _factories.Add(factory);
        return factory;
    }

    /// <summary>A timestamp literal bound as a parameter value the way this dialect stores it.</summary>
    public object Timestamp(DateTime? value) => value switch
    {
        null => DBNull.Value,
        { } v when Dialect == DatabaseDialect.Sqlite => v.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture),
        { } v => DateTime.SpecifyKind(v, DateTimeKind.Unspecified),
    };

    /// <summary>The database's current time as it stamps it (naive UTC).</summary>
    public async Task<DateTime> NowAsync()
    {
        await using var connection = await Factory.OpenAsync(CancellationToken.None);
        var sql = Dialect == DatabaseDialect.Sqlite ? $"SELECT {NovaCompute.Db.Schema.SqliteNow}" : $"SELECT {NovaCompute.Db.Schema.PostgreSqlNow}";
        await using var reader = await connection.ExecuteReaderAsync(sql);
        await reader.ReadAsync();
        return DateTime.SpecifyKind(reader.GetDateTime(0), DateTimeKind.Unspecified);
    }

    /// <summary>Inserts a service row with exactly these values (test set-up, bypassing the repository).</summary>
    public async Task<int> InsertServiceAsync(string host, string binary, DateTime? createdAt, DateTime? lastSeenUp,
        bool forcedDown = false, bool disabled = false, int version = 64, string? topic = null, DateTime? updatedAt = null)
    {
        await using var connection = await Factory.OpenAsync(CancellationToken.None);
        return await connection.ExecuteScalarAsync<int>(
            "INSERT INTO services (created_at, updated_at, host, \"binary\", topic, report_count, disabled, deleted, last_seen_up, forced_down, version, uuid) " +
            "VALUES (@createdAt, @updatedAt, @host, @binary, @topic, 0, @disabled, 0, @lastSeenUp, @forcedDown, @version, @uuid) RETURNING id",
            new
            {
                createdAt = Timestamp(createdAt),
                updatedAt = Timestamp(updatedAt),
                host,
                binary,
                topic = topic ?? (binary.StartsWith("nova-", StringComparison.Ordinal) ? binary[5..] : binary),
                disabled,
                lastSeenUp = Timestamp(lastSeenUp),
                forcedDown,
                version,
                uuid = Guid.NewGuid().ToString(),
            });
    }

    public async Task<T> ScalarAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = await Factory.OpenAsync(CancellationToken.None);
        return (await connection.ExecuteScalarAsync<T>(sql, parameters))!;
    }

    public async Task ExecuteAsync(string sql, object? parameters = null)
    {
        await using var connection = await Factory.OpenAsync(CancellationToken.None);
        await connection.ExecuteAsync(sql, parameters);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var factory in _factories)
        {
            await factory.DisposeAsync();
        }
        if (_directory is not null)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
                // A pooled handle in another test may still be closing; the OS temp cleaner gets it.
            }
        }
        if (_schema is not null && _adminConnectionString is not null)
        {
            await using var admin = new NpgsqlConnection(_adminConnectionString);
            await admin.OpenAsync();
            await admin.ExecuteAsync($"DROP SCHEMA {_schema} CASCADE");
        }
    }
}
