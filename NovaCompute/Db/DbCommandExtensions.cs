using System.Data;
using System.Data.Common;
using System.Globalization;

namespace NovaCompute.Db;

/// <summary>
/// Commands built with the provider's own ADO.NET types: no Dapper, so nothing on the database path
/// needs Reflection.Emit, which Native AOT cannot run (issue 13).
/// </summary>
/// <remarks>
/// Dapper.AOT was the first choice, but its interceptors (1.1.0) skip every call that takes a
/// <c>CommandDefinition</c> without a diagnostic (DapperLib/DapperAOT#112), and
/// <c>CommandDefinition</c> is Dapper's only spelling that carries a <see cref="CancellationToken"/>,
/// which the shutdown path and the status API's probe timeout depend on. The rows were already read
/// by hand (<see cref="ServiceRecord.Read"/>, <see cref="ComputeNodeRecord.Read"/>), so what Dapper
/// did here was binding parameters; the <c>Bind</c> overloads bind them as it did: named without the
/// <c>@</c>, <see cref="DbType"/> from the declared CLR type (also for a null value), null as
/// <see cref="DBNull"/>.
/// </remarks>
internal static class DbCommandExtensions
{
    /// <summary>A text command on <paramref name="connection"/>, in <paramref name="transaction"/> when given.</summary>
    public static DbCommand Command(this DbConnection connection, string sql, DbTransaction? transaction = null)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    public static DbCommand Bind(this DbCommand command, string name, string? value) => Add(command, name, value, DbType.String);

    public static DbCommand Bind(this DbCommand command, string name, int? value) => Add(command, name, value, DbType.Int32);

    public static DbCommand Bind(this DbCommand command, string name, bool value) => Add(command, name, value, DbType.Boolean);

    public static DbCommand Bind(this DbCommand command, string name, double? value) => Add(command, name, value, DbType.Double);

    /// <summary>
    /// An array as one parameter (PostgreSQL <c>= ANY(@name)</c>), as Dapper passed arrays to Npgsql:
    /// no <see cref="DbType"/>, the provider maps <c>int[]</c> to <c>integer[]</c>.
    /// </summary>
    public static DbCommand Bind(this DbCommand command, string name, int[] values)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = values;
        command.Parameters.Add(parameter);
        return command;
    }

    /// <summary>
    /// The first column of the first row as <typeparamref name="T"/>; default for no row or NULL.
    /// Converted as Dapper's <c>ExecuteScalar&lt;T&gt;</c> did (SQLite answers <c>long</c> for an <c>int</c>).
    /// </summary>
    public static async Task<T?> ScalarAsync<T>(this DbCommand command, CancellationToken cancellationToken) where T : struct, IConvertible
    {
        var value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return value is null or DBNull ? null
            : value is T typed ? typed
            : (T)Convert.ChangeType(value, typeof(T), CultureInfo.InvariantCulture);
    }

    private static DbCommand Add(DbCommand command, string name, object? value, DbType type)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.DbType = type;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
        return command;
    }
}
