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
    private int _handedOut;

    public int ServersPerChannel => serversPerChannel;

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

    public async ValueTask DisposeAsync()
    {
        foreach (var channel in _opened)
        {
            try
            {
                await channel.CloseAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RabbitMQ.Client.Exceptions.AlreadyClosedException or RabbitMQ.Client.Exceptions.OperationInterruptedException
                or IOException or TimeoutException)
            {
                // The broker is gone; nothing to close.
            }
            await channel.DisposeAsync().ConfigureAwait(false);
        }
        _opened.Clear();
        Array.Clear(_channels);
        _gate.Dispose();
    }
}
