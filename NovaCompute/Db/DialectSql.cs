namespace NovaCompute.Db;

/// <summary>
/// One statement for both databases, written once. Where the two dialects differ only in how they
/// spell "the database's current UTC time", the statement carries the <see cref="Now"/> token and
/// each dialect's text is made from it once, at type initialisation.
/// </summary>
internal sealed class DialectSql
{
    /// <summary>Stands for the database's clock in a statement template.</summary>
    public const string Now = "{now}";

    private DialectSql(string template)
    {
        if (!template.Contains(Now, StringComparison.Ordinal))
        {
            throw new ArgumentException($"the statement has no {Now} token: {template}", nameof(template));
        }
        Sqlite = template.Replace(Now, Schema.SqliteNow, StringComparison.Ordinal);
        PostgreSql = template.Replace(Now, Schema.PostgreSqlNow, StringComparison.Ordinal);
    }

    public string Sqlite { get; }

    public string PostgreSql { get; }

    /// <summary>A statement whose only dialect difference is the clock, spelled <see cref="Now"/>.</summary>
    public static DialectSql WithNow(string template) => new(template);

    public string For(DatabaseDialect dialect) => dialect == DatabaseDialect.Sqlite ? Sqlite : PostgreSql;
}
