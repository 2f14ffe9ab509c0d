using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace NovaCompute.Db;

/// <summary>
/// One line saying what went wrong with the database, for logs, health answers and the CLI: the
/// database (SQLite: its file), and the cause in words an operator can act on. A full disk is named
/// as such whether SQLite says SQLITE_FULL or, writing its shared-memory index or journal,
/// SQLITE_IOERR ("disk I/O error", which names neither the file nor the reason).
/// </summary>
internal static partial class DatabaseError
{
    /// <summary>Why <paramref name="exception"/> happened on <paramref name="url"/>; passwords masked, no line breaks.</summary>
    /// <remarks>Without a URL, or for an error that did not come from a database provider, just the error's message.</remarks>
    public static string Describe(Exception exception, DatabaseUrl? url)
    {
        if (url is null || Find<DbException>(exception) is null && exception is not TimeoutException)
        {
            return DatabaseUrl.MaskPassword(exception.Message.ReplaceLineEndings(" "));
        }
        var cause = Cause(exception, url);
        var where = url.SqlitePath is { } path ? $"database file {path}" : $"database {url}";
        return DatabaseUrl.MaskPassword($"{where}: {cause}".ReplaceLineEndings(" "));
    }

    /// <summary>
    /// True when the error came from the store, not from this process: a database or conductor error,
    /// a timeout, a broken connection. The heartbeat logs it once as lost (not as a bug), the API
    /// answers 503, the CLI prints the cause, /healthcheck reports it.
    /// </summary>
    /// <remarks>
    /// Any <see cref="DbException"/> counts, SQL errors included: the database refused, and the
    /// caller can only report it (oslo.db's <c>DBError</c> family is caught as one in nova too).
    /// </remarks>
    public static bool IsUnavailable(Exception ex) =>
        ex is DbException or TimeoutException or OperationCanceledException or IOException or System.Net.Sockets.SocketException
        || ex.InnerException is DbException or IOException or System.Net.Sockets.SocketException;

    /// <summary>
    /// <see cref="IsUnavailable(Exception)"/>, except a cancellation that <paramref name="callerToken"/>
    /// asked for: the caller stopped waiting (a client went away, Ctrl-C), the store did nothing wrong.
    /// </summary>
    public static bool IsUnavailable(Exception ex, CancellationToken callerToken) =>
        IsUnavailable(ex) && !(ex is OperationCanceledException && callerToken.IsCancellationRequested);

    /// <summary>
    /// True when another try may succeed: the database could not be reached (yet) or dropped the
    /// connection, or a SQLite writer holds the lock. Not: bad credentials, a missing database, bad
    /// SQL, a full disk. oslo.db retries its first connection on the same kind of error
    /// (oslo_db/sqlalchemy/engines.py <c>_test_connection</c>, <c>DBConnectionError</c>).
    /// </summary>
    public static bool IsTransient(Exception ex) => Find<DbException>(ex) switch
    {
        // Class 08 connection exception, 53 insufficient resources (too many connections), 57P0x
        // operator intervention (admin or crash shutdown, cannot connect now).
        PostgresException pg => pg.SqlState.StartsWith("08", StringComparison.Ordinal)
            || pg.SqlState.StartsWith("53", StringComparison.Ordinal)
            || pg.SqlState.StartsWith("57P0", StringComparison.Ordinal),
        // Npgsql's own errors, not the server's: connecting failed or the connection broke.
        NpgsqlException => true,
        SqliteException sqlite => sqlite.SqliteErrorCode is SqliteBusy or SqliteLocked,
        _ => false,
    };

    /// <summary>True when the error, or one it wraps, came from a database provider.</summary>
    public static bool IsDatabaseError(Exception ex) => Find<DbException>(ex) is not null;

    /// <summary>True when the error says (or the file's filesystem shows) that no space is left.</summary>
    public static bool IsDiskFull(Exception exception, DatabaseUrl url) => Find<SqliteException>(exception) switch
    {
        { SqliteErrorCode: SqliteFull } => true,
        { SqliteErrorCode: SqliteIoErr } => NoSpaceLeft(url),
        _ => Find<PostgresException>(exception) is { SqlState: PostgresErrorCodes.DiskFull },
    };

    private const string PoolExhausted = "The connection pool has been exhausted";

    [System.Text.RegularExpressions.GeneratedRegex(@"currently (\d+)")]
    private static partial System.Text.RegularExpressions.Regex NpgsqlCurrentValue();

    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;
    private const int SqliteIoErr = 10;
    private const int SqliteFull = 13;

    private static string Cause(Exception exception, DatabaseUrl url)
    {
        if (Find<SqliteException>(exception) is { } sqlite)
        {
            var code = sqlite.SqliteExtendedErrorCode != sqlite.SqliteErrorCode
                ? $"{Name(sqlite.SqliteErrorCode)}, extended code {sqlite.SqliteExtendedErrorCode}"
                : Name(sqlite.SqliteErrorCode);
            if (IsDiskFull(exception, url))
            {
                var directory = Path.GetDirectoryName(url.SqlitePath) ?? ".";
                return $"disk full: no space left on the filesystem of {directory} ({code}: {SqliteText(sqlite)})";
            }
            return $"{SqliteText(sqlite)} ({code})";
        }
        if (Find<PostgresException>(exception) is { } pg)
        {
            return $"{pg.MessageText} (SQLSTATE {pg.SqlState})";
        }
        if (exception is NpgsqlException && exception.Message.StartsWith(PoolExhausted, StringComparison.Ordinal))
        {
            // Npgsql names its connection-string keys ("raise 'Max Pool Size' (currently 55) or
            // 'Timeout' (currently 10 seconds)"); the operator sets oslo.db's options and the URL.
            var current = NpgsqlCurrentValue().Matches(exception.Message);
            return current.Count == 2
                ? $"no free connection: all {current[0].Groups[1].Value} connections this process may open ([database] max_pool_size + "
                    + $"max_overflow) stayed in use for {current[1].Groups[1].Value} s (the URL's connect_timeout)"
                : $"no free connection: all connections this process may open ([database] max_pool_size + max_overflow) stayed in use ({exception.Message})";
        }
        // Npgsql's connection errors say what failed; the socket error under them says why.
        return exception.InnerException is { } inner && exception is NpgsqlException or TimeoutException
            ? $"{exception.Message} ({inner.Message})"
            : exception.Message;
    }

    /// <summary>"database or disk is full" out of "SQLite Error 13: 'database or disk is full'."</summary>
    private static string SqliteText(SqliteException sqlite)
    {
        var message = sqlite.Message;
        var open = message.IndexOf('\'', StringComparison.Ordinal);
        var close = message.LastIndexOf('\'');
        return open >= 0 && close > open ? message[(open + 1)..close] : message;
    }

    private static string Name(int code) => code switch
    {
        SqliteBusy => "SQLITE_BUSY",
        SqliteLocked => "SQLITE_LOCKED",
        8 => "SQLITE_READONLY",
        SqliteIoErr => "SQLITE_IOERR",
        11 => "SQLITE_CORRUPT",
        SqliteFull => "SQLITE_FULL",
        14 => "SQLITE_CANTOPEN",
        26 => "SQLITE_NOTADB",
        _ => $"SQLite error {code}",
    };

    private static bool NoSpaceLeft(DatabaseUrl url)
    {
        if (url.SqlitePath is not { } path)
        {
            return false;
        }
        try
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(path)) ?? "/";
            return new DriveInfo(directory).AvailableFreeSpace == 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return false;
        }
    }

    private static T? Find<T>(Exception? exception) where T : Exception
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            if (exception is T found)
            {
                return found;
            }
        }
        return null;
    }
}
