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
    private readonly SharedWhileStarting<bool> _declared = new();

    /// <summary>Declarations are made once per key until the returned scope is disposed.</summary>
    public IDisposable ShareDuring() => _declared.ShareDuring();

    /// <summary><paramref name="declare"/>, or the same declaration already made or under way in this scope.</summary>
    public Task OnceAsync(string key, Func<Task> declare) => _declared.RunAsync(key, async _ =>
    {
        await declare().ConfigureAwait(false);
        return true;
    });
}
