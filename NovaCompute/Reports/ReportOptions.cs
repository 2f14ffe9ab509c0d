using NovaCompute.Config;

namespace NovaCompute.Reports;

/// <summary>oslo.reports' options (oslo_reports/opts.py), group <c>[oslo_reports]</c>, as nova registers them.</summary>
public static class ReportOptions
{
    public const string Group = "oslo_reports";

    public static readonly StrOpt LogDir = new("log_dir", null)
    {
        Group = Group,
        Namespace = "oslo.reports",
        Help = "Path to a log directory where to create a file",
    };

    public static readonly StrOpt FileEventHandler = new("file_event_handler", null)
    {
        Group = Group,
        Namespace = "oslo.reports",
        Help = "The path to a file to watch for changes to trigger the reports, instead of signals. Setting this option disables the signal trigger for the reports. If application is running as a WSGI application it is recommended to use this instead of signals.",
    };

    public static readonly IntOpt FileEventHandlerInterval = new("file_event_handler_interval", 1)
    {
        Group = Group,
        Namespace = "oslo.reports",
        Help = "How many seconds to wait between polls when file_event_handler is set",
    };

    public static IReadOnlyList<Opt> All { get; } = [LogDir, FileEventHandler, FileEventHandlerInterval];
}
