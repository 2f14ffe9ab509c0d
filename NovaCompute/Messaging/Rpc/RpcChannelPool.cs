using RabbitMQ.Client;

namespace NovaCompute.Messaging.Rpc;

/// <summary>
/// Consume channels shared by many <see cref="RpcServer"/>s in one process (<c>nova-compute
/// simulate</c>): every <see cref="ServersPerChannel"/> servers take the same channel on the
/// transport's consume connection, so a thousand servers hold a few dozen channels instead of a
/// thousand (RabbitMQ's default <c>channel_max</c> is 2047). Prefetch stays per consumer
/// (<c>basic.qos</c> with <c>global = false</c>), so each server still takes at most its
/// <c>executor_thread_pool_size</c> ahead. Channels are closed with the pool, not by the servers.
/// </summary>
public sealed class RpcChannelPool(RabbitTransport transport, int serversPerChannel = 50) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly List<IChannel> _channels = [];
    private int _handedOut;

    public int ServersPerChannel => serversPerChannel;

    /// <summary>Channels opened so far.</summary>
    public int Count => _channels.Count;

    /// <summary>The channel for the next server: the current one until it has <see cref="ServersPerChannel"/> servers, then a new one.</summary>
    public async Task<IChannel> RentAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_handedOut % serversPerChannel == 0 || _channels.Count == 0 || _channels[^1].IsClosed)
            {
                var connection = await transport.ConsumeConnection.GetAsync(cancellationToken).ConfigureAwait(false);
                // Deliveries of one channel are dispatched one at a time: a handful at once keeps
                // one busy server (waiting for a worker) from holding up its neighbours.
                _channels.Add(await connection.CreateChannelAsync(
                    new CreateChannelOptions(publisherConfirmationsEnabled: false, publisherConfirmationTrackingEnabled: false, consumerDispatchConcurrency: 4),
                    cancellationToken).ConfigureAwait(false));
            }
            _handedOut++;
            return _channels[^1];
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var channel in _channels)
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
        _channels.Clear();
        _gate.Dispose();
    }
}
