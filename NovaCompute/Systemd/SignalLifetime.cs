using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace NovaCompute.Systemd;

/// <summary>What the signal lifetime needs from the daemon: how long a graceful stop may take, and what SIGHUP does.</summary>
public sealed class SignalLifetimeOptions
{
    /// <summary>After a stop request, exit non-zero if the host has not stopped by then; null waits forever.</summary>
    public TimeSpan? GracefulShutdownTimeout { get; set; }

    /// <summary>Runs on SIGHUP, one at a time (a SIGHUP during a reload queues one more).</summary>
    public Func<CancellationToken, Task>? OnReload { get; set; }

    /// <summary>
    /// Runs on SIGUSR2 (nova's Guru Meditation Report), off the signal thread, one at a time; null
    /// ignores the signal (oslo leaves SIGUSR2 alone when a file triggers reports, and the default
    /// action would kill the daemon).
    /// </summary>
    public Func<CancellationToken, Task>? OnReport { get; set; }
}

/// <summary>
/// The host lifetime of a daemon: SIGTERM and SIGINT stop gracefully (nova's SIGINT exits at once
/// without cleanup), a second one exits at once, SIGHUP reloads instead of terminating, and a stop
/// that outlasts <c>graceful_shutdown_timeout</c> is cut off with a log line and status 1 (oslo
/// dies silently by SIGALRM there), and SIGUSR2 writes a report instead of terminating. Replaces ConsoleLifetime, whose start-up banner is console noise.
/// </summary>
public sealed partial class SignalLifetime(
    IHostApplicationLifetime applicationLifetime,
    SignalLifetimeOptions options,
    ILogger<SignalLifetime> logger) : IHostLifetime, IDisposable
{
    private readonly List<PosixSignalRegistration> _registrations = [];
    private readonly SemaphoreSlim _reloadGate = new(1, 1);
    private int _stopSignals;
    private int _pendingReloads;
    private int _reportRunning;
    private Timer? _hardStop;

    /// <summary>Exit status to use when the process is cut off; tests replace it to observe the decision.</summary>
    internal Action<int> Exit { get; set; } = Environment.Exit;

    public Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnStopSignal));
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, OnStopSignal));
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGQUIT, OnStopSignal));
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnHangup));
        // PosixSignal has no SIGUSR2; raw signal numbers are accepted on Unix.
        _registrations.Add(PosixSignalRegistration.Create(SIGUSR2, OnUser2));
        applicationLifetime.ApplicationStopping.Register(ArmHardStop);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void OnStopSignal(PosixSignalContext context)
    {
        // Handled here: the runtime's default would terminate the process without a graceful stop.
        context.Cancel = true;
        var name = SignalName(context.Signal);
        if (Interlocked.Increment(ref _stopSignals) > 1)
        {
            Log.SecondStopSignal(logger, name);
            Exit(ExitCodes.Failure);
            return;
        }
        Log.StopSignal(logger, name);
        applicationLifetime.StopApplication();
    }

    private void OnHangup(PosixSignalContext context)
    {
        context.Cancel = true;
        Log.Hangup(logger);
        if (options.OnReload is null || applicationLifetime.ApplicationStopping.IsCancellationRequested)
        {
            return;
        }
        // Signal handlers must return quickly; the reload runs on the pool, one at a time.
        if (Interlocked.Increment(ref _pendingReloads) == 1)
        {
            _ = Task.Run(RunReloadsAsync);
        }
    }

    private void OnUser2(PosixSignalContext context)
    {
        context.Cancel = true;
        if (options.OnReport is null)
        {
            Log.User2Ignored(logger);
            return;
        }
        // A report already being written covers this signal too; the next one after it starts another.
        if (Interlocked.Exchange(ref _reportRunning, 1) == 1)
        {
            return;
        }
        _ = Task.Run(async () =>
        {
            try
            {
                await options.OnReport(applicationLifetime.ApplicationStopping);
            }
            catch (OperationCanceledException) when (applicationLifetime.ApplicationStopping.IsCancellationRequested)
            {
            }
            catch (Exception ex)
            {
                Log.ReportFailed(logger, ex);
            }
            finally
            {
                Volatile.Write(ref _reportRunning, 0);
            }
        });
    }

    private async Task RunReloadsAsync()
    {
        await _reloadGate.WaitAsync();
        try
        {
            do
            {
                try
                {
                    await options.OnReload!(applicationLifetime.ApplicationStopping);
                }
                catch (OperationCanceledException) when (applicationLifetime.ApplicationStopping.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex)
                {
                    Log.ReloadFailed(logger, ex);
                }
            }
            while (Interlocked.Decrement(ref _pendingReloads) > 0);
        }
        finally
        {
            _reloadGate.Release();
        }
    }

    private void ArmHardStop()
    {
        if (options.GracefulShutdownTimeout is not { } timeout)
        {
            return;
        }
        _hardStop = new Timer(_ =>
        {
            Log.GracefulTimeoutExceeded(logger, (int)timeout.TotalSeconds);
            Exit(ExitCodes.Failure);
        }, null, timeout, Timeout.InfiniteTimeSpan);
    }

    /// <summary>SIGUSR2 on Linux (signal(7)).</summary>
    private const PosixSignal SIGUSR2 = (PosixSignal)12;

    private static string SignalName(PosixSignal signal) => signal switch
    {
        PosixSignal.SIGTERM => "SIGTERM",
        PosixSignal.SIGINT => "SIGINT",
        PosixSignal.SIGQUIT => "SIGQUIT",
        PosixSignal.SIGHUP => "SIGHUP",
        SIGUSR2 => "SIGUSR2",
        _ => signal.ToString(),
    };

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }
        _registrations.Clear();
        _hardStop?.Dispose();
        _reloadGate.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "Caught {Signal}, stopping gracefully")]
        public static partial void StopSignal(ILogger logger, string signal);

        [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "Caught {Signal} again during the graceful stop, exiting immediately")]
        public static partial void SecondStopSignal(ILogger logger, string signal);

        [LoggerMessage(EventId = 1203, Level = LogLevel.Information, Message = "Caught SIGHUP, handling")]
        public static partial void Hangup(ILogger logger);

        [LoggerMessage(EventId = 1204, Level = LogLevel.Error, Message = "Reload on SIGHUP failed; the service keeps running")]
        public static partial void ReloadFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 1205, Level = LogLevel.Critical, Message = "Graceful shutdown timeout exceeded ({TimeoutSeconds} s), instantaneous exiting")]
        public static partial void GracefulTimeoutExceeded(ILogger logger, int timeoutSeconds);

        [LoggerMessage(EventId = 1206, Level = LogLevel.Information, Message = "Caught SIGUSR2, ignored: [oslo_reports] file_event_handler triggers the Guru Meditation Report")]
        public static partial void User2Ignored(ILogger logger);

        [LoggerMessage(EventId = 1207, Level = LogLevel.Error, Message = "Guru Meditation Report on SIGUSR2 failed; the service keeps running")]
        public static partial void ReportFailed(ILogger logger, Exception exception);
    }
}
