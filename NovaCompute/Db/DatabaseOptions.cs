using NovaCompute.Config;

namespace NovaCompute.Db;

/// <summary>
/// oslo.db's <c>[database]</c> options this daemon honours, and nova's <c>state_path</c> (where the
/// default SQLite database lives).
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

            * The full path to a directory. Defaults to ``/var/lib/nova``; the services
              database is ``nova.sqlite`` in it unless ``[database] connection`` is set.
            """,
    };

    public static readonly StrOpt Connection = new("connection", null)
    {
        Group = "database",
        Namespace = "oslo.db",
        Secret = true,
        Help = "The SQLAlchemy connection string to use to connect to the database.",
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

    public static IReadOnlyList<Opt> All { get; } = [StatePath, Connection, SqliteSynchronous, MaxRetries, RetryInterval];

    /// <summary>The database this configuration names: <c>[database] connection</c>, else <c>$state_path/nova.sqlite</c>.</summary>
    /// <exception cref="FormatException">The URL is invalid (message safe to print: no password).</exception>
    internal static DatabaseUrl Url(NovaConfig config) =>
        config.Get(Connection) is { Length: > 0 } connection
            ? DatabaseUrl.Parse(connection)
            : DatabaseUrl.Default(config.Get(StatePath) ?? "/var/lib/nova");

    internal static DbConnectionSettings Settings(NovaConfig config) => new()
    {
        SqliteSynchronous = config.Get(SqliteSynchronous),
    };
}
