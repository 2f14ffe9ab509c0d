using System.Text.Json;
using NovaCompute.Messaging.Rpc;
using NovaCompute.Tests.Messaging.Vectors;
using NovaCompute.Tests.Support;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace NovaCompute.Tests.Messaging.Rpc;

public partial class RpcServerTests
{
    [Test]
    public async Task Recovery_BrokerDropsConnectionsUnderLoad_ServerAnswersNewCallsWithoutRestart()
    {
        await using var rig = await RpcTestRig.StartAsync();
        var client = rig.Client(timeout: TimeSpan.FromSeconds(5));
        using var stopLoad = new CancellationTokenSource();
        var succeeded = 0;
        var failed = 0;
        var load = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (!stopLoad.IsCancellationRequested)
            {
                try
                {
                    await client.CallAsync<int>(Context, "add", new Dictionary<string, object?> { ["a"] = 1 });
                    Interlocked.Increment(ref succeeded);
                }
                catch (Exception ex) when (ex is MessagingTimeoutException or RemoteException or OperationCanceledException
                    or RabbitMQ.Client.Exceptions.AlreadyClosedException or RabbitMQ.Client.Exceptions.OperationInterruptedException)
                {
                    Interlocked.Increment(ref failed);
                }
            }
        })).ToList();
        await Eventually.Until(() => Volatile.Read(ref succeeded) >= 50, TimeSpan.FromSeconds(30), () => $"50 calls answered under load ({succeeded})");

        // The broker is shared with other engineers' test runs, so the node itself cannot be
        // restarted; force-closing this test's connections is what the broker does to every client
        // when it goes down, and drives the same recovery path.
        var closed = await RabbitTestBroker.CloseConnectionsAsync(rig.ConnectionPrefix);
        Assert.That(closed, Is.EqualTo(2), "the publish and the consume connection");

        await rig.Logs.WaitForAsync(e => e.EventId.Id == 4002, TimeSpan.FromSeconds(30));
        await rig.Logs.WaitForAsync(e => e.EventId.Id == 4101, TimeSpan.FromSeconds(30));
        var beforeCheck = Volatile.Read(ref succeeded);
        var fresh = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            rig.Client(timeout: TimeSpan.FromSeconds(15)).CallAsync<int>(Context, "add", new Dictionary<string, object?> { ["a"] = i, ["b"] = 0 })));
        Assert.That(fresh, Is.EqualTo(Enumerable.Range(0, 20).ToArray()));

        // The load's own callers may each still be waiting out the 5 s timeout of a call whose
        // reply went down with the closed connection; the fresh calls can all be answered before
        // any of them asks again, so wait for the load's next answer rather than sampling it.
        await Eventually.Until(() => Volatile.Read(ref succeeded) > beforeCheck, TimeSpan.FromSeconds(30),
            () => $"the load itself to be answered again ({succeeded} answered, {failed} failed)");
        await stopLoad.CancelAsync();
        await Task.WhenAll(load);

        Assert.That(rig.Logs.Entries.Count(e => e.EventId.Id == 4003), Is.EqualTo(2), "both connections logged their reconnect");
    }

    [Test]
    public async Task Recovery_BrokerDropsConnectionsWhileACallRuns_NewCallsAnsweredBeforeItEnds()
    {
        // A running call must not hold up recovery or the calls that come after it (RabbitMQ.Client
        // waits for running consumer callbacks when a channel shuts down, so this matters to any
        // design that handles requests inside the callback).
        await using var rig = await RpcTestRig.StartAsync();
        var running = rig.Client(timeout: TimeSpan.FromSeconds(60)).CallAsync<string>(Context, "block", new Dictionary<string, object?> { ["key"] = "outlives" });
        await Eventually.Until(() => Volatile.Read(ref rig.Endpoint.Started) >= 1, what: () => "the call to run");

        Assert.That(await RabbitTestBroker.CloseConnectionsAsync(rig.ConnectionPrefix), Is.EqualTo(2));
        await rig.Logs.WaitForAsync(e => e.EventId.Id == 4101, TimeSpan.FromSeconds(30));
        var fresh = await rig.Client(timeout: TimeSpan.FromSeconds(15)).CallAsync<int>(Context, "add", new Dictionary<string, object?> { ["a"] = 41 });

        Assert.That(fresh, Is.EqualTo(42));
        Assert.That(running.IsCompleted, Is.False, "the first call is still running");
        rig.Endpoint.Open("outlives");
        Assert.That(await running, Is.EqualTo("outlives"), "acknowledged before the drop, so it finishes and replies");
    }

    [Test]
    public async Task Reply_WireFormat_MatchesOsloCapture()
    {
        await using var rig = await RpcTestRig.StartAsync();
        using var capture = JsonDocument.Parse(File.ReadAllText(WireVectors.PathOf("wire-example.json")));
        var expected = capture.RootElement.GetProperty("call_ping").GetProperty("reply");
        await using var connection = await RabbitTestBroker.RawConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var replyQueue = "reply_" + Guid.NewGuid().ToString("N");
        await channel.QueueDeclareAsync(replyQueue, false, false, true);
        var received = new TaskCompletionSource<BasicDeliverEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, args) =>
        {
            received.TrySetResult(new BasicDeliverEventArgs(args.ConsumerTag, args.DeliveryTag, args.Redelivered, args.Exchange,
                args.RoutingKey, args.BasicProperties, args.Body.ToArray()));
            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(replyQueue, true, consumer);

        // The captured request, re-addressed to this test's server and reply queue.
        var request = JsonDocument.Parse(capture.RootElement.GetProperty("call_ping").GetProperty("request").GetProperty("oslo.message(decoded)").GetRawText());
        var message = request.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value.Clone());
        message["_reply_q"] = replyQueue;
        message["_msg_id"] = Guid.NewGuid().ToString("N");
        message["_unique_id"] = Guid.NewGuid().ToString("N");
        var body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["oslo.version"] = "2.0", ["oslo.message"] = JsonSerializer.Serialize(message) });
        await channel.BasicPublishAsync("nova", $"{rig.Topic}.{rig.Host}", body);

        var reply = await received.Task.WaitAsync(TimeSpan.FromSeconds(15));
        var props = reply.BasicProperties;
        Assert.That(reply.Exchange, Is.EqualTo(expected.GetProperty("exchange").GetString()));
        Assert.That(reply.RoutingKey, Is.EqualTo(replyQueue));
        Assert.That(props.ContentType, Is.EqualTo("application/json"));
        Assert.That(props.ContentEncoding, Is.EqualTo("utf-8"));
        Assert.That((int)props.DeliveryMode, Is.EqualTo(2));
        Assert.That(props.Priority, Is.EqualTo(0));
        Assert.That(props.Expiration, Is.Null);
        Assert.That(props.Headers ?? new Dictionary<string, object?>(), Is.Empty);
        using var outer = JsonDocument.Parse(reply.Body);
        Assert.That(outer.RootElement.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "oslo.version", "oslo.message" }));
        using var inner = JsonDocument.Parse(outer.RootElement.GetProperty("oslo.message").GetString()!);
        AssertSameShape(inner.RootElement, expected.GetProperty("oslo.message(decoded)"));
        Assert.That(inner.RootElement.GetProperty("_msg_id").GetString(), Is.EqualTo(message["_msg_id"]));
        Assert.That(inner.RootElement.GetProperty("_unique_id").GetString(), Does.Match("^[0-9a-f]{32}$"));
        Assert.That(inner.RootElement.GetProperty("result").GetRawText(), Is.EqualTo("""{"service":"compute","arg":{"seq":0,"tag":"anchor"}}"""));
    }

    /// <summary>Same keys (order aside) and the same JSON kinds for each key.</summary>
    internal static void AssertSameShape(JsonElement actual, JsonElement expected)
    {
        var actualKeys = actual.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind);
        var expectedKeys = expected.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind);
        Assert.That(actualKeys.Keys, Is.EquivalentTo(expectedKeys.Keys));
        foreach (var (key, kind) in expectedKeys)
        {
            var actualKind = actualKeys[key];
            var equivalent = kind == actualKind || (kind is JsonValueKind.True or JsonValueKind.False && actualKind is JsonValueKind.True or JsonValueKind.False);
            Assert.That(equivalent, Is.True, $"{key}: expected a {kind}, got a {actualKind}");
        }
    }
}
