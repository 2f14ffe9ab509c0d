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
internal static class DatabaseError
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
    /// True when the store did not take a heartbeat for reasons outside this process (a database or
    /// conductor error, a timeout, a broken connection): logged once as lost, not as a bug.
    /// </summary>
    public static bool IsUnavailable(Exception ex) =>
        ex is DbException or TimeoutException or OperationCanceledException or IOException or System.Net.Sockets.SocketException
        || ex.InnerException is DbException or IOException or System.Net.Sockets.SocketException;

    /// <summary>True when the error says (or the file's filesystem shows) that no space is left.</summary>
    public static bool IsDiskFull(Exception exception, DatabaseUrl url) => Find<SqliteException>(exception) switch
    {
        { SqliteErrorCode: SqliteFull } => true,
        { SqliteErrorCode: SqliteIoErr } => NoSpaceLeft(url),
        _ => Find<PostgresException>(exception) is { SqlState: PostgresErrorCodes.DiskFull },
    };

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
        5 => "SQLITE_BUSY",
        6 => "SQLITE_LOCKED",
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
