using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace NovaCompute.Reports;

/// <summary>
/// oslo's <c>_setup_file_watcher</c>: with <c>[oslo_reports] file_event_handler</c> set, a report is
/// written whenever the file's modification time passes the last one seen, polled every
/// <c>file_event_handler_interval</c> seconds (and SIGUSR2 no longer triggers one). Unlike oslo,
/// whose watcher thread dies on the first unreadable poll, a missing file is logged once and the
/// watch goes on.
/// </summary>
internal sealed partial class GuruMeditationFileWatcher(
    string path,
    TimeSpan interval,
    GuruMeditation report,
    TimeProvider time,
    ILogger<GuruMeditationFileWatcher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var seen = time.GetUtcNow().UtcDateTime;
        var unreadable = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                if (!unreadable)
                {
                    Log.CannotRead(logger, path);
                }
                unreadable = true;
                continue;
            }
            unreadable = false;
            var modified = info.LastWriteTimeUtc;
            if (modified > seen)
            {
                seen = modified;
                await report.WriteAsync(stoppingToken).ConfigureAwait(false);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1904, Level = LogLevel.Error, Message = "Guru Meditation Report cannot read '{Path}' file")]
        public static partial void CannotRead(ILogger logger, string path);
    }
}
