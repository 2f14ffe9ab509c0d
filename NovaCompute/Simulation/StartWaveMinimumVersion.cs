using System.Collections.Concurrent;
using NovaCompute.Db;

namespace NovaCompute.Simulation;

/// <summary>
/// nova's deployment minimum version (<c>service_get_minimum_version</c>), read once per binary for
/// all the computes a simulation starts together, instead of once or twice by each of them.
/// </summary>
/// <remarks>
/// Each nova-compute reads it at start (<c>raise_if_old_compute</c>) and again before creating its
/// row (<c>Service._check_minimum_version</c>). The statement scans <c>services</c> (nova has no
/// index on <c>binary</c>), so N computes starting in one process made it O(N × rows): 9 ms a scan
/// over 13,000 rows here, nearly all of the database's work at a simulation's start. One reading is
/// exact for the whole wave: the rows the wave itself creates carry this release's version, which
/// can neither push the minimum above this version nor below the oldest supported one unless it
/// already was. A change made elsewhere during the wave is missed as it is by nova's own check,
/// which reads before it creates. Outside <see cref="ShareDuring"/> (a row recreated after an
/// operator deleted it, hours later) every call reads afresh.
/// </remarks>
internal sealed class StartWaveMinimumVersion(IServiceRepository repository)
{
    private readonly ConcurrentDictionary<string, Lazy<Task<int>>> _readings = new(StringComparer.Ordinal);
    private int _sharing;

    /// <summary>Readings are shared until the returned scope is disposed.</summary>
    public IDisposable ShareDuring()
    {
        Interlocked.Increment(ref _sharing);
        return new Scope(this);
    }

    public Task<int> GetAsync(string binary, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _sharing) == 0)
        {
            return repository.GetMinimumVersionAsync(binary, cancellationToken);
        }
        // Not under the first caller's token: its cancellation must not fail the others' reading.
        // A failed reading is not kept, so a caller after it reads again.
        var reading = _readings.GetOrAdd(binary, b => new Lazy<Task<int>>(() => repository.GetMinimumVersionAsync(b, CancellationToken.None)));
        return AwaitAsync(binary, reading, cancellationToken);
    }

    private async Task<int> AwaitAsync(string binary, Lazy<Task<int>> reading, CancellationToken cancellationToken)
    {
        try
        {
            return await reading.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch when (reading.Value.IsFaulted || reading.Value.IsCanceled)
        {
            _readings.TryRemove(new KeyValuePair<string, Lazy<Task<int>>>(binary, reading));
            throw;
        }
    }

    private sealed class Scope(StartWaveMinimumVersion owner) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0 && Interlocked.Decrement(ref owner._sharing) == 0)
            {
                owner._readings.Clear();
            }
        }
    }
}
