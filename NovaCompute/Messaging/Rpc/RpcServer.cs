using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace NovaCompute.Messaging.Rpc;

/// <summary>
/// The RPC listener: oslo's <c>RPCServer</c> for <c>Target(topic, server)</c> with the rabbit driver.
/// <see cref="StartAsync"/> declares the exchanges and queues exactly as oslo does and subscribes
/// before returning, so the host's READY=1 means "RPC is being served". Requests are acknowledged
/// when a worker takes them (oslo's at-most-once semantics) but only
/// <see cref="RpcServerSettings.ExecutorThreadPoolSize"/> run at once and the broker's prefetch
/// holds the rest in the queue, where oslo would pull the whole queue into memory. Stop drains
/// running requests (and sends their replies) within the graceful-shutdown timeout.
/// </summary>
public sealed class RpcServer : IHostedService, IAsyncDisposable, Systemd.IWatchdogCheck
{
    private readonly RabbitTransport _transport;
    private readonly RpcServerSettings _settings;
    private readonly RpcDispatcher _dispatcher;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _workers;
    private readonly DuplicateFilter _duplicates;
    private readonly RpcReplySender _replies;
    private readonly MemoryReclaimer _memory;
    private readonly CancellationTokenSource _stopConsuming = new();
    private readonly CancellationTokenSource _abandon = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<QueueConsumer> _consumers = [];
    private readonly RpcChannelPool? _sharedChannels;
    private IChannel? _channel;
    private DeliveryIntake<Delivery>? _intake;
    private int _inFlight;
    private int _waitingForWorker;
    private long _lastProgress;
    private volatile bool _stopping;
    private int _state; // 0 new, 1 started, 2 stopped

    /// <param name="sharedChannels">When given, the server consumes on a channel shared with other servers of this process and leaves it open on stop.</param>
    public RpcServer(RabbitTransport transport, RpcServerSettings settings, RpcDispatcher dispatcher, ILogger<RpcServer> logger, TimeProvider? time = null,
        RpcChannelPool? sharedChannels = null)
    {
        var errors = settings.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(Environment.NewLine, errors), nameof(settings));
        }
        _transport = transport;
        _sharedChannels = sharedChannels;
        _settings = settings;
        _dispatcher = dispatcher;
        _logger = logger;
        _time = time ?? transport.Time;
        _workers = new SemaphoreSlim(settings.ExecutorThreadPoolSize, settings.ExecutorThreadPoolSize);
        _duplicates = new DuplicateFilter(settings.DuplicateWindow);
        _replies = new RpcReplySender(transport.Publisher, TimeSpan.FromSeconds(transport.Settings.KombuMissingConsumerRetryTimeout),
            settings.ReplyRetryLimit, settings.ReplyRetryBytes, logger, _time);
        _memory = new MemoryReclaimer(_time, logger);
        _lastProgress = _time.GetTimestamp();
        FanoutQueue = $"{settings.Topic}_fanout_{RpcEnvelope.NewId()}";
    }

    public string Exchange => _transport.Settings.ControlExchange;

    public string Topic => _settings.Topic;

    public string ServerQueue => $"{_settings.Topic}.{_settings.Server}";

    public string FanoutExchange => $"{_settings.Topic}_fanout";

    /// <summary>This process's fanout queue, <c>&lt;topic&gt;_fanout_&lt;uuid hex&gt;</c>.</summary>
    public string FanoutQueue { get; }

    /// <summary>Replies waiting in the retry queue for their reply queue to appear.</summary>
    public int RepliesWaitingForQueue => _replies.Pending;

    /// <summary>Acknowledgement frames sent for deliveries on the server's own channel (one per batch that arrived together).</summary>
    internal long AcknowledgementFrames => _intake?.Acks ?? 0;

    /// <summary>Requests being handled right now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    string Systemd.IWatchdogCheck.Name => "rpc listener";

    /// <summary>
    /// For the systemd watchdog: the listener is wedged when deliveries wait for a worker and no
    /// worker has started or finished anything for twice <c>rpc_response_timeout</c> (at least 2 min):
    /// every caller times out by then. Busy workers or an unreachable broker (the connection keeper
    /// reconnects) are not wedged.
    /// </summary>
    string? Systemd.IWatchdogCheck.Problem(DateTimeOffset now)
    {
        var waiting = Volatile.Read(ref _waitingForWorker);
        if (waiting == 0)
        {
            return null;
        }
        var stalled = _time.GetElapsedTime(Interlocked.Read(ref _lastProgress));
        var limit = TimeSpan.FromSeconds(Math.Max(120, 2 * _settings.RpcResponseTimeout.TotalSeconds));
        return stalled > limit
            ? $"{waiting} request(s) waiting for a worker and all {_settings.ExecutorThreadPoolSize} busy without progress for {stalled.TotalSeconds:0} s"
            : null;
    }

    /// <summary>Declares oslo's topology and starts consuming; returns once the broker confirmed every subscription.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            return;
        }
        IChannel channel;
        if (_sharedChannels is not null)
        {
            channel = await _sharedChannels.RentAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var connection = await _transport.ConsumeConnection.GetAsync(cancellationToken).ConfigureAwait(false);
            channel = await connection.CreateChannelAsync(
                new CreateChannelOptions(publisherConfirmationsEnabled: false, publisherConfirmationTrackingEnabled: false, consumerDispatchConcurrency: 1),
                cancellationToken).ConfigureAwait(false);
        }
        _channel = channel;

        var rabbit = _transport.Settings;
        await channel.ExchangeDeclareAsync(Exchange, ExchangeType.Topic, rabbit.TopicDurable, rabbit.AmqpAutoDelete,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        foreach (var queue in new[] { Topic, ServerQueue })
        {
            await channel.QueueDeclareAsync(queue, rabbit.TopicDurable, exclusive: false, rabbit.AmqpAutoDelete,
                rabbit.TopicQueueArguments(), cancellationToken: cancellationToken).ConfigureAwait(false);
            await channel.QueueBindAsync(queue, Exchange, queue, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        await channel.ExchangeDeclareAsync(FanoutExchange, ExchangeType.Fanout, durable: false, autoDelete: true,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        await channel.QueueDeclareAsync(FanoutQueue, durable: false, exclusive: false, autoDelete: false,
            rabbit.TransientQueueArguments(), cancellationToken: cancellationToken).ConfigureAwait(false);
        await channel.QueueBindAsync(FanoutQueue, FanoutExchange, Topic, cancellationToken: cancellationToken).ConfigureAwait(false);

        var prefetch = (ushort)(rabbit.RabbitQosPrefetchCount > 0 ? rabbit.RabbitQosPrefetchCount : _settings.ExecutorThreadPoolSize);
        await channel.BasicQosAsync(0, prefetch, global: false, cancellationToken).ConfigureAwait(false);

        if (_sharedChannels is null)
        {
            _intake = new DeliveryIntake<Delivery>(channel, _workers, _ => WorkerTaken(), Run, _ => Finish(), () => _stopping, _logger, _stopConsuming.Token);
        }
        var consumerArguments = rabbit.EnableCancelOnFailover
            ? new Dictionary<string, object?> { ["x-cancel-on-ha-failover"] = true }
            : null;
        foreach (var queue in new[] { Topic, ServerQueue, FanoutQueue })
        {
            var consumer = new QueueConsumer(this, channel, queue, isFanout: queue == FanoutQueue);
            _consumers.Add(consumer);
            consumer.Tag = await channel.BasicConsumeAsync(queue, autoAck: false, consumerTag: "", noLocal: false, exclusive: false,
                consumerArguments, consumer, cancellationToken).ConfigureAwait(false);
        }
        _transport.ConsumeConnection.Recovered += OnRecoveredAsync;
        Log.Listening(_logger, Exchange, Topic, _settings.Server, FanoutQueue, _settings.ExecutorThreadPoolSize, prefetch);
    }

    private Task OnRecoveredAsync()
    {
        if (!_stopping)
        {
            Log.ConsumingAgain(_logger, Topic, _settings.Server);
        }
        return Task.CompletedTask;
    }

    /// <summary>Stops consuming, waits for running requests to finish and reply (up to the graceful timeout), then closes the channel.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _state, 2) != 1)
        {
            return;
        }
        _stopping = true;
        _transport.ConsumeConnection.Recovered -= OnRecoveredAsync;
        var channel = _channel!;
        foreach (var consumer in _consumers)
        {
            if (consumer.Tag is { } tag)
            {
                try
                {
                    await channel.BasicCancelAsync(tag, noWait: false, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException or IOException or TimeoutException or OperationCanceledException)
                {
                    // The channel is gone; nothing more will be delivered anyway.
                }
            }
        }
        await _stopConsuming.CancelAsync().ConfigureAwait(false);

        var running = InFlight;
        Log.Stopping(_logger, Topic, _settings.Server, _settings.GracefulShutdownTimeout.TotalSeconds, running);
        if (running > 0)
        {
            try
            {
                var drained = _drained.Task;
                if (_settings.GracefulShutdownTimeout > TimeSpan.Zero)
                {
                    drained = drained.WaitAsync(_settings.GracefulShutdownTimeout, _time);
                }
                await drained.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
            {
                Log.Abandoned(_logger, Topic, _settings.Server, InFlight);
                await _abandon.CancelAsync().ConfigureAwait(false);
            }
        }

        // Replies still waiting for a reply queue are dropped (and logged): waiting up to a minute for
        // a client that may never come back would hold up every stop.
        await _replies.DisposeAsync().ConfigureAwait(false);
        try
        {
            // oslo deletes the fanout queue when the listener closes; its x-expires is only the fallback.
            await channel.QueueDeleteAsync(FanoutQueue, ifUnused: false, ifEmpty: false, cancellationToken: CancellationToken.None).ConfigureAwait(false);
            if (_sharedChannels is null)
            {
                await channel.CloseAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException or IOException or TimeoutException)
        {
            // Broker gone: the queue expires by itself.
        }
        Log.Stopped(_logger, Topic, _settings.Server);
    }

    public async ValueTask DisposeAsync()
    {
        if (Volatile.Read(ref _state) == 1)
        {
            await StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
        if (_channel is { } channel && _sharedChannels is null)
        {
            await channel.DisposeAsync().ConfigureAwait(false);
        }
        await _replies.DisposeAsync().ConfigureAwait(false);
        _stopConsuming.Dispose();
        _abandon.Dispose();
    }

    /// <summary>
    /// Called on the channel's dispatch loop for each delivery. On a channel of its own the
    /// delivery goes to the <see cref="DeliveryIntake{T}"/>, which acknowledges deliveries that
    /// arrived together with one frame; on a channel shared with other servers (whose tags
    /// interleave with ours) each is acknowledged on its own once a worker took it.
    /// </summary>
    private Task OnDeliveryAsync(IChannel channel, string queue, ulong deliveryTag, ReadOnlyMemory<byte> body)
    {
        if (_stopping)
        {
            return Task.CompletedTask; // left unacknowledged: the broker requeues it when the channel closes
        }
        var delivery = Receive(queue, body);
        Interlocked.Increment(ref _waitingForWorker);
        if (_intake is { } intake)
        {
            intake.Add(deliveryTag, delivery);
            return Task.CompletedTask;
        }
        return AcknowledgeAloneAsync(channel, deliveryTag, delivery);
    }

    /// <summary>
    /// The delivery's memory belongs to the client only until the callback returns. An oversized
    /// body is never copied: only the reply address is taken from it, so the client's buffer goes
    /// back to its pool at once and nothing else of it stays alive.
    /// </summary>
    private Delivery Receive(string queue, ReadOnlyMemory<byte> body)
    {
        if (body.Length <= _settings.MaxMessageBytes)
        {
            return new Delivery(queue, body.ToArray(), null);
        }
        var oversized = new OversizedMessage(queue, body.Length, RpcEnvelope.FindReplyAddress(body.Span));
        Log.BadMessage(_logger, $"message of {body.Length} bytes exceeds the limit of {_settings.MaxMessageBytes} bytes", queue, body.Length);
        _memory.Reclaim(body.Length);
        return new Delivery(queue, null, oversized);
    }

    private async Task AcknowledgeAloneAsync(IChannel channel, ulong deliveryTag, Delivery delivery)
    {
        try
        {
            await _workers.WaitAsync(_stopConsuming.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Interlocked.Decrement(ref _waitingForWorker);
            return;
        }
        WorkerTaken();
        if (_stopping)
        {
            Finish();
            return;
        }
        try
        {
            await channel.BasicAckAsync(deliveryTag, multiple: false, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException or IOException or TimeoutException)
        {
            // Not acknowledged means the broker delivers it again after recovery: handling it now would run it twice.
            Log.AckFailed(_logger, ex.Message);
            Finish();
            return;
        }
        Run(delivery);
    }

    private void WorkerTaken()
    {
        Interlocked.Decrement(ref _waitingForWorker);
        Interlocked.Exchange(ref _lastProgress, _time.GetTimestamp());
        Interlocked.Increment(ref _inFlight);
    }

    private void Run(Delivery delivery) =>
        _ = delivery.Body is { } body ? Task.Run(() => ProcessAsync(delivery.Queue, body)) : Task.Run(() => RefuseOversizedAsync(delivery.Oversized!));

    /// <summary>A delivery copied out of the client's buffer (or, when oversized, only its reply address).</summary>
    private sealed record Delivery(string Queue, byte[]? Body, OversizedMessage? Oversized);

    private sealed record OversizedMessage(string Queue, int Bytes, (string MsgId, string ReplyQueue)? ReplyAddress);

    private async Task RefuseOversizedAsync(OversizedMessage message)
    {
        try
        {
            if (message.ReplyAddress is var (msgId, replyQueue))
            {
                await ReplyAsync(msgId, replyQueue, null,
                    FailureText($"message of {message.Bytes} bytes exceeds the limit of {_settings.MaxMessageBytes} bytes", "ValueError", "builtins"),
                    null).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.ProcessingCrashed(_logger, ex);
        }
        finally
        {
            Finish();
        }
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

    private async Task ProcessAsync(string queue, byte[] body)
    {
        OpenedMessage? message = null;
        try
        {
            if (!RpcEnvelope.TryOpen(body, out message, out var problem))
            {
                var unsupportedEnvelope = problem!.StartsWith("Specified RPC envelope version", StringComparison.Ordinal);
                await RefuseAsync(queue, body, problem, unsupportedEnvelope ? "UnsupportedRpcEnvelopeVersion" : "ValueError",
                    unsupportedEnvelope ? "oslo_messaging._drivers.common" : "builtins", message).ConfigureAwait(false);
                return;
            }
            await HandleAsync(queue, body.Length, message!).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.ProcessingCrashed(_logger, ex);
        }
        finally
        {
            message?.Dispose();
            Finish();
        }
    }

    private async Task HandleAsync(string queue, int size, OpenedMessage message)
    {
        var root = message.Root;
        var msgId = RpcEnvelope.StringOrNull(root, "_msg_id"u8);
        var replyQueue = RpcEnvelope.StringOrNull(root, "_reply_q"u8);
        var isCall = msgId is not null && replyQueue is not null;
        string? problem = null;
        string? method = null;
        if (!root.TryGetProperty("method"u8, out var methodElement) || methodElement.ValueKind != JsonValueKind.String ||
            methodElement.ValueEquals(""u8))
        {
            problem = "the request has no method";
        }
        else if ((method = RpcEnvelope.TextOrNull(methodElement)) is null)
        {
            problem = "the request's method is not valid text";
        }
        else if (root.TryGetProperty("args"u8, out var argsElement) && argsElement.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
        {
            problem = $"the request's args are a JSON {argsElement.ValueKind}, not an object";
        }
        if (problem is not null)
        {
            Log.BadMessage(_logger, problem, queue, size);
            if (isCall)
            {
                await ReplyAsync(msgId!, replyQueue!, null, FailureText(problem, "ValueError", "builtins"), null).ConfigureAwait(false);
            }
            return;
        }

        RequestContext context;
        try
        {
            context = RequestContext.FromMessage(root);
        }
        catch (InvalidOperationException ex)
        {
            // A _context_ value with escapes that are not valid text.
            Log.BadMessage(_logger, $"the request context is unreadable: {ex.Message}", queue, size);
            if (isCall)
            {
                await ReplyAsync(msgId!, replyQueue!, null, FailureText($"the request context is unreadable: {ex.Message}", "ValueError", "builtins"), null).ConfigureAwait(false);
            }
            return;
        }
        var uniqueId = RpcEnvelope.StringOrNull(root, "_unique_id"u8);
        if (uniqueId is not null && !_duplicates.TryAdd(uniqueId))
        {
            Log.Duplicate(_logger, msgId, uniqueId);
            return;
        }
        using var scope = _logger.BeginScope(context.LogScope());
        if (isCall)
        {
            Log.ReceivedCall(_logger, msgId!, replyQueue!);
        }
        else
        {
            Log.ReceivedCast(_logger, uniqueId);
        }

        var started = _time.GetTimestamp();
        double? monitorTimeout = root.TryGetProperty("_timeout"u8, out var t) && t.ValueKind == JsonValueKind.Number ? t.GetDouble() : null;
        var monitor = isCall
            ? CallMonitor.Start(monitorTimeout, ct => _replies.SendHeartbeatAsync(msgId!, replyQueue!, ct), method!, _time, _logger)
            : null;
        object? result = null;
        string? failure = null;
        try
        {
            root.TryGetProperty("args"u8, out var args);
            var request = new RpcRequest(method!, args, RpcEnvelope.StringOrNull(root, "namespace"u8),
                RpcEnvelope.StringOrNull(root, "version"u8), context);
            result = await _dispatcher.DispatchInScopeAsync(request, _abandon.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_abandon.IsCancellationRequested)
        {
            return; // cut short by a stop that ran out of time; counted in the "abandoned" warning
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogFailure(ex);
            failure = RpcFailure.Serialize(ex, _dispatcher.Serializer, context);
        }
        finally
        {
            if (monitor is not null)
            {
                await monitor.DisposeAsync().ConfigureAwait(false);
            }
        }

        if (isCall && !_abandon.IsCancellationRequested)
        {
            Log.SendingReply(_logger, msgId!, replyQueue!, _time.GetElapsedTime(started).TotalSeconds);
            await ReplyAsync(msgId!, replyQueue!, result, failure, context).ConfigureAwait(false);
        }
    }

    private void LogFailure(Exception ex)
    {
        switch (ex)
        {
            case NoSuchMethodException or UnsupportedVersionException or RpcArgumentException:
                Log.DispatchFailed(_logger, ex);
                break;
            case RemoteException remote:
                // Thrown on purpose by the endpoint: oslo's expected_exceptions.
                Log.ExpectedException(_logger, $"{remote.QualifiedName}: {remote.Message}");
                break;
            default:
                Log.DispatchFailed(_logger, ex);
                break;
        }
    }

    /// <summary>Logs a message that cannot be handled and, when it says where, answers the caller with an error.</summary>
    private async Task RefuseAsync(string queue, byte[] body, string problem, string errorClass, string errorModule, OpenedMessage? partial = null)
    {
        Log.BadMessage(_logger, problem, queue, body.Length);
        try
        {
            if (partial is not null &&
                RpcEnvelope.StringOrNull(partial.Root, "_msg_id"u8) is { } msgId &&
                RpcEnvelope.StringOrNull(partial.Root, "_reply_q"u8) is { } replyQueue)
            {
                await ReplyAsync(msgId, replyQueue, null, FailureText(problem, errorClass, errorModule), null).ConfigureAwait(false);
            }
        }
        finally
        {
            partial?.Dispose();
        }
    }

    private string FailureText(string problem, string errorClass, string errorModule) =>
        RpcFailure.Serialize(new RemoteException(errorClass, errorModule, problem), _dispatcher.Serializer, null);

    private async Task ReplyAsync(string msgId, string replyQueue, object? result, string? failure, RequestContext? context)
    {
        byte[] body;
        try
        {
            body = RpcMessages.Reply(msgId, result, failure, ending: true, _dispatcher.Serializer, context);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The result could not be serialized: the caller gets that error instead of a timeout.
            Log.DispatchFailed(_logger, ex);
            body = RpcMessages.Reply(msgId, null, RpcFailure.Serialize(ex, _dispatcher.Serializer, context), ending: true, _dispatcher.Serializer, context);
        }
        await _replies.SendAsync(msgId, replyQueue, body, _abandon.Token).ConfigureAwait(false);
    }

    /// <summary>One subscription; deliveries go to the server, broker cancellations are logged and resubscribed.</summary>
    private sealed class QueueConsumer(RpcServer server, IChannel channel, string queue, bool isFanout) : AsyncDefaultBasicConsumer(channel)
    {
        public string? Tag { get; set; }

        public string Queue => queue;

        public bool IsFanout => isFanout;

        public override Task HandleBasicDeliverAsync(string consumerTag, ulong deliveryTag, bool redelivered, string exchange,
            string routingKey, IReadOnlyBasicProperties properties, ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default) =>
            server.OnDeliveryAsync(Channel, queue, deliveryTag, body);

        public override async Task HandleBasicCancelAsync(string consumerTag, CancellationToken cancellationToken = default)
        {
            await base.HandleBasicCancelAsync(consumerTag, cancellationToken).ConfigureAwait(false);
            if (!server._stopping)
            {
                // The broker cancelled us (queue deleted, HA failover): declare and subscribe again.
                Log.ConsumerCancelled(server._logger, server.Topic, server._settings.Server, consumerTag, queue);
                _ = Task.Run(() => server.ResubscribeAsync(this));
            }
        }
    }

    private async Task ResubscribeAsync(QueueConsumer consumer)
    {
        var delay = TimeSpan.FromSeconds(Math.Max(1, _transport.Settings.RabbitRetryInterval));
        var rabbit = _transport.Settings;
        while (!_stopping)
        {
            try
            {
                var channel = _channel!;
                var queue = consumer.Queue;
                if (consumer.IsFanout)
                {
                    await channel.ExchangeDeclareAsync(FanoutExchange, ExchangeType.Fanout, durable: false, autoDelete: true).ConfigureAwait(false);
                    await channel.QueueDeclareAsync(queue, durable: false, exclusive: false, autoDelete: false, rabbit.TransientQueueArguments()).ConfigureAwait(false);
                    await channel.QueueBindAsync(queue, FanoutExchange, Topic).ConfigureAwait(false);
                }
                else
                {
                    await channel.ExchangeDeclareAsync(Exchange, ExchangeType.Topic, rabbit.TopicDurable, rabbit.AmqpAutoDelete).ConfigureAwait(false);
                    await channel.QueueDeclareAsync(queue, rabbit.TopicDurable, exclusive: false, rabbit.AmqpAutoDelete, rabbit.TopicQueueArguments()).ConfigureAwait(false);
                    await channel.QueueBindAsync(queue, Exchange, queue).ConfigureAwait(false);
                }
                consumer.Tag = await channel.BasicConsumeAsync(queue, autoAck: false, consumer).ConfigureAwait(false);
                Log.ConsumingAgain(_logger, Topic, _settings.Server);
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Log.ResubscribeFailed(_logger, ex, Topic, _settings.Server, consumer.Queue, delay.TotalSeconds);
            }
            try
            {
                await Task.Delay(delay, _time, _stopConsuming.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
