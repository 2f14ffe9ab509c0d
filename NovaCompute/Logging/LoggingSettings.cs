namespace NovaCompute.Logging;

/// <summary>
/// The oslo.log options the daemon honours, as plain values (defaults are oslo.log 5.0.1's, with
/// nova's additions to <c>default_log_levels</c>). Built from configuration in one place
/// (<see cref="LoggingOptions"/>); tests build it directly.
/// </summary>
internal sealed record LoggingSettings
{
    public const string DefaultContextFormat =
        "%(asctime)s.%(msecs)03d %(process)d %(levelname)s %(name)s [%(global_request_id)s %(request_id)s %(user_identity)s] %(instance)s%(message)s";

    public const string DefaultDefaultFormat =
        "%(asctime)s.%(msecs)03d %(process)d %(levelname)s %(name)s [-] %(instance)s%(message)s";

    public const string DefaultDebugSuffix = "%(funcName)s %(pathname)s:%(lineno)d";

    public const string DefaultExceptionPrefix = "%(asctime)s.%(msecs)03d %(process)d ERROR %(name)s %(instance)s";

    public const string DefaultUserIdentityFormat = "%(user)s %(project)s %(domain)s %(system_scope)s %(user_domain)s %(project_domain)s";

    public const string DefaultDateFormat = "%Y-%m-%d %H:%M:%S";

    public const string DefaultInstanceFormat = "[instance: %(uuid)s] ";

    /// <summary>
    /// oslo.log's list, nova's two additions (<c>nova/config.py</c>), and the .NET libraries that
    /// stand where SQLAlchemy and friends stood: chatty at DEBUG, quiet unless something is wrong.
    /// </summary>
    public static readonly IReadOnlyList<string> DefaultLogLevels =
    [
        "amqp=WARN", "amqplib=WARN", "boto=WARN", "qpid=WARN", "sqlalchemy=WARN", "suds=INFO",
        "oslo.messaging=INFO", "oslo_messaging=INFO", "iso8601=WARN",
        "requests.packages.urllib3.connectionpool=WARN", "urllib3.connectionpool=WARN", "websocket=WARN",
        "requests.packages.urllib3.util.retry=WARN", "urllib3.util.retry=WARN", "keystonemiddleware=WARN",
        "routes.middleware=WARN", "stevedore=WARN", "taskflow=WARN", "keystoneauth=WARN", "oslo.cache=INFO",
        "oslo_policy=INFO", "dogpile.core.dogpile=INFO",
        "glanceclient=WARN", "oslo.privsep.daemon=INFO",
        "microsoft.aspnetcore=WARN", "npgsql=WARN", "polly=WARN",
    ];

    /// <summary><c>debug</c>: DEBUG instead of INFO on the root logger. Mutable (SIGHUP).</summary>
    public bool Debug { get; init; }

    /// <summary><c>log_file</c>: file to log to, relative to <see cref="LogDir"/> when that is set.</summary>
    public string? LogFile { get; init; }

    /// <summary><c>log_dir</c>: base directory for a relative <c>log_file</c>; alone it means <c>&lt;log_dir&gt;/nova-compute.log</c>.</summary>
    public string? LogDir { get; init; }

    /// <summary>
    /// <c>watch_log_file</c>. The file sink always notices a moved, removed or truncated file
    /// (WatchedFileHandler semantics), so this adds nothing; kept so a nova.conf that sets it reads the same.
    /// </summary>
    public bool WatchLogFile { get; init; }

    /// <summary><c>use_stderr</c>: log to stderr.</summary>
    public bool UseStderr { get; init; }

    /// <summary><c>use_journal</c>: log to journald through its native protocol.</summary>
    public bool UseJournal { get; init; }

    /// <summary><c>use_json</c>: oslo.log's JSONFormatter line format instead of the context format.</summary>
    public bool UseJson { get; init; }

    /// <summary><c>use_syslog</c>: not supported (journald is the syslog of a systemd host); reported at start.</summary>
    public bool UseSyslog { get; init; }

    /// <summary><c>syslog_log_facility</c> (<c>LOG_USER</c>, <c>LOG_LOCAL0</c>…), sent as journald's <c>SYSLOG_FACILITY</c>.</summary>
    public string SyslogLogFacility { get; init; } = "LOG_USER";

    public string LogDateFormat { get; init; } = DefaultDateFormat;

    public string LoggingContextFormatString { get; init; } = DefaultContextFormat;

    public string LoggingDefaultFormatString { get; init; } = DefaultDefaultFormat;

    /// <summary><c>logging_debug_format_suffix</c>; null or empty adds nothing to DEBUG lines.</summary>
    public string? LoggingDebugFormatSuffix { get; init; } = DefaultDebugSuffix;

    public string LoggingExceptionPrefix { get; init; } = DefaultExceptionPrefix;

    public string LoggingUserIdentityFormat { get; init; } = DefaultUserIdentityFormat;

    /// <summary><c>default_log_levels</c>: <c>logger=LEVEL</c> pairs applied by logger-name prefix.</summary>
    public IReadOnlyList<string> DefaultLogLevelPairs { get; init; } = DefaultLogLevels;

    public string InstanceFormat { get; init; } = DefaultInstanceFormat;

    public string InstanceUuidFormat { get; init; } = DefaultInstanceFormat;

    /// <summary><c>log_config_append</c>: a Python logging config file; not supported, reported at start.</summary>
    public string? LogConfigAppend { get; init; }

    /// <summary><c>log_rotation_type</c>: only <c>none</c> is supported (use logrotate); others are reported at start.</summary>
    public string LogRotationType { get; init; } = "none";

    /// <summary><c>rate_limit_interval</c> / <c>rate_limit_burst</c>: not supported; reported at start when set.</summary>
    public int RateLimitInterval { get; init; }

    public int RateLimitBurst { get; init; }

    /// <summary><c>publish_errors</c>: not supported; reported at start when set.</summary>
    public bool PublishErrors { get; init; }

    /// <summary>
    /// The log file path as oslo.log derives it (<c>_get_log_file_path</c>): <c>log_file</c> alone,
    /// joined onto <c>log_dir</c>, or <c>&lt;log_dir&gt;/&lt;program&gt;.log</c>; null when neither is set.
    /// </summary>
    public string? ResolveLogFilePath(string programName)
    {
        if (!string.IsNullOrEmpty(LogFile))
        {
            return string.IsNullOrEmpty(LogDir) ? LogFile : Path.Combine(LogDir, LogFile);
        }
        return string.IsNullOrEmpty(LogDir) ? null : Path.Combine(LogDir, programName + ".log");
    }
}
