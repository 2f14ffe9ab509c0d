using System.Net;
using System.Net.Sockets;
using NovaCompute.Messaging;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Messaging;

public class RabbitConnectionKeeperTests
{
    [Test]
    public async Task GetAsync_BrokerDownAtStart_RetriesWithOslosBackoffThenConnects()
    {
        var real = TransportUrl.Parse(TestServices.TransportUrl);
        var broker = real.Hosts[0];
        await using var forwarder = new TcpForwarder(broker.Host, broker.Port ?? 5672);
        var settings = RabbitTestBroker.Settings() with
        {
            TransportUrl = TransportUrl.Parse($"rabbit://{broker.UserName}:{broker.Password}@127.0.0.1:{forwarder.Port}/{real.VirtualHost}"),
            RabbitRetryInterval = 1,
            RabbitRetryBackoff = 2,
            RabbitIntervalMax = 4,
        };
        var logs = new LogCollector();
        using var factory = logs.CreateFactory();
        var time = new FakeTimeProvider();
        await using var keeper = new RabbitConnectionKeeper(settings, "consume", factory.CreateLogger("test"), time);

        var connecting = keeper.GetAsync(CancellationToken.None).AsTask();
        var delays = new List<double>();
        for (var attempt = 1; attempt <= 4; attempt++)
        {
            await logs.WaitForAsync(e => e.EventId.Id == 4001 && logs.Entries.Count(x => x.EventId.Id == 4001) >= attempt);
            await time.WaitForTimersAsync();
            var last = logs.Entries.Where(e => e.EventId.Id == 4001).Last();
            delays.Add((double)last.Properties["RetryIn"]!);
            Assert.That(last.Message, Does.Contain($"127.0.0.1:{forwarder.Port}").And.Not.Contain(broker.Password!));
            if (attempt == 4)
            {
                forwarder.Start();
            }
            time.Advance(TimeSpan.FromSeconds(delays[^1]));
        }
        var connection = await connecting.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.That(delays, Is.EqualTo(new[] { 1.0, 3.0, 4.0, 4.0 }), "1, +2, capped at rabbit_interval_max (kombu would overshoot to 5)");
        Assert.That(connection.IsOpen, Is.True);
        Assert.That(connection.ClientProvidedName, Is.EqualTo(keeper.ConnectionName));
        Assert.That(keeper.ConnectionName, Does.Match($"^{settings.ConnectionNamePrefix}:{Environment.ProcessId}:[0-9a-f]{{32}}$"));
        await logs.WaitForAsync(e => e.EventId.Id == 4000);
    }

    [Test]
    public async Task GetAsync_CancelledWhileRetrying_GivesUp()
    {
        await using var forwarder = new TcpForwarder("127.0.0.1", 1);
        var settings = new RabbitSettings { TransportUrl = TransportUrl.Parse($"rabbit://u:p@127.0.0.1:{forwarder.Port}/") };
        var logs = new LogCollector();
        using var factory = logs.CreateFactory();
        var time = new FakeTimeProvider();
        await using var keeper = new RabbitConnectionKeeper(settings, "publish", factory.CreateLogger("test"), time);
        using var cts = new CancellationTokenSource();

        var connecting = keeper.GetAsync(cts.Token).AsTask();
        await logs.WaitForAsync(e => e.EventId.Id == 4001);
        await cts.CancelAsync();

        Assert.That(async () => await connecting.WaitAsync(TimeSpan.FromSeconds(10)), Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public async Task GetAsync_CancelledWhileTheBrokerHasNotAnsweredTheHandshake_GivesUpAtOnce()
    {
        // A broker that accepted the TCP connection but says nothing (overloaded, or paused): SIGTERM
        // then must not wait for RabbitMQ.Client's handshake to give up by itself.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var settings = new RabbitSettings { TransportUrl = TransportUrl.Parse($"rabbit://u:p@127.0.0.1:{port}/") };
        var logs = new LogCollector();
        using var factory = logs.CreateFactory();
        await using var keeper = new RabbitConnectionKeeper(settings, "publish", factory.CreateLogger("test"), TimeProvider.System);
        using var cts = new CancellationTokenSource();

        var connecting = keeper.GetAsync(cts.Token).AsTask();
        using var accepted = await silent.AcceptTcpClientAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await Task.Delay(200);
        await cts.CancelAsync();

        Assert.That(async () => await connecting.WaitAsync(TimeSpan.FromSeconds(2)), Throws.InstanceOf<OperationCanceledException>(),
            "RabbitMQ.Client waits for the handshake whatever its token says; a stop request must not");
        Assert.That(await ReadToEndAsync(accepted), Is.True, "the attempt given up on closed its socket");
    }

    [Test]
    public async Task GetAsync_BrokerAcceptsButNeverAnswers_GivesTheAttemptUpAndTriesAgain()
    {
        // A stopped broker node: the kernel still accepts TCP connections into its listen backlog.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var settings = new RabbitSettings { TransportUrl = TransportUrl.Parse($"rabbit://u:p@127.0.0.1:{port}/"), RabbitRetryInterval = 1 };
        var logs = new LogCollector();
        using var factory = logs.CreateFactory();
        await using var keeper = new RabbitConnectionKeeper(settings, "publish", factory.CreateLogger("test"), TimeProvider.System);
        using var cts = new CancellationTokenSource();
        var timeout = RabbitConnectionKeeper.AttemptTimeout(keeper.CreateFactory(), 1);

        var connecting = keeper.GetAsync(cts.Token).AsTask();
        using var first = await silent.AcceptTcpClientAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var failed = await logs.WaitForAsync(e => e.EventId.Id == 4001, timeout + TimeSpan.FromSeconds(30));
        Assert.That(failed.Message, Does.Contain("no AMQP handshake within").And.Contain($"127.0.0.1:{port}"));
        Assert.That(await ReadToEndAsync(first), Is.True, "the attempt given up on closed its socket");
        using var second = await silent.AcceptTcpClientAsync().WaitAsync(TimeSpan.FromSeconds(30));

        await cts.CancelAsync();
        Assert.That(async () => await connecting.WaitAsync(TimeSpan.FromSeconds(5)), Throws.InstanceOf<OperationCanceledException>());
    }

    /// <summary>True once the peer closed (end of stream) within 30 s; what it sent before is skipped.</summary>
    private static async Task<bool> ReadToEndAsync(TcpClient client)
    {
        var buffer = new byte[64];
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            while (await client.GetStream().ReadAsync(buffer, patience.Token) > 0)
            {
            }
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    [Test]
    public async Task ConnectionLost_ConnectionFirstOpenedInsideARequestScope_LogsWithoutThatRequestsContext()
    {
        var real = TransportUrl.Parse(TestServices.TransportUrl);
        var broker = real.Hosts[0];
        var forwarder = new TcpForwarder(broker.Host, broker.Port ?? 5672);
        forwarder.Start();
        var settings = RabbitTestBroker.Settings() with
        {
            TransportUrl = TransportUrl.Parse($"rabbit://{broker.UserName}:{broker.Password}@127.0.0.1:{forwarder.Port}/{real.VirtualHost}"),
            RabbitRetryInterval = 1,
        };
        var logs = new LogCollector();
        using var factory = logs.CreateFactory();
        var logger = factory.CreateLogger("test");
        await using var keeper = new RabbitConnectionKeeper(settings, "publish", logger, TimeProvider.System);

        // As the RPC dispatcher does: the first call that publishes opens the connection inside its scope.
        using (logger.BeginScope(new Dictionary<string, object?> { ["RequestId"] = "req-first-caller", ["UserId"] = "first-user" }))
        {
            await keeper.GetAsync(CancellationToken.None);
        }
        await forwarder.DisposeAsync();
        var lost = await logs.WaitForAsync(e => e.EventId.Id == 4002, TimeSpan.FromSeconds(30));

        Assert.That(lost.Scope.Keys, Has.No.Member("RequestId").And.No.Member("UserId"),
            "a reconnect line minutes later must not name the request that opened the connection");
    }

    [Test]
    public async Task Recovered_HandlerRemovedBeforeTheConnectionCameBack_OnlyTheRemainingOnesRun()
    {
        var prefix = RabbitTestBroker.UniqueName("nova-test");
        await using var keeper = new RabbitConnectionKeeper(RabbitTestBroker.Settings(prefix) with { RabbitRetryInterval = 1 }, "consume",
            new LogCollector().CreateFactory().CreateLogger("test"), TimeProvider.System);
        await keeper.GetAsync(CancellationToken.None);
        var kept = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var removedRan = 0;
        Func<Task> removed = () =>
        {
            Interlocked.Increment(ref removedRan);
            return Task.CompletedTask;
        };
        keeper.Recovered += removed;
        keeper.Recovered += () =>
        {
            kept.TrySetResult();
            return Task.CompletedTask;
        };
        keeper.Recovered -= removed;

        Assert.That(await RabbitTestBroker.CloseConnectionsAsync(prefix), Is.EqualTo(1));
        await kept.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.That(removedRan, Is.Zero);
    }
}
