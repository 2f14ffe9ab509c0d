using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;

namespace NovaCompute.Messaging.Rpc;

/// <summary>
/// The RPC listener: oslo's <c>RPCServer</c> for <c>Target(topic, server)</c> with the rabbit driver.
/// <see cref="StartAsync"/> declares the exchanges and queues exactly as oslo does and subscribes
/// before returning, so the host's READY=1 means "RPC is being served". Stop drains running
/// requests (and sends their replies) within the graceful-shutdown timeout. The parts, each in a
/// class of its own: <see cref="RpcTopology"/> (what is declared, at start and on resubscription),
/// <see cref="RpcQueueConsumer"/> (one subscription, resubscribed when the broker cancels it),
/// <see cref="RpcIntake"/> (worker limit, acknowledgement, drain), <see cref="RpcRequestHandler"/>
/// (validation by <see cref="RpcRequestReader"/>, dispatch, replies by <see cref="RpcReplySender"/>)
/// and <see cref="RpcWorkerWatchdog"/>.
/// </summary>
public sealed class RpcServer : IHostedService, IAsyncDisposable
{
    private readonly RabbitTransport _transport;
    private readonly RpcServerSettings _settings;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly RpcTopology _topology;
    private readonly RpcRequestHandler _handler;
    private readonly RpcIntake _intake;
    private readonly List<RpcQueueConsumer> _consumers = [];
    private readonly RpcChannelPool? _sharedChannels;
    private IChannel? _channel;
    private int _state; // 0 new, 1 started, 2 stopped
    private int _stopBegun;

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
        _logger = logger;
        _time = time ?? transport.Time;
        _topology = new RpcTopology(transport.Settings, settings);
        _handler = new RpcRequestHandler(transport, settings, dispatcher, logger, _time);
        _intake = new RpcIntake(settings, _handler, logger, _time);
        Watchdog = new RpcWorkerWatchdog(_intake, settings);
    }

    public string Exchange => _topology.Exchange;

    public string Topic => _topology.Topic;

    public string ServerQueue => _topology.ServerQueue;

    public string FanoutExchange => _topology.FanoutExchange;

    /// <summary>This process's fanout queue, <c>&lt;topic&gt;_fanout_&lt;uuid hex&gt;</c>.</summary>
    public string FanoutQueue => _topology.FanoutQueue;

    /// <summary>Replies waiting in the retry queue for their reply queue to appear.</summary>
    public int RepliesWaitingForQueue => _handler.RepliesWaitingForQueue;

    /// <summary>Requests being handled right now.</summary>
    public int InFlight => _intake.InFlight;

    /// <summary>Acknowledgement frames sent for deliveries on the server's own channel (one per batch that arrived together).</summary>
    internal long AcknowledgementFrames => _intake.AcknowledgementFrames;

    /// <summary>The systemd watchdog's check that the listener is not wedged.</summary>
    public Systemd.IWatchdogCheck Watchdog { get; }

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
        if (_sharedChannels is null)
        {
            _intake.AcknowledgeInBatches(channel);
        }

        await _topology.DeclareAllAsync(channel, _sharedChannels?.Declarations, cancellationToken).ConfigureAwait(false);
        await channel.BasicQosAsync(0, _topology.Prefetch, global: false, cancellationToken).ConfigureAwait(false);
        var retryInterval = TimeSpan.FromSeconds(Math.Max(1, _transport.Settings.RabbitRetryInterval));
        foreach (var queue in _topology.Queues)
        {
            var consumer = new RpcQueueConsumer(channel, queue, _topology, _intake, _settings, retryInterval, _logger, _time);
            _consumers.Add(consumer);
            await consumer.SubscribeAsync(cancellationToken).ConfigureAwait(false);
        }
        _transport.ConsumeConnection.Recovered += OnRecoveredAsync;
        Log.Listening(_logger, Exchange, Topic, _settings.Server, FanoutQueue, _settings.ExecutorThreadPoolSize, _topology.Prefetch);
    }

    private Task OnRecoveredAsync()
    {
        if (!_intake.IsStopping)
        {
            Log.ConsumingAgain(_logger, Topic, _settings.Server);
        }
        return Task.CompletedTask;
    }

    /// <summary>
    /// The first step of <see cref="StopAsync"/>: deliveries from now on are left unacknowledged
    /// (the broker requeues them when the channel closes) and nothing subscribes again. A fleet
    /// takes this step for all its servers before closing their shared channels.
    /// </summary>
    public void BeginStop()
    {
        if (Volatile.Read(ref _state) != 0 && Interlocked.Exchange(ref _stopBegun, 1) == 0)
        {
            _intake.BeginStop();
            _transport.ConsumeConnection.Recovered -= OnRecoveredAsync;
        }
    }

    /// <summary>Stops consuming, waits for running requests to finish and reply (up to the graceful timeout), then closes the channel.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _state, 2) != 1)
        {
            return;
        }
        BeginStop();
        var channel = _channel!;
        foreach (var consumer in _consumers)
        {
            // A shared channel may already be closed by its pool (a fleet stopping at once): that ended the subscriptions.
            if (consumer.Tag is { } tag && channel.IsOpen)
            {
                try
                {
                    await channel.BasicCancelAsync(tag, noWait: false, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (BrokerError.IsGone(ex) || ex is OperationCanceledException)
                {
                    // The channel is gone; nothing more will be delivered anyway.
                }
            }
        }
        await _intake.StopTakingAsync().ConfigureAwait(false);

        Log.Stopping(_logger, Topic, _settings.Server, _settings.GracefulShutdownTimeout.TotalSeconds, InFlight);
        if (!await _intake.DrainAsync(_settings.GracefulShutdownTimeout, cancellationToken).ConfigureAwait(false))
        {
            Log.Abandoned(_logger, Topic, _settings.Server, InFlight);
            await _handler.AbandonAsync().ConfigureAwait(false);
        }

        await _handler.DropWaitingRepliesAsync().ConfigureAwait(false);
        try
        {
            // oslo deletes the fanout queue when the listener closes; its x-expires is only the fallback.
            if (_sharedChannels is { } pool)
            {
                pool.DeleteOnClose(FanoutQueue);
            }
            else
            {
                await channel.QueueDeleteAsync(FanoutQueue, ifUnused: false, ifEmpty: false, cancellationToken: CancellationToken.None).ConfigureAwait(false);
                await channel.CloseAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (BrokerError.IsGone(ex))
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
        await _handler.DisposeAsync().ConfigureAwait(false);
        _intake.Dispose();
    }
}
