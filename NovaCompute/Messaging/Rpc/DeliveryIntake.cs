using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;

namespace NovaCompute.Messaging.Rpc;

/// <summary>
/// Takes the deliveries of one consume channel off the client's dispatch loop and acknowledges
/// those that arrived together with one <c>basic.ack multiple=true</c> for the highest delivery
/// tag, sent before any of them starts work. oslo acknowledges each message before handling it
/// (at-most-once: <c>oslo_messaging/rpc/server.py</c>, <c>message.acknowledge()</c> ahead of
/// dispatch); that stays true here for every message of a batch, and a message is still only
/// acknowledged once a worker is free for it, so the broker's prefetch keeps holding the rest. One
/// frame for a burst of deliveries instead of one per message is less work for the broker and for
/// this process, which is what throughput at high concurrency is bound by on a small machine.
/// </summary>
/// <remarks>
/// Only for a channel whose deliveries all come through this intake in delivery-tag order (a
/// channel of its own with <c>consumerDispatchConcurrency: 1</c>): <c>multiple=true</c>
/// acknowledges every earlier tag of the channel, and each of those has then either been
/// acknowledged already or is part of the batch. After a connection recovery RabbitMQ.Client
/// offsets the tags of the new channel and drops acknowledgements of stale ones, as it does for
/// single acknowledgements.
/// </remarks>
internal sealed class DeliveryIntake<T>
{
    private readonly Channel<(ulong Tag, T Item)> _queue =
        Channel.CreateUnbounded<(ulong, T)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly IChannel _channel;
    private readonly SemaphoreSlim _workers;
    private readonly Action<T> _workerTaken;
    private readonly Action<T> _start;
    private readonly Action<T> _drop;
    private readonly Func<bool> _stopping;
    private readonly ILogger _logger;
    private readonly List<(ulong Tag, T Item)> _batch = [];
    private long _acks;

    /// <param name="channel">The consume channel the deliveries came from; acknowledgements go there.</param>
    /// <param name="workers">One permit per worker; a delivery is acknowledged only once it holds one.</param>
    /// <param name="workerTaken">Called when a delivery got its worker (before the acknowledgement).</param>
    /// <param name="start">Called for each acknowledged delivery, in delivery order: start its work.</param>
    /// <param name="drop">Called for a delivery that holds a worker but will not run (acknowledgement failed, or stopping): give the worker back.</param>
    /// <param name="stopping">True once the server stops: nothing more is acknowledged, so the broker requeues what is left.</param>
    public DeliveryIntake(IChannel channel, SemaphoreSlim workers, Action<T> workerTaken, Action<T> start, Action<T> drop, Func<bool> stopping,
        ILogger logger, CancellationToken stop)
    {
        _channel = channel;
        _workers = workers;
        _workerTaken = workerTaken;
        _start = start;
        _drop = drop;
        _stopping = stopping;
        _logger = logger;
        Completion = Task.Run(() => RunAsync(stop));
    }

    /// <summary>Ends when the server stops consuming.</summary>
    public Task Completion { get; }

    /// <summary>Acknowledgement frames sent so far (each for one or more deliveries).</summary>
    public long Acks => Interlocked.Read(ref _acks);

    /// <summary>Called on the client's dispatch loop: queues the delivery and returns at once.</summary>
    public void Add(ulong deliveryTag, T item) => _queue.Writer.TryWrite((deliveryTag, item));

    private async Task RunAsync(CancellationToken stop)
    {
        var reader = _queue.Reader;
        try
        {
            while (true)
            {
                var first = await reader.ReadAsync(stop).ConfigureAwait(false);
                await _workers.WaitAsync(stop).ConfigureAwait(false);
                Take(first);
                // Whatever else has already arrived and has a free worker joins the batch; the
                // rest waits for a worker with the broker still holding what prefetch holds back.
                while (_workers.Wait(0))
                {
                    if (!reader.TryRead(out var next))
                    {
                        _workers.Release();
                        break;
                    }
                    Take(next);
                }
                await AcknowledgeAndStartAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopping: what is still queued stays unacknowledged and the broker requeues it.
        }
    }

    private void Take((ulong Tag, T Item) delivery)
    {
        _workerTaken(delivery.Item);
        _batch.Add(delivery);
    }

    private async Task AcknowledgeAndStartAsync()
    {
        try
        {
            if (_stopping())
            {
                DropBatch();
                return;
            }
            try
            {
                await _channel.BasicAckAsync(_batch[^1].Tag, multiple: _batch.Count > 1, CancellationToken.None).ConfigureAwait(false);
                Interlocked.Increment(ref _acks);
            }
            catch (Exception ex) when (BrokerError.IsGone(ex))
            {
                // Not acknowledged means the broker delivers them again after recovery: handling them now would run them twice.
                Log.AckFailed(_logger, ex.Message);
                DropBatch();
                return;
            }
            foreach (var (_, item) in _batch)
            {
                _start(item);
            }
        }
        finally
        {
            _batch.Clear();
        }
    }

    private void DropBatch()
    {
        foreach (var (_, item) in _batch)
        {
            _drop(item);
        }
    }
}
