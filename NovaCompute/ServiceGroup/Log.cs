using Microsoft.Extensions.Logging;

namespace NovaCompute.ServiceGroup;

/// <summary>Log events of the service group (event ids 3100–3199). Texts are nova's where nova has one.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3100, Level = LogLevel.Warning,
        Message = "Report interval must be less than service down time. Current config: <service_down_time: {ServiceDownTime}, report_interval: {ReportInterval}>. Setting service_down_time to: {NewServiceDownTime}")]
    public static partial void ServiceDownTimeCorrected(ILogger logger, int serviceDownTime, int reportInterval, int newServiceDownTime);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning,
        Message = "report_interval is 0: this service will NOT report its state. Every other service will see it as down {ServiceDownTime} seconds after its record was created or last updated, even while it runs. Set report_interval to a positive number of seconds (default 10).")]
    public static partial void HeartbeatsDisabled(ILogger logger, int serviceDownTime);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Information, Message = "Updating service version for {Binary} on {Host} from {OldVersion} to {NewVersion}")]
    public static partial void UpdatingVersion(ILogger logger, string binary, string host, int oldVersion, int newVersion);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Information, Message = "Created the services record for {Binary} on host {Host} (id {ServiceId}, uuid {ServiceUuid})")]
    public static partial void Created(ILogger logger, string binary, string host, int serviceId, string? serviceUuid);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Debug, Message = "A sibling process created the services record for {Binary} on host {Host} first; using it")]
    public static partial void LostCreateRace(ILogger logger, string binary, string host);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Warning, Message = "{Message}")]
    public static partial void TooOldComputeIgnored(ILogger logger, string message);

    // nova/servicegroup/drivers/db.py logs "Lost connection to nova-conductor for reporting service
    // status." with a traceback; here one line that names the cause, the stack at DEBUG (issue 14).
    [LoggerMessage(EventId = 3110, Level = LogLevel.Warning, Message = "Lost connection to {Store} for reporting service status: {Error}")]
    public static partial void LostConnection(ILogger logger, string store, string error);

    [LoggerMessage(EventId = 3117, Level = LogLevel.Debug, Message = "The failed heartbeat's error in full")]
    public static partial void HeartbeatFailureDetail(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3111, Level = LogLevel.Information, Message = "Recovered from being unable to report status.")]
    public static partial void Recovered(ILogger logger);

    [LoggerMessage(EventId = 3112, Level = LogLevel.Warning,
        Message = "The services table record for the {Binary} service on host {Host} is gone. Recreating it, as this service is still running; stop the service if it should be deleted.")]
    public static partial void RecordGone(ILogger logger, string binary, string host);

    [LoggerMessage(EventId = 3113, Level = LogLevel.Error, Message = "Unexpected error while reporting service status")]
    public static partial void UnexpectedError(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3114, Level = LogLevel.Debug, Message = "DB_Driver: join new ServiceGroup member {Host} to the {Topic} group, service = {Binary}")]
    public static partial void Join(ILogger logger, string host, string topic, string binary);

    [LoggerMessage(EventId = 3115, Level = LogLevel.Debug, Message = "Heartbeat interval changed to {ReportInterval} seconds; the next beat follows it")]
    public static partial void IntervalChanged(ILogger logger, int reportInterval);

    [LoggerMessage(EventId = 3116, Level = LogLevel.Warning, Message = "Could not reach the database at {Database} ({Error}); retrying in {RetryInterval} seconds ({Remaining} attempts left)")]
    public static partial void StartupRetry(ILogger logger, string database, string error, int retryInterval, string remaining);
}
