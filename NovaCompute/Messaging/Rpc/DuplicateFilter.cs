namespace NovaCompute.Messaging.Rpc;

/// <summary>
/// Remembers the last <c>capacity</c> request <c>_unique_id</c>s (first in, first out) so that a
/// redelivered or re-published request runs once. oslo keeps 16, which a burst of a few dozen
/// messages already flushes; the default here is three orders of magnitude larger.
/// </summary>
internal sealed class DuplicateFilter(int capacity)
{
    private readonly Lock _lock = new();
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    // Grown as ids arrive, not preallocated: a process serving many servers (simulate) holds one filter each.
    private readonly Queue<string> _order = new();

    /// <summary>False when <paramref name="uniqueId"/> was seen within the window.</summary>
    public bool TryAdd(string uniqueId)
    {
        lock (_lock)
        {
            if (!_seen.Add(uniqueId))
            {
                return false;
            }
            _order.Enqueue(uniqueId);
            if (_order.Count > capacity)
            {
                _seen.Remove(_order.Dequeue());
            }
            return true;
        }
    }
}
