using NovaCompute.Db;

namespace NovaCompute.Tests.Support;

/// <summary>
/// A real <see cref="IServiceRepository"/> with a switch for heartbeats: pass through, fail like an
/// unreachable database, or hang (ignoring cancellation, as a wedged socket would). Counts calls
/// and lets a test await the n-th heartbeat attempt.
/// </summary>
internal sealed class FaultyServiceRepository(IServiceRepository inner) : IServiceRepository
{
    private readonly object _gate = new();
    private readonly List<(int Count, TaskCompletionSource Signal)> _waiters = [];
    private int _attempts;

    public enum Mode
    {
        Pass,
        Fail,
        Hang,
    }

    public Mode Heartbeats { get; set; } = Mode.Pass;

    /// <summary>Released when a hung call should finish (it then fails).</summary>
    public TaskCompletionSource HangRelease { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int HeartbeatAttempts => Volatile.Read(ref _attempts);

    /// <summary>Completes once <paramref name="count"/> heartbeat attempts have been made.</summary>
    public Task WaitForAttemptsAsync(int count)
    {
        lock (_gate)
        {
            if (_attempts >= count)
            {
                return Task.CompletedTask;
            }
            var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((count, tcs));
            return tcs.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    public async Task<HeartbeatStamp?> ReportStateAsync(int id, CancellationToken cancellationToken)
    {
        var mode = Heartbeats;
        try
        {
            switch (mode)
            {
                case Mode.Fail:
                    throw new Microsoft.Data.Sqlite.SqliteException("unable to open database file", 14);
                case Mode.Hang:
                    await HangRelease.Task.ConfigureAwait(false);
                    throw new TimeoutException("released");
                default:
                    return await inner.ReportStateAsync(id, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            Attempted();
        }
    }

    private void Attempted()
    {
        List<TaskCompletionSource> ready;
        lock (_gate)
        {
            _attempts++;
            ready = _waiters.Where(w => w.Count <= _attempts).Select(w => w.Signal).ToList();
            _waiters.RemoveAll(w => w.Count <= _attempts);
        }
        foreach (var signal in ready)
        {
            signal.TrySetResult();
        }
    }

    public Task<ServiceRecord?> GetByHostAndBinaryAsync(string host, string binary, CancellationToken cancellationToken) =>
        inner.GetByHostAndBinaryAsync(host, binary, cancellationToken);

    public Task<ServiceRecord?> GetByIdAsync(int id, CancellationToken cancellationToken) => inner.GetByIdAsync(id, cancellationToken);

    public Task<ServiceRecord> CreateAsync(NewService service, CancellationToken cancellationToken) => inner.CreateAsync(service, cancellationToken);

    public Task<ServiceRecord?> UpdateVersionAsync(int id, int version, CancellationToken cancellationToken) =>
        inner.UpdateVersionAsync(id, version, cancellationToken);

    public Task<ServiceListing> ListAsync(string? host, string? binary, CancellationToken cancellationToken) =>
        inner.ListAsync(host, binary, cancellationToken);

    public Task<ServiceRecord?> SetDisabledAsync(int id, bool disabled, string? reason, CancellationToken cancellationToken) =>
        inner.SetDisabledAsync(id, disabled, reason, cancellationToken);

    public Task<ServiceRecord?> SetForcedDownAsync(int id, bool forcedDown, CancellationToken cancellationToken) =>
        inner.SetForcedDownAsync(id, forcedDown, cancellationToken);

    public Task<bool> DestroyAsync(int id, CancellationToken cancellationToken) => inner.DestroyAsync(id, cancellationToken);

    private int _minimumVersionReads;
    private int _minimumVersionFailures;

    /// <summary>How many times the deployment's minimum version was read.</summary>
    public int MinimumVersionReads => Volatile.Read(ref _minimumVersionReads);

    /// <summary>The next this many minimum-version reads fail like an unreachable database.</summary>
    public int FailMinimumVersionReads
    {
        set => Volatile.Write(ref _minimumVersionFailures, value);
    }

    public async Task<int> GetMinimumVersionAsync(string binary, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _minimumVersionReads);
        // Read on another thread, as a database round trip is: callers that arrive meanwhile must find it under way.
        await Task.Yield();
        if (Interlocked.Decrement(ref _minimumVersionFailures) >= 0)
        {
            throw new Microsoft.Data.Sqlite.SqliteException("unable to open database file", 14);
        }
        Interlocked.Exchange(ref _minimumVersionFailures, 0);
        return await inner.GetMinimumVersionAsync(binary, cancellationToken).ConfigureAwait(false);
    }
}
