using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;

namespace NovaCompute.Messaging.Rpc;

/// <summary>
/// The process's reply queue (<c>reply_&lt;uuid hex&gt;</c>, created at the first call, as oslo does)
/// and the table of calls waiting on it, keyed by <c>_msg_id</c>. Any number of concurrent calls
/// share it: there is no pool to run out of.
/// </summary>
public sealed class RpcReplyWaiter : IAsyncDisposable
{
    private readonly RabbitTransport _transport;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ConcurrentDictionary<string, PendingCall> _pending = new(StringComparer.Ordinal);
    private IChannel? _channel;
    private volatile string? _replyQueue;

    public RpcReplyWaiter(RabbitTransport transport, ILogger<RpcReplyWaiter> logger)
    {
        _transport = transport;
        _logger = logger;
    }

    public RabbitTransport Transport => _transport;

    /// <summary>The reply queue, once the first call created it.</summary>
    public string? ReplyQueue => _replyQueue;

    /// <summary>Calls waiting for their reply right now.</summary>
    public int Waiting => _pending.Count;

    internal async ValueTask<string> EnsureReplyQueueAsync(CancellationToken cancellationToken)
    {
        if (_replyQueue is { } ready)
        {
            return ready;
        }
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_replyQueue is { } raced)
            {
                return raced;
            }
            var connection = await _transport.ConsumeConnection.GetAsync(cancellationToken).ConfigureAwait(false);
            if (_channel is null || _channel.IsClosed)
            {
                if (_channel is { } old)
                {
                    await old.DisposeAsync().ConfigureAwait(false);
                }
                // Shared by every later call: its consumer loop must not keep the first caller's context.
                _channel = await ExecutionContextFree.Run(() => connection.CreateChannelAsync(cancellationToken: cancellationToken)).ConfigureAwait(false);
            }
            var queue = "reply_" + RpcEnvelope.NewId();
            await _channel.QueueDeclareAsync(queue, durable: false, exclusive: false, autoDelete: false,
                _transport.Settings.TransientQueueArguments(), cancellationToken: cancellationToken).ConfigureAwait(false);
            await _channel.BasicConsumeAsync(queue, autoAck: true, new ReplyConsumer(this, _channel, queue), cancellationToken).ConfigureAwait(false);
            Log.ReplyQueueReady(_logger, queue);
            _replyQueue = queue;
            return queue;
        }
        finally
        {
            _gate.Release();
        }
    }

    internal PendingCall Register(string msgId, Action? onHeartbeat)
    {
        var pending = new PendingCall(onHeartbeat);
        if (!_pending.TryAdd(msgId, pending))
        {
            throw new InvalidOperationException($"msg_id {msgId} is already waiting");
        }
        return pending;
    }

    internal void Unregister(string msgId) => _pending.TryRemove(msgId, out _);

    private void OnReply(ReadOnlyMemory<byte> body)
    {
        if (!RpcEnvelope.TryOpen(body.Span, out var message, out var problem))
        {
            message?.Dispose();
            Log.BadReply(_logger, problem!.Description);
            return;
        }
        if (!RpcMessages.ReplyView.TryRead(message!.Root, out var reply, out var badReply))
        {
            message.Dispose();
            Log.BadReply(_logger, badReply!);
            return;
        }
        if (!_pending.TryGetValue(reply.MsgId, out var pending))
        {
            message.Dispose();
            Log.NoWaiter(_logger, reply.MsgId);
            return;
        }
        if (reply.IsHeartbeat)
        {
            message.Dispose();
            Log.HeartbeatReceived(_logger, reply.MsgId);
            pending.OnHeartbeat?.Invoke();
            return;
        }
        if (!pending.Reply.TrySetResult(new ReceivedReply(message, reply)))
        {
            message.Dispose(); // a duplicate final reply
        }
    }

    private void OnReplyQueueLost(string queue)
    {
        _replyQueue = null;
        var waiting = _pending.ToArray();
        foreach (var (_, pending) in waiting)
        {
            pending.Reply.TrySetException(new RemoteException("MessagingException", "oslo_messaging.exceptions",
                $"The reply queue {queue} was deleted while the call was waiting for its reply"));
        }
        Log.ReplyQueueLost(_logger, queue, waiting.Length);
    }

    public async ValueTask DisposeAsync()
    {
        if (_channel is { } channel)
        {
            _channel = null;
            try
            {
                if (_replyQueue is { } queue)
                {
                    // oslo leaves it to expire; deleting it frees the broker at once on a clean exit.
                    await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false).ConfigureAwait(false);
                }
                await channel.CloseAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (BrokerError.IsGone(ex))
            {
                // Broker gone: the queue expires by itself.
            }
            await channel.DisposeAsync().ConfigureAwait(false);
        }
    }

    internal sealed class PendingCall(Action? onHeartbeat)
    {
        public Action? OnHeartbeat { get; } = onHeartbeat;

        public TaskCompletionSource<ReceivedReply> Reply { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    internal sealed record ReceivedReply(OpenedMessage Message, RpcMessages.ReplyView View);

    private sealed class ReplyConsumer(RpcReplyWaiter waiter, IChannel channel, string queue) : AsyncDefaultBasicConsumer(channel)
    {
        public override Task HandleBasicDeliverAsync(string consumerTag, ulong deliveryTag, bool redelivered, string exchange,
            string routingKey, IReadOnlyBasicProperties properties, ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default)
        {
            try
            {
                waiter.OnReply(body);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Log.BadReply(waiter._logger, ex.Message);
            }
            return Task.CompletedTask;
        }

        public override async Task HandleBasicCancelAsync(string consumerTag, CancellationToken cancellationToken = default)
        {
            await base.HandleBasicCancelAsync(consumerTag, cancellationToken).ConfigureAwait(false);
            waiter.OnReplyQueueLost(queue);
        }
    }
}
