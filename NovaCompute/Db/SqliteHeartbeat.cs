using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace NovaCompute.Db;

/// <summary>
/// The heartbeat's <c>UPDATE … RETURNING</c> on SQLite as one statement prepared once per pooled
/// database handle and run with SQLite's own API. Microsoft.Data.Sqlite has no statement cache:
/// through it every beat compiled the statement again (parse and code generation were half of a
/// beat's cost), so the heartbeat wrote at less than half the rate of a prepared single-row
/// UPDATE.
/// </summary>
/// <remarks>
/// <para>
/// The time stamp is bound, not computed by <c>strftime('now')</c> twice per beat and read back as
/// text: SQLite's <c>'now'</c> is this machine's real-time clock in whole milliseconds, read by the
/// library inside this process, so <see cref="SqliteClock.Now"/> is the same clock and the same
/// value (the text has the same form). That and returning only <c>report_count</c> took a fifth off
/// a beat. The stamp is taken before the write lock: a beat that waited for another writer
/// (<c>busy_timeout</c>, 10 s at most) carries the moment it started, which strftime would have put
/// after the wait, far inside <c>service_down_time</c>. PostgreSQL keeps the server's <c>now()</c>:
/// its clock is another machine's.
/// </para>
/// <para>
/// The statement is stepped to <c>SQLITE_DONE</c> and that step's result code is checked, for the
/// reason <see cref="SingleRow"/> gives: an autocommit statement commits on that step, and a commit
/// that failed (SQLITE_FULL, SQLITE_IOERR) must be an error, not a stamp of a write that was rolled
/// back (issue 14). Errors are thrown as the provider throws them
/// (<see cref="SqliteException.ThrowExceptionForRC"/>), so the callers' rules
/// (<see cref="DatabaseError"/>) apply unchanged. A handle is used by one connection at a time
/// (the pool hands it out exclusively), so its statement is too; a schema change makes SQLite
/// prepare the statement again by itself.
/// </para>
/// </remarks>
internal sealed class SqliteHeartbeat
{
    /// <summary>?1 the row's id, ?2 the time stamp.</summary>
    internal const string Sql = """
        UPDATE services SET report_count = report_count + 1, last_seen_up = ?2, updated_at = ?2
        WHERE id = ?1 AND deleted = 0
        RETURNING report_count
        """;

    private readonly ConditionalWeakTable<sqlite3, sqlite3_stmt> _statements = new();

    /// <summary>The new report_count and the stamp written, or null when the statement matched no live row.</summary>
    public HeartbeatStamp? Run(SqliteConnection connection, int id)
    {
        var db = connection.Handle ?? throw new InvalidOperationException("the SQLite connection is not open");
        var statement = Prepare(db);
        var now = SqliteClock.Now();
        Span<byte> text = stackalloc byte[SqliteClock.TextLength];
        SqliteClock.Format(now, text);
        try
        {
            Check(raw.sqlite3_bind_int(statement, 1, id), db);
            Check(raw.sqlite3_bind_text(statement, 2, text), db);
            var rc = raw.sqlite3_step(statement);
            if (rc == raw.SQLITE_DONE)
            {
                return null;
            }
            if (rc != raw.SQLITE_ROW)
            {
                SqliteException.ThrowExceptionForRC(rc, db);
            }
            var stamp = new HeartbeatStamp(raw.sqlite3_column_int(statement, 0), now, now);
            // Stepping past the row is the commit; its result code is the commit's.
            while ((rc = raw.sqlite3_step(statement)) == raw.SQLITE_ROW)
            {
            }
            if (rc != raw.SQLITE_DONE)
            {
                SqliteException.ThrowExceptionForRC(rc, db);
            }
            return stamp;
        }
        finally
        {
            // Leaves the statement ready for the next beat; its code repeats the step's error, already handled.
            raw.sqlite3_reset(statement);
        }
    }

    private sqlite3_stmt Prepare(sqlite3 db)
    {
        if (_statements.TryGetValue(db, out var statement))
        {
            return statement;
        }
        Check(raw.sqlite3_prepare_v3(db, Sql, raw.SQLITE_PREPARE_PERSISTENT, out statement, out _), db);
        _statements.AddOrUpdate(db, statement);
        return statement;
    }

    private static void Check(int rc, sqlite3 db)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }
    }
}

/// <summary>
/// What <see cref="Schema.SqliteNow"/> yields, computed here: SQLite's unix VFS reads the real-time
/// clock in whole milliseconds (<c>unixCurrentTimeInt64</c>), and nova's text form pads that to
/// microseconds (<c>2026-12-01 19:52:56.123000</c>).
/// </summary>
internal static class SqliteClock
{
    public const int TextLength = 26;

    /// <summary>The real-time clock, truncated to the millisecond as SQLite's <c>'now'</c> is.</summary>
    public static DateTime Now()
    {
        var ticks = DateTime.UtcNow.Ticks;
        return new DateTime(ticks - (ticks % TimeSpan.TicksPerMillisecond), DateTimeKind.Unspecified);
    }

    /// <summary>Writes <paramref name="value"/> as <c>YYYY-MM-DD HH:MM:SS.ffffff</c> (UTF-8) into exactly <see cref="TextLength"/> bytes.</summary>
    public static void Format(DateTime value, Span<byte> destination)
    {
        if (!value.TryFormat(destination, out var written, "yyyy'-'MM'-'dd' 'HH':'mm':'ss'.'ffffff", System.Globalization.CultureInfo.InvariantCulture)
            || written != TextLength)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "not representable in nova's SQLite time stamp form");
        }
    }
}
