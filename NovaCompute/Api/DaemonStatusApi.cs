using System.Globalization;
using System.Text.Json.Nodes;
using NovaCompute.Db;
using NovaCompute.Messaging;
using NovaCompute.Periodic;
using NovaCompute.ServiceGroup;
using NovaCompute.Systemd;

namespace NovaCompute.Api;

/// <summary>
/// <c>GET /healthcheck</c> (oslo.middleware's healthcheck path: 200 <c>OK</c>, or 503 with the reason)
/// and <c>GET /status</c>, this daemon's own document of what it is doing: the status line systemd
/// shows, the heartbeat, the broker connection and the periodic tasks. Neither needs a token: they
/// say nothing the service list does not, apart from timings.
/// </summary>
internal sealed class DaemonStatusApi(
    ServiceIdentity identity,
    IServiceGroupSettingsSource settings,
    TimeProvider time,
    IDbConnectionFactory? database = null,
    Conductor.ConductorApi? conductor = null,
    IHeartbeatHealth? heartbeat = null,
    IServiceStatus? status = null,
    IBrokerConnectionStatus? broker = null,
    IPeriodicTaskStatus? periodic = null)
{
    /// <summary>A health probe must answer quickly even when the database hangs.</summary>
    internal static readonly TimeSpan DatabaseProbeTimeout = TimeSpan.FromSeconds(5);

    private readonly DateTimeOffset _started = time.GetUtcNow();

    /// <summary>Null when the database (in conductor mode: nova-conductor) answers, otherwise why not (password masked).</summary>
    public async Task<string?> DatabaseProblemAsync(CancellationToken cancellationToken)
    {
        if (database is null)
        {
            return conductor is null ? null : await ConductorProblemAsync(conductor, cancellationToken).ConfigureAwait(false);
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(DatabaseProbeTimeout);
        try
        {
            await using var connection = await database.OpenAsync(timeout.Token).ConfigureAwait(false);
            await using var command = connection.Command("SELECT 1");
            await command.ExecuteScalarAsync(timeout.Token).ConfigureAwait(false);
            return null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"database {database.Url} did not answer within {DatabaseProbeTimeout.TotalSeconds:0} s";
        }
        // InvalidOperationException too: a provider refusing a connection it considers unusable
        // (Npgsql's broken-connection state, a disposed data source) still means "no answer".
        catch (Exception ex) when (DatabaseError.IsUnavailable(ex, cancellationToken) || ex is InvalidOperationException)
        {
            return $"database unavailable: {DatabaseError.Describe(ex, database.Url)}";
        }
    }

    /// <summary>
    /// Null when healthy, otherwise why not: the database does not answer, or it answers reads but
    /// the last heartbeat could not be written (a full disk takes writes, not reads).
    /// </summary>
    public async Task<string?> HealthProblemAsync(CancellationToken cancellationToken)
    {
        var databaseProblem = await DatabaseProblemAsync(cancellationToken).ConfigureAwait(false);
        var heartbeatProblem = heartbeat is { ConsecutiveFailures: > 0 and var failures }
            ? $"heartbeat failing ({failures} in a row): {heartbeat.LastFailure}"
            : null;
        return databaseProblem is null ? heartbeatProblem
            : heartbeatProblem is null ? databaseProblem
            : $"{databaseProblem}; {heartbeatProblem}";
    }

    private static async Task<string?> ConductorProblemAsync(Conductor.ConductorApi conductor, CancellationToken cancellationToken)
    {
        try
        {
            await conductor.PingAsync(DatabaseProbeTimeout, cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (Exception ex) when (ex is TimeoutException or Messaging.Rpc.MessageUndeliverableException or Messaging.Rpc.RemoteException or IOException)
        {
            return $"nova-conductor did not answer a ping: {ex.Message}";
        }
    }

    public async Task<JsonObject> StatusAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var databaseProblem = await DatabaseProblemAsync(cancellationToken).ConfigureAwait(false);
        var current = settings.Current;
        return new JsonObject
        {
            ["service"] = new JsonObject
            {
                ["host"] = identity.Host,
                ["binary"] = identity.Binary,
                ["topic"] = identity.Topic,
                ["version"] = ServiceIdentity.Version,
                ["status"] = status?.Current,
                ["uptime_seconds"] = Math.Round((now - _started).TotalSeconds, 3),
            },
            ["database"] = new JsonObject
            {
                ["url"] = database?.Url.ToString(),
                ["mode"] = database is null ? "conductor" : "direct",
                ["ok"] = databaseProblem is null,
                ["problem"] = databaseProblem,
            },
            ["heartbeat"] = heartbeat is null ? null : new JsonObject
            {
                ["enabled"] = current.HeartbeatsEnabled,
                ["report_interval"] = current.ReportIntervalSeconds,
                ["service_down_time"] = current.ServiceDownTime,
                ["last_success"] = Timestamp(heartbeat.LastSuccess),
                ["seconds_since_last_success"] = heartbeat.LastSuccess is { } last ? Math.Round((now - last).TotalSeconds, 3) : null,
                ["consecutive_failures"] = heartbeat.ConsecutiveFailures,
                ["last_failure"] = heartbeat.LastFailure,
                ["overdue"] = heartbeat.IsOverdue,
            },
            ["broker"] = broker is null ? null : new JsonObject
            {
                ["connected"] = broker.IsConnected,
                ["detail"] = broker.Detail,
                ["since"] = Timestamp(broker.Since),
            },
            ["periodic_tasks"] = periodic is null ? null : new JsonArray(periodic.Snapshot().Select(t => (JsonNode)new JsonObject
            {
                ["name"] = t.Name,
                ["spacing"] = t.Spacing,
                ["enabled"] = t.Enabled,
                ["running"] = t.Running,
                ["runs"] = t.Runs,
                ["failures"] = t.Failures,
                ["last_start"] = Timestamp(t.LastStart),
                ["last_duration_seconds"] = t.LastDuration is { } d ? Math.Round(d.TotalSeconds, 6) : null,
                ["last_outcome"] = t.LastOutcome,
            }).ToArray()),
        };
    }

    private static string? Timestamp(DateTimeOffset? value) =>
        value?.UtcDateTime.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'ffffff'Z'", CultureInfo.InvariantCulture);
}
