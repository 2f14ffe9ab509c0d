using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace NovaCompute.Db;

/// <summary>Opens connections to the services database. One per process; it owns the pools.</summary>
internal interface IDbConnectionFactory
{
    DatabaseDialect Dialect { get; }

    /// <summary>The configured URL, password masked: safe to log.</summary>
    DatabaseUrl Url { get; }

    /// <summary>Seconds a single command may run before the provider gives up on it.</summary>
    int CommandTimeoutSeconds { get; }

    Task<DbConnection> OpenAsync(CancellationToken cancellationToken);
}

/// <summary>How connections are set up, beyond what the URL says.</summary>
internal sealed record DbConnectionSettings
{
    /// <summary>How long a SQLite writer waits for a competing writer's lock before failing.</summary>
    public TimeSpan SqliteBusyTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// oslo.db's <c>[database] sqlite_synchronous</c>. True keeps commits crash-safe without a
    /// per-commit fsync (WAL + <c>synchronous=NORMAL</c>: a power loss can drop the last heartbeats,
    /// never corrupt the file); false turns syncing off entirely, as oslo.db does.
    /// </summary>
    public bool SqliteSynchronous { get; init; } = true;

    /// <summary>Default command timeout in seconds (both providers).</summary>
    public int CommandTimeoutSeconds { get; init; } = 30;

    /// <summary>
    /// PostgreSQL: connections open at once at most (<c>[database] max_pool_size + max_overflow</c>);
    /// null leaves Npgsql's 100.
    /// </summary>
    public int? PostgresMaxPoolSize { get; init; }

    /// <summary>PostgreSQL: a pooled connection older than this is replaced (<c>connection_recycle_time</c>); zero never.</summary>
    public TimeSpan PostgresConnectionLifetime { get; init; }

    /// <summary>PostgreSQL <c>search_path</c>; tests give each fixture a schema of its own.</summary>
    public string? PostgresSearchPath { get; init; }
}

/// <summary>
/// SQLite or PostgreSQL connections from an oslo.db URL. SQLite files are created readable by their
/// owner only and switched to WAL, so the heartbeat writer and <c>service list</c> readers do not
/// block each other; a busy timeout turns writer contention (two processes starting at once) into
/// a short wait instead of an error.
/// </summary>
internal sealed class DbConnectionFactory : IDbConnectionFactory, IAsyncDisposable, IDisposable
{
    private readonly DbConnectionSettings _settings;
    private readonly NpgsqlDataSource? _postgres;
    private readonly string? _sqliteConnectionString;
    private readonly string _sqlitePragmas;
    private readonly SemaphoreSlim _firstOpen = new(1, 1);
    private volatile bool _sqlitePrepared;
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<SQLitePCL.sqlite3, object> _configuredHandles = new();
    private static readonly object Configured = new();
    private SqliteConnection? _memoryKeeper;

    public DbConnectionFactory(DatabaseUrl url, DbConnectionSettings? settings = null)
    {
        Url = url;
        _settings = settings ?? new DbConnectionSettings();
        if (url.Dialect == DatabaseDialect.PostgreSql)
        {
            var builder = new NpgsqlConnectionStringBuilder(url.ConnectionString)
            {
                CommandTimeout = _settings.CommandTimeoutSeconds,
                ConnectionLifetime = (int)_settings.PostgresConnectionLifetime.TotalSeconds,
            };
            if (_settings.PostgresMaxPoolSize is { } maxPoolSize)
            {
                builder.MaxPoolSize = maxPoolSize;
            }
            if (_settings.PostgresSearchPath is { } searchPath)
            {
                builder.SearchPath = searchPath;
            }
            _postgres = NpgsqlDataSource.Create(builder.ConnectionString);
            _sqlitePragmas = "";
        }
        else
        {
            var builder = new SqliteConnectionStringBuilder(url.ConnectionString)
            {
                DefaultTimeout = _settings.CommandTimeoutSeconds,
            };
            _sqliteConnectionString = builder.ToString();
            var busyMs = (long)_settings.SqliteBusyTimeout.TotalMilliseconds;
            var synchronous = _settings.SqliteSynchronous ? "NORMAL" : "OFF";
            _sqlitePragmas = string.Create(CultureInfo.InvariantCulture,
                $"PRAGMA busy_timeout = {busyMs}; PRAGMA synchronous = {synchronous};");
        }
    }

    public DatabaseDialect Dialect => Url.Dialect;

    public DatabaseUrl Url { get; }

    public int CommandTimeoutSeconds => _settings.CommandTimeoutSeconds;

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (_postgres is not null)
        {
            return await _postgres.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        if (!_sqlitePrepared)
        {
            await PrepareSqliteAsync(cancellationToken).ConfigureAwait(false);
        }
        var connection = new SqliteConnection(_sqliteConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            // Pragmas belong to the native handle, which the pool hands out again and again: set
            // them once per handle, not once per open (the heartbeat opens for every beat).
            if (connection.Handle is { } handle && !_configuredHandles.TryGetValue(handle, out _))
            {
                using var command = connection.CreateCommand();
                command.CommandText = _sqlitePragmas;
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                _configuredHandles.AddOrUpdate(handle, Configured);
            }
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task PrepareSqliteAsync(CancellationToken cancellationToken)
    {
        await _firstOpen.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_sqlitePrepared)
            {
                return;
            }
            if (Url.SqlitePath is { } path)
            {
                CreateOwnerOnlyFile(path);
            }
            var first = new SqliteConnection(_sqliteConnectionString);
            await first.OpenAsync(cancellationToken).ConfigureAwait(false);
            using (var command = first.CreateCommand())
            {
                // WAL is a property of the file (it sticks for every later connection and process);
                // an in-memory database cannot use it and keeps its own journal.
                command.CommandText = _sqlitePragmas + (Url.IsInMemory ? "" : " PRAGMA journal_mode = WAL;");
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            if (Url.IsInMemory)
            {
                // A shared-cache memory database disappears with its last connection.
                _memoryKeeper = first;
            }
            else
            {
                await first.DisposeAsync().ConfigureAwait(false);
            }
            _sqlitePrepared = true;
        }
        finally
        {
            _firstOpen.Release();
        }
    }

    /// <summary>
    /// Creates the database file (and its directory) before SQLite does, so it is born 0600 rather
    /// than with the umask's mode; the -wal and -shm files SQLite adds copy the file's mode.
    /// </summary>
    private static void CreateOwnerOnlyFile(string path)
    {
        if (File.Exists(path))
        {
            return;
        }
        var directory = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory) && !Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        try
        {
            using var _ = new FileStream(path, options);
        }
        catch (IOException) when (File.Exists(path))
        {
            // A sibling process created it first; it did so with the same mode.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync().ConfigureAwait(false);
        }
        if (_memoryKeeper is not null)
        {
            await _memoryKeeper.DisposeAsync().ConfigureAwait(false);
        }
        _firstOpen.Dispose();
    }

    public void Dispose()
    {
        _postgres?.Dispose();
        _memoryKeeper?.Dispose();
        _firstOpen.Dispose();
    }
}
