using NovaCompute.Config;

namespace NovaCompute.Logging;

/// <summary>
/// oslo.log's options (oslo_log/_options.py, oslo.log 5.0.1), with oslo's names, order, defaults
/// and help, so an existing nova.conf reads the same and the sample matches oslo's. Differences,
/// on purpose: <c>default_log_levels</c> defaults to nova's list plus the .NET libraries'
/// (<see cref="LoggingSettings.DefaultLogLevels"/>); the two rotation options carry no
/// <c>Choices</c> because oslo compares them case-insensitively and <see cref="StrOpt"/> cannot
/// yet. Options this daemon does not implement are still declared (a nova.conf may set them) and
/// reported at start when set (<see cref="LoggingSetup"/>).
/// </summary>
public static class LoggingOptions
{
    private const string Ns = "oslo.log";
    private const string IgnoredWithConfigAppend = "This option is ignored if log_config_append is set.";

    public static readonly BoolOpt Debug = new("debug", false)
    {
        Namespace = Ns,
        Mutable = true,
        Help = "If set to true, the logging level will be set to DEBUG instead of the default INFO level.",
    };

    public static readonly StrOpt LogConfigAppend = new("log_config_append", null)
    {
        Namespace = Ns,
        Mutable = true,
        DeprecatedNames = [new(ConfigGroups.Default, "log_config")],
        Help = "The name of a logging configuration file. This file is appended to any existing logging configuration "
            + "files. For details about logging configuration files, see the Python logging module documentation. "
            + "Note that when logging configuration files are used then all logging configuration is set in the "
            + "configuration file and other logging configuration options are ignored (for example, log-date-format).",
    };

    // "%%" and "%(default)s" are literal here: oslo's generator prints them as they are.
    public static readonly StrOpt LogDateFormat = new("log_date_format", LoggingSettings.DefaultDateFormat)
    {
        Namespace = Ns,
        Help = "Defines the format string for %%(asctime)s in log records. Default: %(default)s . " + IgnoredWithConfigAppend,
    };

    public static readonly StrOpt LogFile = new("log_file", null)
    {
        Namespace = Ns,
        DeprecatedNames = [new(ConfigGroups.Default, "logfile")],
        Help = "(Optional) Name of log file to send logging output to. If no default is set, logging will go to "
            + "stderr as defined by use_stderr. " + IgnoredWithConfigAppend,
    };

    public static readonly StrOpt LogDir = new("log_dir", null)
    {
        Namespace = Ns,
        DeprecatedNames = [new(ConfigGroups.Default, "logdir")],
        Help = "(Optional) The base directory used for relative log_file  paths. " + IgnoredWithConfigAppend,
    };

    public static readonly BoolOpt WatchLogFile = new("watch_log_file", false)
    {
        Namespace = Ns,
        Help = "Uses logging handler designed to watch file system. When log file is moved or removed this handler "
            + "will open a new log file with specified path instantaneously. It makes sense only if log_file option "
            + "is specified and Linux platform is used. " + IgnoredWithConfigAppend,
    };

    public static readonly BoolOpt UseSyslog = new("use_syslog", false)
    {
        Namespace = Ns,
        Help = "Use syslog for logging. Existing syslog format is DEPRECATED and will be changed later to honor "
            + "RFC5424. " + IgnoredWithConfigAppend,
    };

    public static readonly BoolOpt UseJournal = new("use_journal", false)
    {
        Namespace = Ns,
        Help = "Enable journald for logging. If running in a systemd environment you may wish to enable journal "
            + "support. Doing so will use the journal native protocol which includes structured metadata in addition "
            + "to log messages." + IgnoredWithConfigAppend,
    };

    public static readonly StrOpt SyslogLogFacility = new("syslog_log_facility", "LOG_USER")
    {
        Namespace = Ns,
        Help = "Syslog facility to receive log lines. " + IgnoredWithConfigAppend,
    };

    public static readonly BoolOpt UseJson = new("use_json", false)
    {
        Namespace = Ns,
        Help = "Use JSON formatting for logging. " + IgnoredWithConfigAppend,
    };

    public static readonly BoolOpt UseStderr = new("use_stderr", false)
    {
        Namespace = Ns,
        Help = "Log output to standard error. " + IgnoredWithConfigAppend,
    };

    public static readonly BoolOpt UseEventlog = new("use_eventlog", false)
    {
        Namespace = Ns,
        Help = "Log output to Windows Event Log.",
    };

    public static readonly IntOpt LogRotateInterval = new("log_rotate_interval", 1)
    {
        Namespace = Ns,
        Help = "The amount of time before the log files are rotated. This option is ignored unless "
            + "log_rotation_type is set to \"interval\".",
    };

    public static readonly StrOpt LogRotateIntervalType = new("log_rotate_interval_type", "days")
    {
        Namespace = Ns,
        Help = "Rotation interval type. The time of the last file change (or the time when the service was started) "
            + "is used when scheduling the next rotation.",
    };

    public static readonly IntOpt MaxLogfileCount = new("max_logfile_count", 30)
    {
        Namespace = Ns,
        Help = "Maximum number of rotated log files.",
    };

    public static readonly IntOpt MaxLogfileSizeMb = new("max_logfile_size_mb", 200)
    {
        Namespace = Ns,
        Help = "Log file maximum size in MB. This option is ignored if \"log_rotation_type\" is not set to \"size\".",
    };

    public static readonly StrOpt LogRotationType = new("log_rotation_type", "none")
    {
        Namespace = Ns,
        Help = "Log rotation type.",
    };

    public static readonly StrOpt LoggingContextFormatString = new("logging_context_format_string", LoggingSettings.DefaultContextFormat)
    {
        Namespace = Ns,
        Help = "Format string to use for log messages with context. Used by oslo_log.formatters.ContextFormatter",
    };

    public static readonly StrOpt LoggingDefaultFormatString = new("logging_default_format_string", LoggingSettings.DefaultDefaultFormat)
    {
        Namespace = Ns,
        Help = "Format string to use for log messages when context is undefined. Used by "
            + "oslo_log.formatters.ContextFormatter",
    };

    public static readonly StrOpt LoggingDebugFormatSuffix = new("logging_debug_format_suffix", LoggingSettings.DefaultDebugSuffix)
    {
        Namespace = Ns,
        Help = "Additional data to append to log message when logging level for the message is DEBUG. Used by "
            + "oslo_log.formatters.ContextFormatter",
    };

    public static readonly StrOpt LoggingExceptionPrefix = new("logging_exception_prefix", LoggingSettings.DefaultExceptionPrefix)
    {
        Namespace = Ns,
        Help = "Prefix each line of exception output with this format. Used by oslo_log.formatters.ContextFormatter",
    };

    public static readonly StrOpt LoggingUserIdentityFormat = new("logging_user_identity_format", LoggingSettings.DefaultUserIdentityFormat)
    {
        Namespace = Ns,
        Help = "Defines the format string for %(user_identity)s that is used in logging_context_format_string. "
            + "Used by oslo_log.formatters.ContextFormatter",
    };

    public static readonly ListOpt DefaultLogLevels = new("default_log_levels", LoggingSettings.DefaultLogLevels)
    {
        Namespace = Ns,
        Help = "List of package logging levels in logger=LEVEL pairs. " + IgnoredWithConfigAppend,
    };

    public static readonly BoolOpt PublishErrors = new("publish_errors", false)
    {
        Namespace = Ns,
        Help = "Enables or disables publication of error events.",
    };

    public static readonly StrOpt InstanceFormat = new("instance_format", LoggingSettings.DefaultInstanceFormat)
    {
        Namespace = Ns,
        Help = "The format for an instance that is passed with the log message.",
    };

    public static readonly StrOpt InstanceUuidFormat = new("instance_uuid_format", LoggingSettings.DefaultInstanceFormat)
    {
        Namespace = Ns,
        Help = "The format for an instance UUID that is passed with the log message.",
    };

    public static readonly IntOpt RateLimitInterval = new("rate_limit_interval", 0)
    {
        Namespace = Ns,
        Help = "Interval, number of seconds, of log rate limiting.",
    };

    public static readonly IntOpt RateLimitBurst = new("rate_limit_burst", 0)
    {
        Namespace = Ns,
        Help = "Maximum number of logged messages per rate_limit_interval.",
    };

    public static readonly StrOpt RateLimitExceptLevel = new("rate_limit_except_level", "CRITICAL")
    {
        Namespace = Ns,
        Help = "Log level name used by rate limiting: CRITICAL, ERROR, INFO, WARNING, DEBUG or empty string. Logs "
            + "with level greater or equal to rate_limit_except_level are not filtered. An empty string means that all "
            + "levels are filtered.",
    };

    public static readonly BoolOpt FatalDeprecations = new("fatal_deprecations", false)
    {
        Namespace = Ns,
        Help = "Enables or disables fatal status of deprecations.",
    };

    /// <summary>In oslo's order (<c>list_opts()</c>), which the sample follows.</summary>
    public static IReadOnlyList<Opt> All { get; } =
    [
        Debug, LogConfigAppend, LogDateFormat, LogFile, LogDir, WatchLogFile, UseSyslog, UseJournal, SyslogLogFacility,
        UseJson, UseStderr, UseEventlog, LogRotateInterval, LogRotateIntervalType, MaxLogfileCount, MaxLogfileSizeMb,
        LogRotationType, LoggingContextFormatString, LoggingDefaultFormatString, LoggingDebugFormatSuffix,
        LoggingExceptionPrefix, LoggingUserIdentityFormat, DefaultLogLevels, PublishErrors, InstanceFormat,
        InstanceUuidFormat, RateLimitInterval, RateLimitBurst, RateLimitExceptLevel, FatalDeprecations,
    ];

    /// <summary>The one place configuration becomes <see cref="LoggingSettings"/>.</summary>
    internal static LoggingSettings ToSettings(NovaConfig config) => new()
    {
        Debug = config.Get(Debug),
        LogFile = config.Get(LogFile),
        LogDir = config.Get(LogDir),
        WatchLogFile = config.Get(WatchLogFile),
        UseStderr = config.Get(UseStderr),
        UseJournal = config.Get(UseJournal),
        UseJson = config.Get(UseJson),
        UseSyslog = config.Get(UseSyslog),
        SyslogLogFacility = config.Get(SyslogLogFacility) ?? "LOG_USER",
        LogDateFormat = config.Get(LogDateFormat) ?? LoggingSettings.DefaultDateFormat,
        LoggingContextFormatString = config.Get(LoggingContextFormatString) ?? LoggingSettings.DefaultContextFormat,
        LoggingDefaultFormatString = config.Get(LoggingDefaultFormatString) ?? LoggingSettings.DefaultDefaultFormat,
        LoggingDebugFormatSuffix = config.Get(LoggingDebugFormatSuffix),
        LoggingExceptionPrefix = config.Get(LoggingExceptionPrefix) ?? "",
        LoggingUserIdentityFormat = config.Get(LoggingUserIdentityFormat) ?? "",
        DefaultLogLevelPairs = config.Get(DefaultLogLevels),
        InstanceFormat = config.Get(InstanceFormat) ?? "",
        InstanceUuidFormat = config.Get(InstanceUuidFormat) ?? "",
        LogConfigAppend = config.Get(LogConfigAppend),
        LogRotationType = config.Get(LogRotationType) ?? "none",
        RateLimitInterval = config.Get(RateLimitInterval),
        RateLimitBurst = config.Get(RateLimitBurst),
        PublishErrors = config.Get(PublishErrors),
    };
}
