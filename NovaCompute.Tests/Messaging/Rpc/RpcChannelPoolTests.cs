using Microsoft.Extensions.Logging.Abstractions;
using NovaCompute.Messaging;
using NovaCompute.Messaging.Rpc;
using NovaCompute.Tests.Support;
using RabbitMQ.Client;

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
}
