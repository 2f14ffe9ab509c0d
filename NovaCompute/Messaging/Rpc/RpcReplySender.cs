using Microsoft.Extensions.Logging;

namespace NovaCompute.Messaging.Rpc;

/// <summary>
/// The server's replies and call-monitor heartbeats. A reply is published once, mandatory, on the
/// request path. When its reply queue does not exist (the broker returns it), oslo keeps retrying
/// every 0.25 s for <c>kombu_missing_consumer_retry_timeout</c> (60 s) inside the executor thread
/// (oslo_messaging/_drivers/impl_rabbit.py, <c>_publish_and_retry_on_missing_exchange</c> and
/// amqpdriver.py <c>reply</c>), so a few hundred calls naming queues that do not exist take every
/// worker for a minute. Here the reply moves to a bounded retry queue instead, and one background
/// loop retries it with the same overall deadline (a client that reconnects declares its reply
/// queue again within seconds), backing off per queue so that garbage cannot flood the broker. The
/// retry queue holds at most <see cref="RpcServerSettings.ReplyRetryLimit"/> replies and
/// <see cref="RpcServerSettings.ReplyRetryBytes"/> bytes; the oldest are dropped first, each with a
/// warning naming its msg_id and queue. Queues abandoned recently are remembered (oslo: 60 s, 200
/// queues) and later replies to them dropped at once.
/// </summary>
internal sealed class RpcReplySender : IAsyncDisposable
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxRetryInterval = TimeSpan.FromSeconds(2);
    private const int RetryConcurrency = 8;

    private readonly ConfirmingPublisher _publisher;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly TimeSpan _deadline;
    private readonly int _limit;
    private readonly long _byteLimit;
    private readonly ObsoleteReplyQueues _obsolete = new();
    private readonly Lock _lock = new();
    private readonly LinkedList<PendingReply> _pending = new();
    private readonly Dictionary<string, QueueState> _queues = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _wake = new(0);
    private long _pendingBytes;
    private Task? _loop;

    public RpcReplySender(ConfirmingPublisher publisher, TimeSpan deadline, int limit, long byteLimit, ILogger logger, TimeProvider time)
    {
        _publisher = publisher;
        _deadline = deadline;
        _limit = limit;
        _byteLimit = byteLimit;
        _logger = logger;
        _time = time;
    }

    /// <summary>Replies waiting in the retry queue for their reply queue to appear.</summary>
    public int Pending
    {
        get
        {
            lock (_lock)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>
    /// Publishes a reply once; when its queue is missing, queues it for the background retries and
    /// returns at once. Only <paramref name="cancellationToken"/> (a stop that ran out of time) or a
    /// broker that cannot be reached keeps the caller here longer than one confirmed publish.
    /// </summary>
    public async Task SendAsync(string msgId, string replyQueue, byte[] body, CancellationToken cancellationToken)
    {
        if (_obsolete.Contains(replyQueue, _time.GetUtcNow()))
        {
            Log.ReplyDropped(_logger, replyQueue, msgId);
            return;
        }
        try
        {
            var outcome = await _publisher.PublishAsync(Reply(replyQueue, body), cancellationToken).ConfigureAwait(false);
            if (outcome == PublishOutcome.Routed)
            {
                QueueSeen(replyQueue);
                return;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return; // shutdown gave up on this request
        }
        catch (PublishUnconfirmedException ex)
        {
            Log.ReplyUnconfirmed(_logger, msgId, replyQueue, ex.Message);
            return;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.ReplyFailed(_logger, ex, msgId);
            return;
        }
        Log.ReplyQueueMissing(_logger, msgId, replyQueue);
        Enqueue(new PendingReply(msgId, replyQueue, body, _time.GetTimestamp()));
    }

    /// <summary>
    /// A reply as published: mandatory (a missing reply queue comes back as a return) and not
    /// published again once written (a second copy would answer the call twice).
    /// </summary>
    private static OutgoingMessage Reply(string replyQueue, byte[] body) =>
        new("", replyQueue, body, Mandatory: true, RetryUnconfirmed: false);

    /// <summary>A call-monitor heartbeat: sent once, never retried (the next one follows within seconds).</summary>
    public async ValueTask<bool> SendHeartbeatAsync(string msgId, string replyQueue, CancellationToken cancellationToken)
    {
        var outcome = await _publisher.PublishAsync(
            new OutgoingMessage("", replyQueue, RpcMessages.Heartbeat(msgId), Mandatory: true), cancellationToken).ConfigureAwait(false);
        return outcome == PublishOutcome.Routed;
    }

    private void Enqueue(PendingReply reply)
    {
        List<PendingReply>? dropped = null;
        lock (_lock)
        {
            if (_stop.IsCancellationRequested)
            {
                Log.ReplyDroppedAtStop(_logger, reply.MsgId, reply.ReplyQueue);
                return;
            }
            if (reply.Body.Length > _byteLimit)
            {
                (dropped = []).Add(reply);
            }
            else
            {
                _pending.AddLast(reply);
                _pendingBytes += reply.Body.Length;
                if (!_queues.TryGetValue(reply.ReplyQueue, out var queue))
                {
                    _queues[reply.ReplyQueue] = queue = new QueueState(_time.GetTimestamp() + Ticks(FirstRetry), FirstRetry);
                }
                queue.Count++;
                while (_pending.Count > _limit || _pendingBytes > _byteLimit)
                {
                    (dropped ??= []).Add(RemoveLocked(_pending.First!));
                }
                _loop ??= Task.Run(RetryLoopAsync);
            }
        }
        foreach (var lost in dropped ?? [])
        {
            Log.ReplyRetryOverflow(_logger, lost.MsgId, lost.ReplyQueue, _limit, _byteLimit);
        }
    }

    private PendingReply RemoveLocked(LinkedListNode<PendingReply> node)
    {
        var reply = node.Value;
        _pending.Remove(node);
        _pendingBytes -= reply.Body.Length;
        if (_queues.TryGetValue(reply.ReplyQueue, out var queue) && --queue.Count == 0)
        {
            _queues.Remove(reply.ReplyQueue);
        }
        return reply;
    }

    /// <summary>A reply reached <paramref name="replyQueue"/>: replies waiting for it are tried on the next round.</summary>
    private void QueueSeen(string replyQueue)
    {
        lock (_lock)
        {
            if (_queues.Count == 0 || !_queues.TryGetValue(replyQueue, out var queue))
            {
                return;
            }
            queue.NextAttempt = 0;
        }
        _wake.Release();
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    private async Task RetryLoopAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await RetryDueAsync(token).ConfigureAwait(false);
                // Woken early when a reply reached a queue others wait for; otherwise one round per FirstRetry.
                using (var round = new CancellationTokenSource(FirstRetry, _time))
                using (var either = CancellationTokenSource.CreateLinkedTokenSource(token, round.Token))
                {
                    try
                    {
                        await _wake.WaitAsync(either.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!token.IsCancellationRequested)
                    {
                        // The round's time is up.
                    }
                }
                while (_wake.Wait(0))
                {
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Log.ProcessingCrashed(_logger, ex);
            }
        }
    }

    /// <summary>One round: abandon what passed its deadline, then try each due queue with its oldest reply.</summary>
    private async Task RetryDueAsync(CancellationToken token)
    {
        var now = _time.GetTimestamp();
        var expired = new List<PendingReply>();
        var due = new List<string>();
        lock (_lock)
        {
            for (var node = _pending.First; node is not null;)
            {
                var next = node.Next;
                if (_time.GetElapsedTime(node.Value.Queued, now) >= _deadline)
                {
                    expired.Add(RemoveLocked(node));
                }
                node = next;
            }
            foreach (var (name, queue) in _queues)
            {
                if (queue.NextAttempt <= now)
                {
                    due.Add(name);
                }
            }
        }
        foreach (var reply in expired)
        {
            Log.ReplyAbandoned(_logger, reply.MsgId, (int)_deadline.TotalSeconds, reply.ReplyQueue);
            _obsolete.Add(reply.ReplyQueue, _time.GetUtcNow());
        }
        if (due.Count > 0)
        {
            await Parallel.ForEachAsync(due, new ParallelOptions { MaxDegreeOfParallelism = RetryConcurrency, CancellationToken = token },
                (queue, ct) => new ValueTask(RetryQueueAsync(queue, ct))).ConfigureAwait(false);
        }
    }

    /// <summary>Sends the replies waiting for <paramref name="replyQueue"/>, oldest first, until one comes back unroutable.</summary>
    private async Task RetryQueueAsync(string replyQueue, CancellationToken token)
    {
        while (true)
        {
            PendingReply? reply;
            lock (_lock)
            {
                reply = _pending.FirstOrDefault(r => r.ReplyQueue == replyQueue && !r.Sending);
                if (reply is null)
                {
                    return;
                }
                reply.Sending = true;
            }
            PublishOutcome outcome;
            try
            {
                outcome = await _publisher.PublishAsync(Reply(replyQueue, reply.Body), token)
                    .ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                throw;
            }
            catch (PublishUnconfirmedException ex)
            {
                // Perhaps delivered: done with it either way, as a second copy would answer the call twice.
                Log.ReplyUnconfirmed(_logger, reply.MsgId, replyQueue, ex.Message);
                outcome = PublishOutcome.Routed;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Log.ReplyFailed(_logger, ex, reply.MsgId);
                outcome = PublishOutcome.Returned; // tried again next round, until the deadline
            }
            lock (_lock)
            {
                reply.Sending = false;
                if (outcome == PublishOutcome.Routed)
                {
                    if (_pending.Find(reply) is { } node)
                    {
                        RemoveLocked(node);
                    }
                    continue;
                }
                if (_queues.TryGetValue(replyQueue, out var queue))
                {
                    queue.Interval = queue.Interval * 2 > MaxRetryInterval ? MaxRetryInterval : queue.Interval * 2;
                    queue.NextAttempt = _time.GetTimestamp() + Ticks(queue.Interval);
                }
            }
            Log.ReplyQueueMissing(_logger, reply.MsgId, replyQueue);
            return;
        }
    }

    /// <summary>Stops retrying; replies still waiting for their queue are dropped, each with a warning.</summary>
    public async ValueTask DisposeAsync()
    {
        List<PendingReply> left;
        lock (_lock)
        {
            if (_stop.IsCancellationRequested)
            {
                return;
            }
            _stop.Cancel();
            left = [.. _pending];
            _pending.Clear();
            _queues.Clear();
            _pendingBytes = 0;
        }
        if (_loop is { } loop)
        {
            await loop.ConfigureAwait(false);
        }
        foreach (var reply in left)
        {
            Log.ReplyDroppedAtStop(_logger, reply.MsgId, reply.ReplyQueue);
        }
        _stop.Dispose();
        _wake.Dispose();
    }

    private sealed class PendingReply(string msgId, string replyQueue, byte[] body, long queued)
    {
        public string MsgId { get; } = msgId;
        public string ReplyQueue { get; } = replyQueue;
        public byte[] Body { get; } = body;
        public long Queued { get; } = queued;
        public bool Sending { get; set; }
    }

    private sealed class QueueState(long nextAttempt, TimeSpan interval)
    {
        public long NextAttempt { get; set; } = nextAttempt;
        public TimeSpan Interval { get; set; } = interval;
        public int Count { get; set; }
    }

    /// <summary>Reply queues found missing recently (oslo: 60 s, at most 200).</summary>
    private sealed class ObsoleteReplyQueues
    {
        private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(60);
        private const int Capacity = 200;
        private readonly Lock _lock = new();
        private readonly Dictionary<string, DateTimeOffset> _queues = new(StringComparer.Ordinal);

        public bool Contains(string queue, DateTimeOffset now)
        {
            lock (_lock)
            {
                if (_queues.Count == 0 || !_queues.TryGetValue(queue, out var since))
                {
                    return false;
                }
                if (now - since < Ttl)
                {
                    return true;
                }
                _queues.Remove(queue);
                return false;
            }
        }

        public void Add(string queue, DateTimeOffset now)
        {
            lock (_lock)
            {
                if (_queues.Count >= Capacity)
                {
                    _queues.Remove(_queues.MinBy(kv => kv.Value).Key);
                }
                _queues[queue] = now;
            }
        }
    }
}
