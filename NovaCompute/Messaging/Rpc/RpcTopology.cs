using RabbitMQ.Client;

namespace NovaCompute.Messaging.Rpc;

/// <summary>
/// The exchanges, queues and bindings of oslo's rabbit driver for <c>Target(topic, server)</c>
/// (oslo_messaging/_drivers/impl_rabbit.py, <c>declare_topic_consumer</c> and
/// <c>declare_fanout_consumer</c>): <c>&lt;topic&gt;</c> and <c>&lt;topic&gt;.&lt;server&gt;</c> on the
/// control exchange, and a queue of this process's own on <c>&lt;topic&gt;_fanout</c>. One place
/// declares them, at start and again when the broker cancels a subscription.
/// </summary>
internal sealed class RpcTopology(RabbitSettings rabbit, RpcServerSettings settings)
{
    public string Exchange => rabbit.ControlExchange;

    public string Topic => settings.Topic;

    public string ServerQueue { get; } = $"{settings.Topic}.{settings.Server}";

    public string FanoutExchange { get; } = $"{settings.Topic}_fanout";

    /// <summary>This process's fanout queue, <c>&lt;topic&gt;_fanout_&lt;uuid hex&gt;</c>.</summary>
    public string FanoutQueue { get; } = $"{settings.Topic}_fanout_{RpcEnvelope.NewId()}";

    /// <summary>The queues consumed, in the order they are declared.</summary>
    public IReadOnlyList<string> Queues => [Topic, ServerQueue, FanoutQueue];

    /// <summary>The broker's prefetch per consumer: <c>rabbit_qos_prefetch_count</c>, or the worker count when unset.</summary>
    public ushort Prefetch => (ushort)(rabbit.RabbitQosPrefetchCount > 0 ? rabbit.RabbitQosPrefetchCount : settings.ExecutorThreadPoolSize);

    // oslo's Consumer.declare (impl_rabbit.py) passes these on every subscription, the first and
    // each one after a reconnect: a mirrored queue's failover then cancels the consumer, which
    // subscribes again.
    private Dictionary<string, object?>? ConsumerArguments => rabbit.EnableCancelOnFailover
        ? new Dictionary<string, object?> { ["x-cancel-on-ha-failover"] = true }
        : null;

    /// <summary>
    /// Everything at start: each exchange once, then its queues and bindings. What every server of
    /// the process declares alike goes through <paramref name="shared"/> when there is one.
    /// </summary>
    public async Task DeclareAllAsync(IChannel channel, StartDeclarations? shared, CancellationToken cancellationToken)
    {
        Task Shared(string key, Func<Task> declare) => shared is null ? declare() : shared.OnceAsync(key, declare);

        await Shared("exchange " + Exchange, () => DeclareExchangeAsync(channel, fanout: false, cancellationToken)).ConfigureAwait(false);
        await Shared("queue " + Topic, () => DeclareQueueAsync(channel, Topic, cancellationToken)).ConfigureAwait(false);
        await DeclareQueueAsync(channel, ServerQueue, cancellationToken).ConfigureAwait(false);
        await Shared("exchange " + FanoutExchange, () => DeclareExchangeAsync(channel, fanout: true, cancellationToken)).ConfigureAwait(false);
        await DeclareQueueAsync(channel, FanoutQueue, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One queue with its exchange and binding, as kombu's <c>Consumer.declare</c> does before consuming again.</summary>
    public async Task DeclareAsync(IChannel channel, string queue, CancellationToken cancellationToken)
    {
        await DeclareExchangeAsync(channel, fanout: queue == FanoutQueue, cancellationToken).ConfigureAwait(false);
        await DeclareQueueAsync(channel, queue, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Subscribes <paramref name="consumer"/> to <paramref name="queue"/>; returns the consumer tag.</summary>
    public Task<string> ConsumeAsync(IChannel channel, string queue, IAsyncBasicConsumer consumer, CancellationToken cancellationToken) =>
        channel.BasicConsumeAsync(queue, autoAck: false, consumerTag: "", noLocal: false, exclusive: false,
            ConsumerArguments, consumer, cancellationToken);

    private Task DeclareExchangeAsync(IChannel channel, bool fanout, CancellationToken cancellationToken) => fanout
        ? channel.ExchangeDeclareAsync(FanoutExchange, ExchangeType.Fanout, durable: false, autoDelete: true, cancellationToken: cancellationToken)
        : channel.ExchangeDeclareAsync(Exchange, ExchangeType.Topic, rabbit.TopicDurable, rabbit.AmqpAutoDelete, cancellationToken: cancellationToken);

    private async Task DeclareQueueAsync(IChannel channel, string queue, CancellationToken cancellationToken)
    {
        if (queue == FanoutQueue)
        {
            await channel.QueueDeclareAsync(queue, durable: false, exclusive: false, autoDelete: false,
                rabbit.TransientQueueArguments(), cancellationToken: cancellationToken).ConfigureAwait(false);
            await channel.QueueBindAsync(queue, FanoutExchange, Topic, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await channel.QueueDeclareAsync(queue, rabbit.TopicDurable, exclusive: false, rabbit.AmqpAutoDelete,
                rabbit.TopicQueueArguments(), cancellationToken: cancellationToken).ConfigureAwait(false);
            await channel.QueueBindAsync(queue, Exchange, queue, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }
}
