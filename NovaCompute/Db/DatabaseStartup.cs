using System.Data.Common;
using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace NovaCompute.Db;

/// <summary>oslo.db's start-up retry: <c>[database] max_retries</c> (-1 = forever) and <c>retry_interval</c>.</summary>
internal sealed record DatabaseStartupSettings(int MaxRetries = 10, int RetryIntervalSeconds = 10);

/// <summary>
/// Brings the schema up to date when the daemon starts, before anything reads or writes a record.
/// A database that cannot be reached yet (PostgreSQL still starting, a SQLite writer holding the
/// lock) is retried as oslo.db retries its first connection; anything else fails the start.
/// </summary>
internal sealed class DatabaseStartup(SchemaMigrator migrator, IDbConnectionFactory factory, DatabaseStartupSettings settings,
    TimeProvider time, ILogger<DatabaseStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await migrator.MigrateAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (DbException ex) when (DatabaseError.IsTransient(ex) && (settings.MaxRetries < 0 || attempt < settings.MaxRetries))
            {
                var remaining = settings.MaxRetries < 0 ? "unlimited" : (settings.MaxRetries - attempt).ToString(CultureInfo.InvariantCulture);
                ServiceGroup.Log.StartupRetry(logger, factory.Url.ToString(), ex.Message, settings.RetryIntervalSeconds, remaining);
                await Task.Delay(TimeSpan.FromSeconds(settings.RetryIntervalSeconds), time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
