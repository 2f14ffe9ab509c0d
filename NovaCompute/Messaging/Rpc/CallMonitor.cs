using Microsoft.Extensions.Logging;

namespace NovaCompute.Messaging.Rpc;

/// <summary>
/// Server side of oslo's call monitoring: while a call that carried <c>_timeout</c> runs, a
/// heartbeat reply (<c>ending: false</c>, no result) goes to the caller every <c>int(_timeout)/2</c>
/// seconds so it knows the call is alive. Disposing stops it at once — whatever way the call ended
/// (oslo's watchdog keeps beating forever after a dispatch error).
/// </summary>
internal sealed class CallMonitor : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private CallMonitor(TimeSpan interval, Func<CancellationToken, ValueTask<bool>> sendHeartbeat, string method, TimeProvider time, ILogger logger)
    {
        _loop = RunAsync(interval, sendHeartbeat, method, time, logger, _stop.Token);
    }

    /// <summary>Starts beating for <paramref name="clientTimeout"/>, or returns null when there is nothing to do.</summary>
    public static CallMonitor? Start(double? clientTimeout, Func<CancellationToken, ValueTask<bool>> sendHeartbeat, string method, TimeProvider time, ILogger logger)
    {
        if (clientTimeout is not { } timeout)
        {
            return null;
        }
        var interval = Math.Truncate(timeout) / 2;
        if (interval < 1)
        {
            Log.InvalidClientTimeout(logger, timeout);
            return null;
        }
        return new CallMonitor(TimeSpan.FromSeconds(interval), sendHeartbeat, method, time, logger);
    }

    private static async Task RunAsync(TimeSpan interval, Func<CancellationToken, ValueTask<bool>> sendHeartbeat, string method,
        TimeProvider time, ILogger logger, CancellationToken stop)
    {
        await Task.Yield();
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                Log.SendingHeartbeat(logger, method, (int)interval.TotalSeconds);
                if (!await sendHeartbeat(stop).ConfigureAwait(false))
                {
                    Log.HeartbeatFailed(logger, "the caller's reply queue is gone");
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.HeartbeatFailed(logger, ex.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
