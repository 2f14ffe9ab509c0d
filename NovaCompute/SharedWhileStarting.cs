using System.Collections.Concurrent;

namespace NovaCompute;

/// <summary>
/// Work that each of many services starting together in one process would repeat with the same
/// result (a simulation's computes: reading the deployment's minimum version, declaring the
/// exchanges and queues they all use), done once per key while a <see cref="ShareDuring"/> scope
/// is open, and every time outside one.
/// </summary>
/// <remarks>
/// A caller that finds the work under way waits for its result. Work that failed is not kept: the
/// next caller runs it again.
/// </remarks>
internal sealed class SharedWhileStarting<T>
{
    private readonly ConcurrentDictionary<string, Lazy<Task<T>>> _shared = new(StringComparer.Ordinal);
    private int _sharing;

    /// <summary>Work is shared until the returned scope is disposed.</summary>
    public IDisposable ShareDuring()
    {
        Interlocked.Increment(ref _sharing);
        return new Scope(this);
    }

    /// <summary>
    /// <paramref name="work"/>, or the result of the same work already done or under way in this
    /// scope. Unshared, the work runs under <paramref name="cancellationToken"/>; shared, under none
    /// (one caller's cancellation must not fail the others' result), and the token ends only this
    /// caller's wait.
    /// </summary>
    public Task<T> RunAsync(string key, Func<CancellationToken, Task<T>> work, CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _sharing) == 0)
        {
            return work(cancellationToken);
        }
        // Through an async method: work that throws at once becomes a failed task, not an exception Lazy would keep.
        var shared = _shared.GetOrAdd(key, _ => new Lazy<Task<T>>(async () => await work(CancellationToken.None).ConfigureAwait(false)));
        return AwaitAsync(key, shared, cancellationToken);
    }

    private async Task<T> AwaitAsync(string key, Lazy<Task<T>> shared, CancellationToken waitToken)
    {
        try
        {
            return await shared.Value.WaitAsync(waitToken).ConfigureAwait(false);
        }
        catch when (shared.Value.IsFaulted || shared.Value.IsCanceled)
        {
            _shared.TryRemove(new KeyValuePair<string, Lazy<Task<T>>>(key, shared));
            throw;
        }
    }

    private sealed class Scope(SharedWhileStarting<T> owner) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0 && Interlocked.Decrement(ref owner._sharing) == 0)
            {
                owner._shared.Clear();
            }
        }
    }
}
