using Microsoft.Extensions.Logging;
using RabbitMQ.Client;

namespace NovaCompute.Messaging.Rpc;

/// <summary>
/// From a delivery to a worker. Each delivery waits for one of <c>executor_thread_pool_size</c>
/// workers and is acknowledged when one takes it (oslo's at-most-once semantics: a request is
/// acknowledged before it runs, oslo_messaging/_drivers/amqpdriver.py <c>AMQPListener</c>), while
/// the broker's prefetch holds the rest in the queue, where oslo would pull the whole queue into
/// memory. Counts what waits and what runs, for the drain on stop and for the watchdog.
/// </summary>
internal sealed class RpcIntake : IDisposable
{
    private readonly RpcServerSettings _settings;
    private readonly RpcRequestHandler _handler;
    private readonly MemoryReclaimer _memory;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _workers;
    private readonly CancellationTokenSource _stopTaking = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DeliveryIntake<Delivery>? _batched;
    private IChannel? _batchedChannel;
    private int _inFlight;
    private int _waitingForWorker;
    private long _lastProgress;
    private volatile bool _stopping;

    public RpcIntake(RpcServerSettings settings, RpcRequestHandler handler, ILogger logger, TimeProvider time)
    {
        _settings = settings;
        _handler = handler;
        _logger = logger;
        _time = time;
        _memory = new MemoryReclaimer(time, logger);
        _workers = new SemaphoreSlim(settings.ExecutorThreadPoolSize, settings.ExecutorThreadPoolSize);
        _lastProgress = time.GetTimestamp();
        Stopped = _stopTaking.Token; // taken once: still usable (cancelled) after Dispose
    }

    /// <summary>Requests being handled right now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Acknowledgement frames sent for the deliveries of a channel of the server's own (one per batch that arrived together).</summary>
    public long AcknowledgementFrames => _batched?.Acks ?? 0;

    /// <summary>
    /// Deliveries of <paramref name="channel"/> (a channel of this server's own, dispatching one
    /// delivery at a time) are acknowledged in batches by a <see cref="DeliveryIntake{T}"/>; a
    /// channel shared with other servers, whose tags interleave with ours, keeps one
    /// acknowledgement per delivery.
    /// </summary>
    public void AcknowledgeInBatches(IChannel channel)
    {
        _batchedChannel = channel;
        _batched = new DeliveryIntake<Delivery>(channel, _workers, WorkerTaken, Start, _ => Finish(), () => _stopping, _logger, Stopped);
    }

    /// <summary>Deliveries waiting for a worker.</summary>
    public int WaitingForWorker => Volatile.Read(ref _waitingForWorker);

    /// <summary>Time since a worker last started or finished a request.</summary>
    public TimeSpan SinceProgress => _time.GetElapsedTime(Interlocked.Read(ref _lastProgress));

    /// <summary>Set once the server stops: deliveries are left unacknowledged, nothing subscribes again.</summary>
    public bool IsStopping => _stopping;

    /// <summary>Fires when the server stops taking deliveries (waits for a worker and retry delays end).</summary>
    public CancellationToken Stopped { get; }

    /// <summary>
    /// Called on the channel's dispatch loop for each delivery: on a batched channel it is queued
    /// and the call returns at once; otherwise it returns once a worker took and acknowledged it.
    /// </summary>
    public async Task DeliverAsync(IChannel channel, string queue, ulong deliveryTag, ReadOnlyMemory<byte> body)
    {
        if (_stopping)
        {
            return; // left unacknowledged: the broker requeues it when the channel closes
        }
        // The delivery's memory belongs to the client only until this callback returns. An oversized
        // body is never copied: only the reply address is taken from it, so the client's buffer goes
        // back to its pool at once and nothing else of it stays alive.
        byte[]? copy = null;
        RpcRequestHandler.Refusal? refusal = null;
        if (body.Length > _settings.MaxMessageBytes)
        {
            var problem = new RpcMessageProblem(RpcMessageFault.TooLarge,
                $"message of {body.Length} bytes exceeds the limit of {_settings.MaxMessageBytes} bytes");
            refusal = new RpcRequestHandler.Refusal(problem, RpcEnvelope.FindReplyAddress(body.Span) is var (msgId, replyQueue)
                ? new ReplyAddress(msgId, replyQueue)
                : null);
            Log.BadMessage(_logger, problem.Description, queue, body.Length);
            _memory.Reclaim(body.Length);
        }
        else
        {
            copy = body.ToArray();
        }
        var delivery = new Delivery(queue, copy, refusal);
        if (_batched is { } batched && ReferenceEquals(channel, _batchedChannel))
        {
            Interlocked.Increment(ref _waitingForWorker);
            batched.Add(deliveryTag, delivery);
            return;
        }
        if (!await TakeWorkerAsync(channel, deliveryTag).ConfigureAwait(false))
        {
            return;
        }
        Start(delivery);
    }

    /// <summary>A delivery copied out of the client's buffer, or, when oversized, only what its refusal needs.</summary>
    private sealed record Delivery(string Queue, byte[]? Body, RpcRequestHandler.Refusal? Refusal);

    /// <summary>A batched delivery got its worker (before its acknowledgement).</summary>
    private void WorkerTaken(Delivery delivery)
    {
        Interlocked.Decrement(ref _waitingForWorker);
        Interlocked.Exchange(ref _lastProgress, _time.GetTimestamp());
        Interlocked.Increment(ref _inFlight);
    }

    /// <summary>Runs an acknowledged delivery on a worker; the worker is given back when it ends.</summary>
    private void Start(Delivery delivery) => _ = Task.Run(async () =>
    {
        try
        {
            await (delivery.Body is { } body ? _handler.ProcessAsync(delivery.Queue, body) : _handler.RefuseAsync(delivery.Refusal!)).ConfigureAwait(false);
        }
        finally
        {
            Finish();
        }
    });

    /// <summary>Waits for a worker and acknowledges the delivery; true when the caller now holds a worker and must <see cref="Finish"/>.</summary>
    private async Task<bool> TakeWorkerAsync(IChannel channel, ulong deliveryTag)
    {
        Interlocked.Increment(ref _waitingForWorker);
        try
        {
            await _workers.WaitAsync(Stopped).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        finally
        {
            Interlocked.Decrement(ref _waitingForWorker);
        }
        Interlocked.Exchange(ref _lastProgress, _time.GetTimestamp());
        Interlocked.Increment(ref _inFlight);
        if (_stopping)
        {
            Finish();
            return false;
        }
        try
        {
            await channel.BasicAckAsync(deliveryTag, multiple: false, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (BrokerError.IsGone(ex))
        {
            // Not acknowledged means the broker delivers it again after recovery: handling it now would run it twice.
            Log.AckFailed(_logger, ex.Message);
            Finish();
            return false;
        }
        return true;
    }

    private void Finish()
    {
        Interlocked.Exchange(ref _lastProgress, _time.GetTimestamp());
        _workers.Release();
        if (Interlocked.Decrement(ref _inFlight) == 0 && _stopping)
        {
            _drained.TrySetResult();
        }
    }

    /// <summary>First step of a stop: deliveries from now on are left unacknowledged.</summary>
    public void BeginStop() => _stopping = true;

    /// <summary>Once the consumers are cancelled: deliveries still waiting for a worker give up (unacknowledged).</summary>
    public Task StopTakingAsync() => _stopTaking.CancelAsync();

    /// <summary>Waits for the running requests to finish, up to <paramref name="grace"/> (zero: as long as they take); false when some still run.</summary>
    public async Task<bool> DrainAsync(TimeSpan grace, CancellationToken cancellationToken)
    {
        if (InFlight == 0)
        {
            return true;
        }
        try
        {
            var drained = _drained.Task;
            if (grace > TimeSpan.Zero)
            {
                drained = drained.WaitAsync(grace, _time);
            }
            await drained.WaitAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            return false;
        }
    }

    public void Dispose() => _stopTaking.Dispose();
}
