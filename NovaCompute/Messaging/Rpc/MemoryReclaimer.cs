using System.Runtime;
using Microsoft.Extensions.Logging;

namespace NovaCompute.Messaging.Rpc;

/// <summary>
/// Gives the memory of refused oversized bodies back to the system. Such a body lived in large-object
/// heap arrays (RabbitMQ.Client assembles a multi-frame body in one buffer), and a workstation GC
/// neither compacts that heap nor decommits its free space until it needs to, so an idle daemon kept a
/// flood's peak for good (issue 14: twenty 50 MB bodies, RSS 89 MB → 1 GB, never returned). One
/// aggressive, compacting collection runs once refusals have stopped for a moment — one per burst,
/// not one per message, since a full blocking collection pauses every thread.
/// </summary>
internal sealed class MemoryReclaimer(TimeProvider time, ILogger logger)
{
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(1);
    private long _lastRequest;
    private int _scheduled;

    public void Reclaim()
    {
        Interlocked.Exchange(ref _lastRequest, time.GetTimestamp());
        if (Interlocked.CompareExchange(ref _scheduled, 1, 0) == 0)
        {
            _ = Task.Run(RunAsync);
        }
    }

    private async Task RunAsync()
    {
        try
        {
            TimeSpan since;
            while ((since = time.GetElapsedTime(Interlocked.Read(ref _lastRequest))) < Quiet)
            {
                await Task.Delay(Quiet - since, time).ConfigureAwait(false);
            }
            // A refusal from here on schedules another run; this one still covers what came before.
            Volatile.Write(ref _scheduled, 0);
            var before = Environment.WorkingSet;
            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            Log.MemoryReclaimed(logger, before / (1024 * 1024), Environment.WorkingSet / (1024 * 1024));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Volatile.Write(ref _scheduled, 0);
            Log.ProcessingCrashed(logger, ex);
        }
    }
}
