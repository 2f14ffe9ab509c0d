using System.Data.Common;

namespace NovaCompute.Db;

/// <summary>
/// Runs a statement that answers at most one row (<c>INSERT/UPDATE … RETURNING</c>, a lookup) and
/// reads it, running the statement to its end before returning.
/// </summary>
/// <remarks>
/// Running it to the end is what makes a write a write on SQLite. An autocommit statement commits
/// when its program halts, i.e. on the <c>sqlite3_step</c> that would answer SQLITE_DONE; with
/// RETURNING the rows are produced (and buffered) on the first step, before that commit. A reader
/// disposed after the first row halts the statement with <c>sqlite3_reset</c> instead, and
/// Microsoft.Data.Sqlite drops reset's return code: a commit that failed (SQLITE_FULL on a full
/// disk, SQLITE_IOERR) was rolled back while the caller held the RETURNING row as if it had been
/// stored (issue 14). Stepping to SQLITE_DONE makes the provider throw the commit's error. On
/// PostgreSQL the drain is cheap (the rest of the response is already on its way) and surfaces an
/// error sent after the rows the same way.
/// </remarks>
internal static class SingleRow
{
    /// <summary>The row read by <paramref name="read"/>, or default when the statement answered none.</summary>
    public static async Task<T?> QueryAsync<T>(DbCommand command, Func<DbDataReader, T> read, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var row = await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? read(reader) : default;
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            // A single-row statement has no further rows; stepping past the last one is the commit.
        }
        while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false))
        {
        }
        return row;
    }
}
