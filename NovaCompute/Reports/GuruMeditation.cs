using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using NovaCompute.Api;
using NovaCompute.Config;
using NovaCompute.Messaging;
using NovaCompute.Messaging.Rpc;
using NovaCompute.Periodic;
using NovaCompute.ServiceGroup;

namespace NovaCompute.Reports;

/// <summary>
/// nova's <c>gmr.TextGuruMeditation.setup_autorun(version, conf=CONF)</c>: on SIGUSR2 (or a touch of
/// <c>[oslo_reports] file_event_handler</c>) the report goes to stderr, or with
/// <c>[oslo_reports] log_dir</c> to <c>&lt;binary&gt;_gurumeditation_&lt;%Y%m%d%H%M%S&gt;</c> there
/// (oslo_reports/guru_meditation_report.py <c>handle_signal</c>). It runs on the thread pool, one
/// at a time, so the signal thread, the heartbeat and the RPC workers never wait for it.
/// </summary>
internal sealed partial class GuruMeditation(
    ServiceIdentity identity,
    IConfigMonitor config,
    TimeProvider time,
    ILogger<GuruMeditation> logger,
    IServiceGroupSettingsSource? serviceGroup = null,
    IHeartbeatHealth? heartbeat = null,
    IBrokerConnectionStatus? broker = null,
    IPeriodicTaskStatus? periodic = null,
    RpcServer? rpcServer = null,
    ApiPipeline? api = null)
{
    /// <summary>oslo's <c>GuruMeditation.timestamp_fmt</c> (<c>%Y%m%d%H%M%S</c>, UTC).</summary>
    private const string TimestampFormat = "yyyyMMddHHmmss";

    private const string Vendor = "OpenStack Foundation";
    private const string Product = "OpenStack Nova";

    /// <summary>
    /// Why the other threads show no stack: .NET can walk only the calling thread's stack from
    /// inside the process. What can, from outside, depends on the build: dotnet-stack needs the
    /// runtime's diagnostics (JIT builds); a Native AOT executable is a native process to gdb.
    /// </summary>
    internal static readonly string NoStackReason = RuntimeFeature.IsDynamicCodeSupported
        ? "No Traceback! (the .NET runtime cannot capture another thread's stack from inside the process; `dotnet-stack report -p <pid>` prints every managed stack)"
        : "No Traceback! (the .NET runtime cannot capture another thread's stack from inside the process; `gdb -p <pid> -batch -ex 'thread apply all bt'` prints every thread's stack, named with the build's nova-compute.dbg)";

    private readonly SemaphoreSlim _oneAtATime = new(1, 1);

    /// <summary>Where reports go; stderr unless a test replaces it.</summary>
    internal TextWriter StandardError { get; set; } = Console.Error;

    /// <summary>Writes one report where oslo would; failures are printed as oslo prints them and logged, never thrown.</summary>
    public async Task WriteAsync(CancellationToken cancellationToken)
    {
        await _oneAtATime.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            string text;
            try
            {
                text = Collect().Render();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                await StandardError.WriteLineAsync(ex.ToString()).ConfigureAwait(false);
                await StandardError.WriteLineAsync("Unable to run Guru Meditation Report!").ConfigureAwait(false);
                Log.ReportFailed(logger, ex);
                return;
            }
            var logDir = config.Current.Get(ReportOptions.LogDir);
            if (string.IsNullOrEmpty(logDir))
            {
                // oslo: print(res, file=sys.stderr), one write so log lines cannot cut into it.
                await StandardError.WriteAsync(text + "\n").ConfigureAwait(false);
                await StandardError.FlushAsync(cancellationToken).ConfigureAwait(false);
                Log.ReportWritten(logger, "stderr");
                return;
            }
            var path = Path.Combine(logDir, identity.Binary + "_gurumeditation_"
                + time.GetUtcNow().UtcDateTime.ToString(TimestampFormat, CultureInfo.InvariantCulture));
            try
            {
                await File.WriteAllTextAsync(path, text, cancellationToken).ConfigureAwait(false);
                Log.ReportWritten(logger, path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                await StandardError.WriteLineAsync($"Unable to dump Guru Meditation Report to file {path}").ConfigureAwait(false);
                Log.DumpFailed(logger, path, ex.Message);
            }
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    /// <summary>Everything the report shows, read now.</summary>
    internal GuruMeditationReport Collect()
    {
        var current = config.Current;
        var now = time.GetUtcNow();
        return new GuruMeditationReport
        {
            Vendor = Vendor,
            Product = Product,
            Version = ServiceIdentity.Version,
            Threads = Threads(),
            Process = ThisProcess(),
            Configuration = Configuration(current),
            Sections = DaemonSections(now),
        };
    }

    /// <summary>
    /// oslo's ConfigModel: every option by group (<c>default</c> for DEFAULT), secrets as <c>***</c>
    /// whatever their value, plus oslo.config's own <c>config-dir</c>, <c>config-file</c> and <c>config_source</c>.
    /// </summary>
    internal static IReadOnlyDictionary<string, IReadOnlyDictionary<string, object?>> Configuration(NovaConfig config)
    {
        var groups = new Dictionary<string, IReadOnlyDictionary<string, object?>>(StringComparer.Ordinal);
        foreach (var group in config.All.GroupBy(v => v.Opt.Group))
        {
            var options = group.ToDictionary(v => v.Opt.Name, v => v.Opt.Secret ? "***" : v.Value, StringComparer.Ordinal);
            if (group.Key == ConfigGroups.Default)
            {
                var files = config.Arguments.Sources.Where(s => s.Kind == ConfigSourceKind.File).Select(s => s.Path).ToList();
                options["config-file"] = files.Count > 0 ? files : config.Files.ToList();
                options["config-dir"] = config.Arguments.Sources.Where(s => s.Kind == ConfigSourceKind.Directory).Select(s => s.Path).ToList();
                // oslo.config registers it in every program; this daemon reads no remote config sources.
                options["config_source"] = new List<string>();
            }
            groups[group.Key == ConfigGroups.Default ? "default" : group.Key] = options;
        }
        return groups;
    }

    private List<ReportSection> DaemonSections(DateTimeOffset now)
    {
        var sections = new List<ReportSection>
        {
            new("Requests In Flight", new Dictionary<string, object?>
            {
                ["rpc_calls"] = rpcServer is null ? "not running" : rpcServer.InFlight,
                ["api_requests"] = api is null ? "not serving" : api.InFlight,
            }),
        };
        if (periodic is not null)
        {
            sections.Add(new ReportSection("Periodic Tasks", periodic.Snapshot().ToDictionary(t => t.Name, t => (object?)new Dictionary<string, object?>
            {
                ["spacing"] = t.Spacing,
                ["enabled"] = t.Enabled,
                ["running"] = t.Running,
                ["runs"] = t.Runs,
                ["failures"] = t.Failures,
                ["last_start"] = Timestamp(t.LastStart),
                ["last_duration_seconds"] = t.LastDuration is { } d ? Math.Round(d.TotalSeconds, 6) : null,
                ["last_outcome"] = t.LastOutcome,
            }, StringComparer.Ordinal)));
        }
        if (heartbeat is not null)
        {
            var settings = serviceGroup?.Current;
            sections.Add(new ReportSection("Heartbeat", new Dictionary<string, object?>
            {
                ["enabled"] = settings?.HeartbeatsEnabled,
                ["report_interval"] = settings?.ReportIntervalSeconds,
                ["service_down_time"] = settings?.ServiceDownTime,
                ["last_success"] = Timestamp(heartbeat.LastSuccess),
                ["seconds_since_last_success"] = heartbeat.LastSuccess is { } last ? Math.Round((now - last).TotalSeconds, 3) : null,
                ["consecutive_failures"] = heartbeat.ConsecutiveFailures,
                ["overdue"] = heartbeat.IsOverdue,
            }));
        }
        if (broker is not null)
        {
            sections.Add(new ReportSection("Message Broker", new Dictionary<string, object?>
            {
                ["connected"] = broker.IsConnected,
                ["detail"] = broker.Detail,
                ["since"] = Timestamp(broker.Since),
            }));
        }
        return sections;
    }

    /// <summary>
    /// Every thread of the process from <c>/proc/self/task</c> (id, name, state). Only the calling
    /// thread's managed stack can be walked in-process; the others say so instead of inventing one.
    /// </summary>
    internal static List<ReportThread> Threads()
    {
        var self = gettid();
        var threads = new List<ReportThread>();
        string[] tasks;
        try
        {
            tasks = Directory.GetDirectories("/proc/self/task");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [new ReportThread(self.ToString(CultureInfo.InvariantCulture), CurrentStack())];
        }
        foreach (var task in tasks)
        {
            if (!int.TryParse(Path.GetFileName(task), NumberStyles.None, CultureInfo.InvariantCulture, out var tid))
            {
                continue;
            }
            var name = ReadOrNull(Path.Combine(task, "comm"))?.TrimEnd('\n') ?? "?";
            var state = StateName(StatField(ReadOrNull(Path.Combine(task, "stat")), 0));
            var id = string.Create(CultureInfo.InvariantCulture, $"{tid} ({name}, {state})");
            threads.Add(tid == self ? new ReportThread(id, CurrentStack()) : new ReportThread(id, null, NoStackReason));
        }
        return threads;
    }

    /// <summary>This thread's managed stack, outermost frame first as Python's <c>extract_stack</c>.</summary>
    private static List<ReportFrame> CurrentStack() =>
        new StackTrace(fNeedFileInfo: true).GetFrames().Reverse().Select(frame =>
        {
            // DiagnosticMethodInfo: the names a Native AOT build keeps for stack traces. Such a build
            // has no file names or line numbers (no portable PDB), so frames name the assembly instead.
            var method = DiagnosticMethodInfo.Create(frame);
            var assembly = method?.DeclaringAssemblyName is { } display ? new AssemblyName(display).Name : null;
            return new ReportFrame(
                frame.GetFileName() ?? assembly ?? "<unknown>",
                frame.GetFileLineNumber(),
                method is null ? "<unknown>" : $"{method.DeclaringTypeName}.{method.Name}");
        }).ToList();

    private static ReportProcess ThisProcess()
    {
        var stat = ReadOrNull("/proc/self/stat");
        var parent = int.TryParse(StatField(stat, 1), NumberStyles.None, CultureInfo.InvariantCulture, out var ppid) ? ppid : 0;
        return new ReportProcess(Environment.ProcessId, parent, Environment.UserName, (int)getuid(), StateName(StatField(stat, 0)));
    }

    /// <summary>A field of <c>/proc/…/stat</c> after the <c>(comm)</c>: 0 is the state, 1 the parent pid.</summary>
    private static string? StatField(string? stat, int index)
    {
        if (stat is null)
        {
            return null;
        }
        var fields = stat[(stat.LastIndexOf(')') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return index < fields.Length ? fields[index] : null;
    }

    /// <summary>psutil's status names for the kernel's state letters.</summary>
    private static string StateName(string? letter) => letter switch
    {
        "R" => "running",
        "S" => "sleeping",
        "D" => "disk-sleep",
        "T" => "stopped",
        "t" => "tracing-stop",
        "Z" => "zombie",
        "X" => "dead",
        "I" => "idle",
        "P" => "parked",
        null => "unknown",
        _ => letter,
    };

    private static string? ReadOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string? Timestamp(DateTimeOffset? value) =>
        value?.UtcDateTime.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'ffffff'Z'", CultureInfo.InvariantCulture);

    [LibraryImport("libc")]
    private static partial int gettid();

    [LibraryImport("libc")]
    private static partial uint getuid();

    private static partial class Log
    {
        [LoggerMessage(EventId = 1901, Level = LogLevel.Information, Message = "Guru Meditation Report written to {Destination}")]
        public static partial void ReportWritten(ILogger logger, string destination);

        [LoggerMessage(EventId = 1902, Level = LogLevel.Error, Message = "Unable to run Guru Meditation Report!")]
        public static partial void ReportFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 1903, Level = LogLevel.Error, Message = "Unable to dump Guru Meditation Report to file {Path}: {Reason}")]
        public static partial void DumpFailed(ILogger logger, string path, string reason);
    }
}
