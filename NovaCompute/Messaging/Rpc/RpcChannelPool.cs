using RabbitMQ.Client;

namespace NovaCompute.Messaging.Rpc;

/// <summary>
/// Consume channels shared by many <see cref="RpcServer"/>s in one process (<c>nova-compute
/// simulate</c>): <paramref name="expectedServers"/> servers are dealt round-robin over one channel
/// per <see cref="ServersPerChannel"/> of them, so a thousand servers hold a few dozen channels
/// instead of a thousand (RabbitMQ's default <c>channel_max</c> is 2047), and servers that start
/// together declare their queues on different channels: a channel has one synchronous AMQP method
/// outstanding at a time (AMQP 0-9-1 §2.2.4; RabbitMQ.Client waits for each answer), so sixteen
/// servers starting on one channel would queue behind each other's dozen declarations. Prefetch
/// stays per consumer (<c>basic.qos</c> with <c>global = false</c>), so each server still takes at
/// most its <c>executor_thread_pool_size</c> ahead. Channels are opened on first use and closed
/// with the pool, not by the servers.
/// </summary>
public sealed class RpcChannelPool(RabbitTransport transport, int expectedServers = 1, int serversPerChannel = 50) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly IChannel?[] _channels = new IChannel?[Math.Max(1, (expectedServers + serversPerChannel - 1) / serversPerChannel)];
    private readonly List<IChannel> _opened = [];
    private readonly List<string> _toDelete = [];
    private int _handedOut;

    /// <summary>Connections <see cref="DeleteQueuesAsync"/> deletes on at once (the broker serves one connection's deletes one at a time).</summary>
    private const int DeleteConnections = 4;

    public int ServersPerChannel => serversPerChannel;

    /// <summary>The declarations the servers on these channels share while they start together.</summary>
    public StartDeclarations Declarations { get; } = new();

    /// <summary>Channels opened so far.</summary>
    public int Count => _opened.Count;

    /// <summary>The channel for the next server: the next in turn, opened when it is not open yet (or was closed).</summary>
    public async Task<IChannel> RentAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var index = _handedOut % _channels.Length;
            if (_channels[index] is not { IsClosed: false })
            {
                var connection = await transport.ConsumeConnection.GetAsync(cancellationToken).ConfigureAwait(false);
                // Deliveries of one channel are dispatched one at a time: a handful at once keeps
                // one busy server (waiting for a worker) from holding up its neighbours.
                var channel = await connection.CreateChannelAsync(
                    new CreateChannelOptions(publisherConfirmationsEnabled: false, publisherConfirmationTrackingEnabled: false, consumerDispatchConcurrency: 4),
                    cancellationToken).ConfigureAwait(false);
                _channels[index] = channel;
                _opened.Add(channel);
            }
            _handedOut++;
            return _channels[index]!;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Closes the consume channels, so the broker ends every subscription on them at once and
    /// requeues what it delivered but was not acknowledged. A fleet stops consuming this way: one
    /// <c>channel.close</c> per channel instead of a <c>basic.cancel</c> per consumer, each of which
    /// costs the shared topic queue's process a pass over all its consumers (thousands in a
    /// simulation), so that cancelling them one by one grows with the square of the fleet.
    /// </summary>
    public async Task CloseConsumeChannelsAsync()
    {
        await _gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_channels.OfType<IChannel>().Select(CloseQuietlyAsync)).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Marks a server's fanout queue for deletion when the pool closes: oslo deletes a listener's
    /// fanout queues when its connection closes, and a fleet's thousands of deletes are then done
    /// together by <see cref="DeleteQueuesAsync"/> instead of each server waiting for its own.
    /// </summary>
    public void DeleteOnClose(string queue)
    {
        lock (_toDelete)
        {
            _toDelete.Add(queue);
        }
    }

    /// <summary>Queues marked by <see cref="DeleteOnClose"/> and not deleted yet.</summary>
    public int QueuesToDelete
    {
        get
        {
            lock (_toDelete)
            {
                return _toDelete.Count;
            }
        }
    }

    /// <summary>
    /// Deletes the queues marked by <see cref="DeleteOnClose"/> over a few connections of their own,
    /// opened for the purpose and closed after it: the broker deletes a bound queue in several
    /// milliseconds and serves one connection's deletes one after another, whatever its channels,
    /// while separate connections proceed side by side (4 connections: 2.6 times one). Goes on
    /// until all are gone or <paramref name="cancellationToken"/> fires; returns how many were
    /// deleted. What is left expires by its <c>x-expires</c>, the fallback oslo relies on too.
    /// </summary>
    public async Task<int> DeleteQueuesAsync(CancellationToken cancellationToken)
    {
        var deleted = 0;
        try
        {
            await Task.WhenAll(Enumerable.Range(1, DeleteConnections).Select(DeleteSomeAsync)).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Out of time: the rest expire.
        }
        return deleted;

        async Task DeleteSomeAsync(int worker)
        {
            await using var keeper = transport.ExtraConnection($"teardown-{worker}");
            var connection = await keeper.GetAsync(cancellationToken).ConfigureAwait(false);
            await using var channel = await connection.CreateChannelAsync(
                new CreateChannelOptions(publisherConfirmationsEnabled: false, publisherConfirmationTrackingEnabled: false), cancellationToken).ConfigureAwait(false);
            while (!cancellationToken.IsCancellationRequested && TakeQueueToDelete() is { } queue)
            {
                try
                {
                    await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false, cancellationToken: cancellationToken).ConfigureAwait(false);
                    Interlocked.Increment(ref deleted);
                }
                catch (Exception ex) when (BrokerError.IsGone(ex))
                {
                    // The broker is gone: the queues expire by themselves.
                    return;
                }
            }
            await CloseQuietlyAsync(channel).ConfigureAwait(false);
        }
    }

    private string? TakeQueueToDelete()
    {
        lock (_toDelete)
        {
            if (_toDelete.Count == 0)
            {
                return null;
            }
            var queue = _toDelete[^1];
            _toDelete.RemoveAt(_toDelete.Count - 1);
            return queue;
        }
    }

    /// <summary>Closes the channels. Queues still marked for deletion are left to expire: the owner deletes them with <see cref="DeleteQueuesAsync"/> within its own deadline.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var channel in _opened)
        {
            await CloseQuietlyAsync(channel).ConfigureAwait(false);
            await channel.DisposeAsync().ConfigureAwait(false);
        }
        _opened.Clear();
        Array.Clear(_channels);
        _gate.Dispose();
    }

    private static async Task CloseQuietlyAsync(IChannel channel)
    {
        try
        {
            await channel.CloseAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (BrokerError.IsGone(ex))
        {
            // The broker is gone; nothing to close.
        }
    }
}
