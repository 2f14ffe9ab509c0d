using System.Collections.Concurrent;

namespace NovaCompute.Messaging.Rpc;

/// <summary>
/// The exchanges and queues that every <see cref="RpcServer"/> of one process declares alike (the
/// control exchange, the <c>&lt;topic&gt;</c> queue and its binding, the <c>&lt;topic&gt;_fanout</c>
/// exchange), declared once for all the servers a simulation starts together instead of once by
/// each: a third of a server's AMQP methods at start, and the broker's work.
/// </summary>
/// <remarks>
/// A server that finds a declaration under way waits for its answer before it declares or consumes
/// what depends on it. A failed declaration is not kept: the next server declares again (the first
/// one's start has failed, and with it the simulation's). Outside <see cref="ShareDuring"/> every
/// call declares, and the re-declarations after a reconnect (<see cref="RpcQueueConsumer"/>) never
/// come here: a broker that lost non-durable entities gets them back from every server, as from oslo.
/// </remarks>
public sealed class StartDeclarations
{
    private readonly ConcurrentDictionary<string, Lazy<Task>> _declared = new(StringComparer.Ordinal);
    private int _sharing;

    /// <summary>Declarations are made once per key until the returned scope is disposed.</summary>
    public IDisposable ShareDuring()
    {
        Interlocked.Increment(ref _sharing);
        return new Scope(this);
    }

    /// <summary><paramref name="declare"/>, or the same declaration already made or under way in this scope.</summary>
    public Task OnceAsync(string key, Func<Task> declare)
    {
        if (Volatile.Read(ref _sharing) == 0)
        {
            return declare();
        }
        var declaration = _declared.GetOrAdd(key, _ => new Lazy<Task>(declare));
        return AwaitAsync(key, declaration);
    }

    private async Task AwaitAsync(string key, Lazy<Task> declaration)
    {
        try
        {
            await declaration.Value.ConfigureAwait(false);
        }
        catch
        {
            _declared.TryRemove(new KeyValuePair<string, Lazy<Task>>(key, declaration));
            throw;
        }
    }

    private sealed class Scope(StartDeclarations owner) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0 && Interlocked.Decrement(ref owner._sharing) == 0)
            {
                owner._declared.Clear();
            }
        }
    }
}
