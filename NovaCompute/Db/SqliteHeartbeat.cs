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
/// The statement is stepped to <c>SQLITE_DONE</c> and that step's result code is checked, for the
/// reason <see cref="SingleRow"/> gives: an autocommit statement commits on that step, and a commit
/// that failed (SQLITE_FULL, SQLITE_IOERR) must be an error, not a stamp of a write that was rolled
/// back (issue 14). Errors are thrown as the provider throws them
/// (<see cref="SqliteException.ThrowExceptionForRC"/>), so the callers' rules
/// (<see cref="DatabaseError"/>) apply unchanged. A handle is used by one connection at a time
/// (the pool hands it out exclusively), so its statement is too; a schema change makes SQLite
/// prepare the statement again by itself.
/// </remarks>
internal sealed class SqliteHeartbeat(string sql)
{
    private readonly ConditionalWeakTable<sqlite3, sqlite3_stmt> _statements = new();

    /// <summary>The statement's one row (report_count, last_seen_up, updated_at), or null when it matched none.</summary>
    public HeartbeatStamp? Run(SqliteConnection connection, int id)
    {
        var db = connection.Handle ?? throw new InvalidOperationException("the SQLite connection is not open");
        var statement = Prepare(db);
        try
        {
            Check(raw.sqlite3_bind_int(statement, 1, id), db);
            var rc = raw.sqlite3_step(statement);
            if (rc == raw.SQLITE_DONE)
            {
                return null;
            }
            if (rc != raw.SQLITE_ROW)
            {
                SqliteException.ThrowExceptionForRC(rc, db);
            }
            var stamp = new HeartbeatStamp(raw.sqlite3_column_int(statement, 0),
                ServiceRecord.ParseSqliteTimestamp(raw.sqlite3_column_text(statement, 1).utf8_to_string()),
                ServiceRecord.ParseSqliteTimestamp(raw.sqlite3_column_text(statement, 2).utf8_to_string()));
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
        Check(raw.sqlite3_prepare_v3(db, sql, raw.SQLITE_PREPARE_PERSISTENT, out statement, out _), db);
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
