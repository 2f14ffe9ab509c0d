using System.Buffers;
using System.Numerics;
using System.Runtime;
using Microsoft.Extensions.Logging;

namespace NovaCompute.Messaging.Rpc;

/// <summary>
/// Gives the memory of refused oversized bodies back to the system (issue 14: twenty 50 MB bodies,
/// RSS 89 MB → 1 GB, never returned). RabbitMQ.Client 7.2 assembles a multi-frame body in an array
/// rented from <see cref="ArrayPool{T}.Shared"/> (projects/RabbitMQ.Client/Impl/CommandAssembler.cs,
/// ParseBodyFrame) and its consumer dispatcher returns it there after our callback, so the big arrays
/// outlive the refusal in three places: the pool's per-core partitions (up to 32 arrays per size per
/// core), the thread-local slot of each thread that returned one, and the large-object heap, which a
/// workstation GC neither compacts nor decommits until it needs to.
/// <para>
/// Each pass therefore drains the pool's partitions for the refused sizes (renting until the pool has
/// none left and dropping what it hands out) and then runs an aggressive, compacting collection. The
/// thread-local slots of other threads are out of reach: the pool itself drops them in its Trim, which
/// runs after a gen2 collection and drops a slot seen by an earlier Trim at least 30 s before (60 s in
/// older runtimes; dotnet/runtime src/libraries/System.Private.CoreLib/src/System/Buffers/SharedArrayPool.cs).
/// Hence the passes at 1 s, 35 s and 70 s after the last refusal: the first marks the slots, the later
/// ones let the pool drop them and collect them. One series per burst, not one per message, since a
/// full blocking collection pauses every thread.
/// </para>
/// </summary>
internal sealed class MemoryReclaimer(TimeProvider time, ILogger logger)
{
    private static readonly TimeSpan[] Passes = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(35), TimeSpan.FromSeconds(70)];

    /// <summary>The pool keeps arrays of 16 bytes up to 1 GiB, one size per power of two.</summary>
    private const int LargestPooledArray = 1024 * 1024 * 1024;

    private long _lastRequest;
    private int _scheduled;

    /// <summary>Bit n set: an array of 2^n bytes held a refused body.</summary>
    private long _refusedSizes;

    public void Reclaim(int bodyBytes)
    {
        if (bodyBytes is > 16 and <= LargestPooledArray)
        {
            Interlocked.Or(ref _refusedSizes, 1L << BitOperations.Log2(BitOperations.RoundUpToPowerOf2((uint)bodyBytes)));
        }
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
            var seen = Interlocked.Read(ref _lastRequest);
            var pass = 0;
            while (true)
            {
                var last = Interlocked.Read(ref _lastRequest);
                if (last != seen)
                {
                    // Another refusal: its arrays need the whole series again.
                    (seen, pass) = (last, 0);
                }
                var since = time.GetElapsedTime(last);
                if (since < Passes[pass])
                {
                    await Task.Delay(Passes[pass] - since, time).ConfigureAwait(false);
                    continue;
                }
                Collect();
                if (++pass < Passes.Length)
                {
                    continue;
                }
                Volatile.Write(ref _scheduled, 0);
                // A refusal during the last pass found the series still scheduled: carry on for it,
                // unless one after the reset already started its own.
                if (Interlocked.Read(ref _lastRequest) == seen || Interlocked.CompareExchange(ref _scheduled, 1, 0) != 0)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Volatile.Write(ref _scheduled, 0);
            Log.ProcessingCrashed(logger, ex);
        }
    }

    private void Collect()
    {
        var before = Environment.WorkingSet;
        // The pool trims on the finalizer thread after a gen2 collection (Gen2GcCallback): let that
        // Trim run first, so the arrays it drops are garbage for the compacting collection below.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
        GC.WaitForPendingFinalizers();
        var sizes = Interlocked.Read(ref _refusedSizes);
        while (sizes != 0)
        {
            var log2 = BitOperations.TrailingZeroCount(sizes);
            sizes &= sizes - 1;
            DrainPool(1 << log2);
        }
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        Log.MemoryReclaimed(logger, before / (1024 * 1024), Environment.WorkingSet / (1024 * 1024));
    }

    /// <summary>
    /// Takes every array of <paramref name="length"/> bytes out of the shared pool and drops it. The pool
    /// hands out what it holds before it allocates, so the first rent that allocates (seen in this
    /// thread's allocation count) means the pool has no more; that last, fresh array is never written
    /// and goes with the rest. Valid messages smaller than the limit live in smaller arrays, and one
    /// that shares the size merely rents a fresh array next time.
    /// </summary>
    private static void DrainPool(int length)
    {
        // The pool holds at most 32 arrays of a size per core (DOTNET_SYSTEM_BUFFERS_SHAREDARRAYPOOL_
        // MAXARRAYSPERPARTITION can raise it) plus this thread's own slot: a bound, should the
        // allocation count ever fail to show the fresh array.
        var limit = (Environment.ProcessorCount * 64) + 1;
        for (var i = 0; i < limit; i++)
        {
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            _ = ArrayPool<byte>.Shared.Rent(length);
            if (GC.GetAllocatedBytesForCurrentThread() - allocated >= length)
            {
                return;
            }
        }
    }
}
