using Microsoft.Extensions.Logging.Abstractions;
using NovaCompute.Messaging;
using NovaCompute.Messaging.Rpc;
using NovaCompute.Tests.Support;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace NovaCompute.Tests.Messaging.Rpc;

public class RpcChannelPoolTests
{
    [Test]
    public async Task Rent_ServersStartingTogether_DealtRoundRobinOverOneChannelPerFifty()
    {
        await using var transport = new RabbitTransport(RabbitTestBroker.Settings(RabbitTestBroker.UniqueName("nova-test")), NullLoggerFactory.Instance,
            TimeProvider.System);
        await using var pool = new RpcChannelPool(transport, expectedServers: 120, serversPerChannel: 50);

        var rented = new List<IChannel>();
        for (var i = 0; i < 120; i++)
        {
            rented.Add(await pool.RentAsync(CancellationToken.None));
        }

        Assert.That(pool.Count, Is.EqualTo(3));
        // Neighbours (the servers a bounded start runs at once) never share a channel.
        Assert.That(rented[0], Is.Not.SameAs(rented[1]).And.Not.SameAs(rented[2]));
        Assert.That(rented[1], Is.Not.SameAs(rented[2]));
        Assert.That(rented.GroupBy(c => c).Select(g => g.Count()), Is.EquivalentTo(new[] { 40, 40, 40 }));
    }

    [Test]
    public async Task Rent_ChannelClosedUnderThePool_ReplacedByANewOne()
    {
        await using var transport = new RabbitTransport(RabbitTestBroker.Settings(RabbitTestBroker.UniqueName("nova-test")), NullLoggerFactory.Instance,
            TimeProvider.System);
        await using var pool = new RpcChannelPool(transport, expectedServers: 10);

        var first = await pool.RentAsync(CancellationToken.None);
        await first.CloseAsync(CancellationToken.None);
        var second = await pool.RentAsync(CancellationToken.None);

        Assert.That(second, Is.Not.SameAs(first));
        Assert.That(second.IsOpen, Is.True);
        Assert.That(pool.Count, Is.EqualTo(2));
    }

    [Test]
    public async Task DeleteQueuesAsync_QueuesMarkedByStoppingServers_AllGoneFromTheBroker()
    {
        await using var transport = new RabbitTransport(RabbitTestBroker.Settings(RabbitTestBroker.UniqueName("nova-test")), NullLoggerFactory.Instance,
            TimeProvider.System);
        await using var pool = new RpcChannelPool(transport, expectedServers: 10);
        var queues = await DeclareQueuesAsync(25);
        foreach (var queue in queues)
        {
            pool.DeleteOnClose(queue);
        }

        var deleted = await pool.DeleteQueuesAsync(CancellationToken.None);

        Assert.That(deleted, Is.EqualTo(25));
        Assert.That(pool.QueuesToDelete, Is.Zero);
        Assert.That((await RabbitTestBroker.QueueNamesAsync()).Intersect(queues), Is.Empty);
    }

    [Test]
    public async Task DeleteQueuesAsync_OutOfTime_LeavesTheRestToExpireAndSaysHowManyWent()
    {
        await using var transport = new RabbitTransport(RabbitTestBroker.Settings(RabbitTestBroker.UniqueName("nova-test")), NullLoggerFactory.Instance,
            TimeProvider.System);
        var queues = await DeclareQueuesAsync(5);
        await using (var pool = new RpcChannelPool(transport, expectedServers: 10))
        {
            foreach (var queue in queues)
            {
                pool.DeleteOnClose(queue);
            }

            var deleted = await pool.DeleteQueuesAsync(new CancellationToken(canceled: true));

            Assert.That(deleted, Is.Zero);
            Assert.That(pool.QueuesToDelete, Is.EqualTo(5));
        }
        // Closing the pool does not delete them behind the caller's deadline either.
        Assert.That((await RabbitTestBroker.QueueNamesAsync()).Intersect(queues), Is.EquivalentTo(queues));
        await DeleteAsync(queues);
    }

    [Test]
    public async Task CloseConsumeChannelsAsync_UnacknowledgedDelivery_RequeuedAndEverySubscriptionEnded()
    {
        await using var transport = new RabbitTransport(RabbitTestBroker.Settings(RabbitTestBroker.UniqueName("nova-test")), NullLoggerFactory.Instance,
            TimeProvider.System);
        await using var pool = new RpcChannelPool(transport, expectedServers: 100, serversPerChannel: 50);
        var queues = await DeclareQueuesAsync(2);
        var delivered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        foreach (var queue in queues)
        {
            var channel = await pool.RentAsync(CancellationToken.None);
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += (_, _) =>
            {
                delivered.TrySetResult(); // taken, never acknowledged: a server that began to stop
                return Task.CompletedTask;
            };
            await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
        }
        await using (var connection = await RabbitTestBroker.RawConnectionAsync())
        await using (var publisher = await connection.CreateChannelAsync())
        {
            await publisher.BasicPublishAsync("", queues[0], "request"u8.ToArray());
        }
        await delivered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        await pool.CloseConsumeChannelsAsync();

        var listing = await RabbitTestBroker.RabbitmqctlAsync("list_queues", "-p", TestServices.RabbitVhost, "name", "messages_ready", "consumers",
            "--formatter", "json");
        using var document = System.Text.Json.JsonDocument.Parse(listing);
        var rows = document.RootElement.EnumerateArray().Where(q => queues.Contains(q.GetProperty("name").GetString()!))
            .ToDictionary(q => q.GetProperty("name").GetString()!, q => (Ready: q.GetProperty("messages_ready").GetInt32(), Consumers: q.GetProperty("consumers").GetInt32()));
        Assert.That(rows[queues[0]], Is.EqualTo((Ready: 1, Consumers: 0)), "the delivery no server acknowledged is back in its queue");
        Assert.That(rows[queues[1]].Consumers, Is.Zero);
        await DeleteAsync(queues);
    }

    private static async Task<List<string>> DeclareQueuesAsync(int count)
    {
        var queues = Enumerable.Range(0, count).Select(_ => RabbitTestBroker.UniqueName("pool-q")).ToList();
        await using var connection = await RabbitTestBroker.RawConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        foreach (var queue in queues)
        {
            await channel.QueueDeclareAsync(queue, durable: false, exclusive: false, autoDelete: false);
        }
        return queues;
    }

    private static async Task DeleteAsync(IEnumerable<string> queues)
    {
        await using var connection = await RabbitTestBroker.RawConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        foreach (var queue in queues)
        {
            await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false);
        }
    }
}
