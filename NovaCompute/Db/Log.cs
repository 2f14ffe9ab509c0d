using Microsoft.Extensions.Logging;

namespace NovaCompute.Db;

/// <summary>Log events of the database layer (event ids 3000–3099).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "Database schema migrated to version {SchemaVersion} ({Description}) on {Database}")]
    public static partial void MigrationApplied(ILogger logger, int schemaVersion, string description, string database);
}
