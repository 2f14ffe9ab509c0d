using Microsoft.Extensions.Logging;
using RabbitMQ.Client;

namespace NovaCompute.Messaging.Rpc;

/// <summary>
/// One of the server's subscriptions. Deliveries go to the intake; when the broker cancels the
/// subscription (queue deleted, HA failover) it declares its queue again and subscribes again,
/// retrying every <c>rabbit_retry_interval</c> until that works or the server stops.
/// </summary>
internal sealed class RpcQueueConsumer(IChannel channel, string queue, RpcTopology topology, RpcIntake intake,
    RpcServerSettings settings, TimeSpan retryInterval, ILogger logger, TimeProvider time) : AsyncDefaultBasicConsumer(channel)
{
    /// <summary>The broker's tag for the current subscription; null before the first.</summary>
    public string? Tag { get; private set; }

    public string Queue => queue;

    public async Task SubscribeAsync(CancellationToken cancellationToken) =>
        Tag = await topology.ConsumeAsync(Channel, queue, this, cancellationToken).ConfigureAwait(false);

    public override Task HandleBasicDeliverAsync(string consumerTag, ulong deliveryTag, bool redelivered, string exchange,
        string routingKey, IReadOnlyBasicProperties properties, ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default) =>
        intake.DeliverAsync(Channel, queue, deliveryTag, body);

    public override async Task HandleBasicCancelAsync(string consumerTag, CancellationToken cancellationToken = default)
    {
        await base.HandleBasicCancelAsync(consumerTag, cancellationToken).ConfigureAwait(false);
        if (!intake.IsStopping)
        {
            Log.ConsumerCancelled(logger, settings.Topic, settings.Server, consumerTag, queue);
            _ = Task.Run(ResubscribeAsync);
        }
    }

    private async Task ResubscribeAsync()
    {
        while (!intake.IsStopping)
        {
            try
            {
                await topology.DeclareAsync(Channel, queue, CancellationToken.None).ConfigureAwait(false);
                await SubscribeAsync(CancellationToken.None).ConfigureAwait(false);
                Log.ConsumingAgain(logger, settings.Topic, settings.Server);
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Log.ResubscribeFailed(logger, ex, settings.Topic, settings.Server, queue, retryInterval.TotalSeconds);
            }
            try
            {
                await Task.Delay(retryInterval, time, intake.Stopped).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
