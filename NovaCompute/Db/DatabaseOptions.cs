using NovaCompute.Config;

namespace NovaCompute.Db;

/// <summary>How this process reaches nova's records (README, "Database access").</summary>
public enum DatabaseMode
{
    /// <summary>No <c>[database] connection</c>: every record through nova-conductor, as nova-compute does.</summary>
    Conductor,

    /// <summary><c>[database] connection</c> set: this process reads and writes the database itself.</summary>
    Direct,
}

/// <summary>
/// oslo.db's <c>[database]</c> options this daemon honours, and nova's <c>state_path</c>. Whether
/// <c>[database] connection</c> is set chooses the <see cref="DatabaseMode"/>.
/// </summary>
public static class DatabaseOptions
{
    public static readonly StrOpt StatePath = new("state_path", "/var/lib/nova")
    {
        Help = """
            The top-level directory for maintaining Nova's state.

            This directory is used to store Nova's internal state. It is used by a
            variety of other config options which derive from this. In some scenarios
            (for example migrations) it makes sense to use a storage location which is
            shared between multiple compute hosts (for example via NFS). Unless the
            option ``instances_path`` gets overwritten, this directory can grow very
            large.

            Possible values:

            * The full path to a directory. Defaults to ``/var/lib/nova``.
            """,
    };

    public static readonly StrOpt Connection = new("connection", null)
    {
        Group = "database",
        Namespace = "oslo.db",
        Secret = true,
        Help = """
            The SQLAlchemy connection string to use to connect to the database.

            nova-compute: leave it unset (as nova-compute is deployed) and every record goes
            through nova-conductor on the RPC transport; set it (for example
            ``sqlite:////var/lib/nova/nova.sqlite``) and this process reads and writes the
            services and compute_nodes tables itself (standalone, or a compute trusted with
            its cell database).
            """,
        // A malformed URL is a configuration error (exit 78), found before anything starts.
        Validator = url => DatabaseUrl.Parse(url),
        DeprecatedNames = [new("DEFAULT", "sql_connection"), new("DATABASE", "sql_connection"), new("sql", "connection")],
    };

    public static readonly BoolOpt SqliteSynchronous = new("sqlite_synchronous", true)
    {
        Group = "database",
        Namespace = "oslo.db",
        Help = "If True, SQLite uses synchronous mode.",
        DeprecatedNames = [new("DEFAULT", null)],
    };

    public static readonly IntOpt MaxRetries = new("max_retries", 10)
    {
        Group = "database",
        Namespace = "oslo.db",
        Help = "Maximum number of database connection retries during startup. Set to -1 to specify an infinite retry count.",
        DeprecatedNames = [new("DEFAULT", "sql_max_retries"), new("DATABASE", "sql_max_retries")],
    };

    public static readonly IntOpt RetryInterval = new("retry_interval", 10)
    {
        Group = "database",
        Namespace = "oslo.db",
        Help = "Interval between retries of opening a SQL connection.",
        DeprecatedNames = [new("DEFAULT", "sql_retry_interval"), new("DATABASE", "reconnect_interval")],
    };

    public static readonly IntOpt ConnectionRecycleTime = new("connection_recycle_time", 3600)
    {
        Group = "database",
        Namespace = "oslo.db",
        Help = """
            Connections which have been present in the connection pool longer than this number of seconds will be replaced with a new one the next time they are checked out from the pool.

            PostgreSQL only (SQLite has no server to drop a connection); 0 or less keeps them.
            """,
    };

    public static readonly IntOpt MaxPoolSize = new("max_pool_size", 5)
    {
        Group = "database",
        Namespace = "oslo.db",
        Help = """
            Maximum number of SQL connections to keep open in a pool. Setting a value of 0 indicates no limit.

            PostgreSQL only. Together with max_overflow it bounds how many connections this process opens at once (max_pool_size + max_overflow, as SQLAlchemy's pool does), so that a busy process, or a simulation of many computes, cannot take all of the server's max_connections. When all are in use, a caller waits for one as long as a connection may take to open (the URL's connect_timeout, 10 seconds by default); pool_timeout is not read.
            """,
    };

    public static readonly IntOpt MaxOverflow = new("max_overflow", 50)
    {
        Group = "database",
        Namespace = "oslo.db",
        Help = """
            If set, use this value for max_overflow with SQLAlchemy.

            PostgreSQL only: connections beyond max_pool_size that may be open at once; a negative value for no limit.
            """,
        DeprecatedNames = [new("DEFAULT", "sql_max_overflow"), new("DATABASE", "sqlalchemy_max_overflow")],
    };

    public static IReadOnlyList<Opt> All { get; } =
        [StatePath, Connection, SqliteSynchronous, MaxRetries, RetryInterval, ConnectionRecycleTime, MaxPoolSize, MaxOverflow];

    /// <summary>
    /// Npgsql's pool has to have a size; "no limit" (max_pool_size 0 or a negative max_overflow) becomes
    /// this many, more than a PostgreSQL server accepts by default (max_connections 100) many times over.
    /// </summary>
    internal const int UnlimitedPoolSize = 1000;

    /// <summary>How many connections the PostgreSQL pool opens at most: SQLAlchemy's pool_size + max_overflow.</summary>
    /// <remarks>As SQLAlchemy's QueuePool: a pool size of 0 or less, or a negative overflow, sets no limit.</remarks>
    internal static int PostgresMaxConnections(int maxPoolSize, int maxOverflow) =>
        maxPoolSize <= 0 || maxOverflow < 0 ? UnlimitedPoolSize : (int)Math.Min(UnlimitedPoolSize, (long)maxPoolSize + maxOverflow);

    /// <summary>
    /// nova-compute's rule: without <c>[database] connection</c> the process has no database at all
    /// (nova/cmd/compute.py sets <c>DISABLE_DB_ACCESS</c> and the conductor indirection API).
    /// </summary>
    public static DatabaseMode Mode(NovaConfig config) =>
        config.Get(Connection) is { Length: > 0 } ? DatabaseMode.Direct : DatabaseMode.Conductor;

    /// <summary>One line for the start-up log and check-config: the mode and, in direct mode, the database (password masked).</summary>
    public static string Describe(NovaConfig config) => Mode(config) switch
    {
        DatabaseMode.Direct => $"direct database access ([database] connection = {SafeUrl(config)})",
        _ => "conductor mode (no [database] connection: records are read and written through nova-conductor, topic 'conductor')",
    };

    private static string SafeUrl(NovaConfig config)
    {
        try
        {
            return Url(config).ToString();
        }
        catch (FormatException ex)
        {
            return ex.Message;
        }
    }

    /// <summary>The database <c>[database] connection</c> names.</summary>
    /// <exception cref="FormatException">The URL is invalid (message safe to print: no password).</exception>
    /// <exception cref="ConductorModeException">No connection is configured: there is no database to open.</exception>
    internal static DatabaseUrl Url(NovaConfig config) =>
        config.Get(Connection) is { Length: > 0 } connection
            ? DatabaseUrl.Parse(connection)
            : throw new ConductorModeException();

    internal static DbConnectionSettings Settings(NovaConfig config) => new()
    {
        SqliteSynchronous = config.Get(SqliteSynchronous),
        PostgresMaxPoolSize = PostgresMaxConnections(config.Get(MaxPoolSize), config.Get(MaxOverflow)),
        PostgresConnectionLifetime = TimeSpan.FromSeconds(Math.Max(0, config.Get(ConnectionRecycleTime))),
    };
}

/// <summary>Something asked for the database in conductor mode, where this process has none.</summary>
public sealed class ConductorModeException()
    : InvalidOperationException("no [database] connection is configured: this node runs in conductor mode and has no database of its own " +
        "(set [database] connection, e.g. sqlite:////var/lib/nova/nova.sqlite, for direct access)");
