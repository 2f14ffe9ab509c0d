using Serilog.Events;

namespace NovaCompute.Logging.Journald;

/// <summary>Severity and facility numbers as syslog and journald understand them (RFC 5424).</summary>
internal static class SyslogLevels
{
    /// <summary>
    /// journald <c>PRIORITY</c>: oslo.log's table (CRITICAL 2, ERROR 3, WARNING 4, INFO 6, DEBUG 7),
    /// with Serilog's Fatal as CRITICAL and Verbose (oslo's TRACE) as 7.
    /// </summary>
    public static int Priority(LogEventLevel level) => level switch
    {
        LogEventLevel.Fatal => 2,
        LogEventLevel.Error => 3,
        LogEventLevel.Warning => 4,
        LogEventLevel.Information => 6,
        _ => 7,
    };

    /// <summary>The level name as Python's logging spells it (<c>LOGGER_LEVEL</c>, <c>%(levelname)s</c>).</summary>
    public static string PythonLevelName(LogEventLevel level) => level switch
    {
        LogEventLevel.Fatal => "CRITICAL",
        LogEventLevel.Error => "ERROR",
        LogEventLevel.Warning => "WARNING",
        LogEventLevel.Information => "INFO",
        LogEventLevel.Debug => "DEBUG",
        _ => "TRACE",
    };

    /// <summary>Python's numeric level (<c>%(levelno)d</c>); oslo.log registers TRACE as 5.</summary>
    public static int PythonLevelNumber(LogEventLevel level) => level switch
    {
        LogEventLevel.Fatal => 50,
        LogEventLevel.Error => 40,
        LogEventLevel.Warning => 30,
        LogEventLevel.Information => 20,
        LogEventLevel.Debug => 10,
        _ => 5,
    };

    private static readonly Dictionary<string, int> Facilities = new(StringComparer.OrdinalIgnoreCase)
    {
        ["LOG_KERN"] = 0,
        ["LOG_USER"] = 1,
        ["LOG_MAIL"] = 2,
        ["LOG_DAEMON"] = 3,
        ["LOG_AUTH"] = 4,
        ["LOG_SYSLOG"] = 5,
        ["LOG_LPR"] = 6,
        ["LOG_NEWS"] = 7,
        ["LOG_UUCP"] = 8,
        ["LOG_CRON"] = 9,
        ["LOG_AUTHPRIV"] = 10,
        ["LOG_FTP"] = 11,
        ["LOG_LOCAL0"] = 16,
        ["LOG_LOCAL1"] = 17,
        ["LOG_LOCAL2"] = 18,
        ["LOG_LOCAL3"] = 19,
        ["LOG_LOCAL4"] = 20,
        ["LOG_LOCAL5"] = 21,
        ["LOG_LOCAL6"] = 22,
        ["LOG_LOCAL7"] = 23,
    };

    /// <summary>All facility names <see cref="TryParseFacility"/> accepts, for error messages.</summary>
    public static IEnumerable<string> FacilityNames => Facilities.Keys;

    /// <summary>
    /// <c>syslog_log_facility</c> as oslo.log reads it (<c>LOG_USER</c>, or <c>user</c>, any case)
    /// to the facility <em>number</em> journald's <c>SYSLOG_FACILITY</c> expects (1 for LOG_USER).
    /// oslo.log sends Python's shifted constant (8 for LOG_USER) instead, which journald
    /// misreads; we deliberately do not copy that.
    /// </summary>
    public static bool TryParseFacility(string? name, out int facility)
    {
        facility = 1;
        if (string.IsNullOrWhiteSpace(name))
        {
            return false;
        }
        var trimmed = name.Trim();
        var key = trimmed.StartsWith("LOG_", StringComparison.OrdinalIgnoreCase) ? trimmed : "LOG_" + trimmed;
        return Facilities.TryGetValue(key, out facility);
    }
}
