using System.Text.Json;
using NovaCompute.Messaging.Rpc;
using NovaCompute.Tests.Messaging.Vectors;
using NovaCompute.Tests.Support;
using RabbitMQ.Client;

namespace NovaCompute.Tests.Messaging.Rpc;

[Parallelizable(ParallelScope.All)]
public class RpcClientTests
{
    private static readonly RequestContext Context = new() { UserId = "bench-user", ProjectId = "bench-project", IsAdmin = true };

    [Test]
    public async Task Call_NoReplyInTime_MessagingTimeoutWithOslosMessage()
    {
        await using var rig = await RpcTestRig.StartAsync();

        var ex = Assert.ThrowsAsync<MessagingTimeoutException>(() =>
            rig.Client(timeout: TimeSpan.FromSeconds(1)).CallAsync(Context, "block", new Dictionary<string, object?> { ["key"] = "late" }));

        Assert.That(ex!.Message, Does.Match("^Timed out waiting for a reply to message ID [0-9a-f]{32}$"));
        Assert.That(rig.Waiter.Waiting, Is.Zero, "the waiter forgets timed-out calls");
        rig.Endpoint.Open("late");
        await rig.Logs.WaitForAsync(e => e.EventId.Id == 4130, TimeSpan.FromSeconds(10));
    }

    [Test]
    public async Task Call_NoQueueBoundForTheKey_FailsAtOnceInsteadOfTimingOut()
    {
        await using var rig = await RpcTestRig.StartAsync();
        var client = rig.Client(server: "no-such-host", timeout: TimeSpan.FromSeconds(30));

        var started = DateTime.UtcNow;
        var ex = Assert.ThrowsAsync<MessageUndeliverableException>(() => client.CallAsync(Context, "add", new Dictionary<string, object?> { ["a"] = 1 }));

        Assert.That(ex!.RoutingKey, Is.EqualTo($"{rig.Topic}.no-such-host"));
        Assert.That(DateTime.UtcNow - started, Is.LessThan(TimeSpan.FromSeconds(10)));
    }

    [Test]
    public async Task Call_ThousandsAtOnce_AllAnsweredOverOneConnectionPair()
    {
        await using var rig = await RpcTestRig.StartAsync(s => s with { ExecutorThreadPoolSize = 32 });
        var client = rig.Client(timeout: TimeSpan.FromSeconds(120));

        var results = await Task.WhenAll(Enumerable.Range(0, 3000).Select(i =>
            client.CallAsync<int>(Context, "add", new Dictionary<string, object?> { ["a"] = i, ["b"] = 1 })));

        Assert.That(results, Is.EqualTo(Enumerable.Range(1, 3000).ToArray()));
        Assert.That(rig.Logs.Entries.Count(e => e.EventId.Id is 4000), Is.EqualTo(2), "one publish and one consume connection");
        Assert.That(rig.Logs.Entries.Count(e => e.EventId.Id is 4132), Is.EqualTo(1), "one reply queue");
    }

    [Test]
    public async Task Call_WithCallMonitor_HeartbeatsKeepALongCallAlive()
    {
        await using var rig = await RpcTestRig.StartAsync();
        // The server heartbeats every 2 s; 2 s of slack for a heartbeat's delivery on a loaded machine.
        var client = rig.Client(timeout: TimeSpan.FromSeconds(30)).Prepare(callMonitorTimeout: TimeSpan.FromSeconds(4));

        var result = await client.CallAsync<string>(Context, "slow", new Dictionary<string, object?> { ["secs"] = 7 });

        Assert.That(result, Is.EqualTo("done"));
        Assert.That(rig.Logs.Entries.Count(e => e.EventId.Id == 4134), Is.GreaterThanOrEqualTo(2));
    }

    [Test]
    public async Task Call_FanoutTarget_RejectedLikeOslo()
    {
        await using var rig = await RpcTestRig.StartAsync();

        var ex = Assert.ThrowsAsync<InvalidOperationException>(() => rig.Client().Prepare(fanout: true).CallAsync(Context, "add"));

        Assert.That(ex!.Message, Does.StartWith("A call cannot be used with fanout:"));
    }

    [Test]
    public async Task Call_VersionAboveCap_RefusedBeforeSending()
    {
        await using var rig = await RpcTestRig.StartAsync();
        var client = new RpcClient(rig.Waiter, new RpcTarget { Topic = rig.Topic, Version = "6.2" }, versionCap: "6.1");

        var ex = Assert.ThrowsAsync<InvalidOperationException>(() => client.CallAsync(Context, "add"));

        Assert.That(ex!.Message, Does.StartWith("Requested message version, 6.2 is incompatible."));
    }

    [Test]
    public void Prepare_UnparsableVersion_OslosMessage()
    {
        var ex = Assert.Throws<FormatException>(() => RpcVersion.Parse("six"));
        Assert.That(ex!.Message, Is.EqualTo("Version must contain a major and minor integer. Got six"));
    }

    [Test]
    public async Task CallAndCast_WireFormat_MatchesOsloCapture()
    {
        await using var rig = await RpcTestRig.StartAsync();
        using var capture = JsonDocument.Parse(File.ReadAllText(WireVectors.PathOf("wire-capture-oslo-python.json")));
        var published = capture.RootElement.GetProperty("published");
        var expectedCall = published[0];
        var expectedCast = published[2];
        var expectedFanout = published[3];

        // Queues of the test's own take what the client publishes, so nothing answers but us.
        var topic = RabbitTestBroker.UniqueName("wire");
        await using var connection = await RabbitTestBroker.RawConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        await channel.ExchangeDeclareAsync("nova", "topic");
        await channel.QueueDeclareAsync(topic, false, false, true);
        await channel.QueueBindAsync(topic, "nova", topic);
        await channel.ExchangeDeclareAsync($"{topic}_fanout", "fanout", false, true);
        await channel.QueueDeclareAsync(topic + "_fanout_test", false, false, true);
        await channel.QueueBindAsync(topic + "_fanout_test", $"{topic}_fanout", topic);

        var client = new RpcClient(rig.Waiter, new RpcTarget { Topic = topic, Namespace = "baseapi", Version = "1.0" }, timeout: TimeSpan.FromSeconds(60));
        var call = client.CallAsync(Context, "ping", new Dictionary<string, object?> { ["arg"] = new Dictionary<string, object?> { ["seq"] = 0, ["tag"] = "anchor" } });
        var request = await GetAsync(channel, topic);
        var plain = new RpcClient(rig.Waiter, new RpcTarget { Topic = topic, Version = "1.0" });
        await plain.CastAsync(Context, "sink", new Dictionary<string, object?> { ["seq"] = 0 });
        var cast = await GetAsync(channel, topic);
        await plain.Prepare(fanout: true).CastAsync(Context, "sink", new Dictionary<string, object?> { ["seq"] = 1 });
        var fanout = await GetAsync(channel, topic + "_fanout_test");

        AssertProperties(request, expectedCall, expiration: "60000");
        AssertProperties(cast, expectedCast, expiration: null);
        AssertProperties(fanout, expectedFanout, expiration: null);
        Assert.That(fanout.Exchange, Is.EqualTo($"{topic}_fanout"));
        Assert.That(fanout.RoutingKey, Is.EqualTo(""));

        var callMessage = Inner(request);
        RpcServerTests.AssertSameShape(callMessage.RootElement, expectedCall.GetProperty("oslo.message(decoded)"));
        Assert.That(callMessage.RootElement.GetProperty("_reply_q").GetString(), Does.Match("^reply_[0-9a-f]{32}$"));
        Assert.That(callMessage.RootElement.GetProperty("_msg_id").GetString(), Does.Match("^[0-9a-f]{32}$"));
        Assert.That(callMessage.RootElement.GetProperty("_context_request_id").GetString(), Is.EqualTo(Context.RequestId));
        Assert.That(callMessage.RootElement.GetProperty("_context_user_identity").GetString(), Is.EqualTo("bench-user bench-project - - -"));
        RpcServerTests.AssertSameShape(Inner(cast).RootElement, expectedCast.GetProperty("oslo.message(decoded)"));
        RpcServerTests.AssertSameShape(Inner(fanout).RootElement, expectedFanout.GetProperty("oslo.message(decoded)"));

        // Answer as the oslo server of the capture did, and the call returns its result.
        var reply = expectedCall.GetProperty("oslo.message(decoded)");
        var replyBody = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string>
        {
            ["oslo.version"] = "2.0",
            ["oslo.message"] = JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["result"] = new { service = "compute", arg = new { seq = 0, tag = "anchor" } },
                ["failure"] = null,
                ["ending"] = true,
                ["_msg_id"] = callMessage.RootElement.GetProperty("_msg_id").GetString(),
                ["_unique_id"] = Guid.NewGuid().ToString("N"),
            }),
        });
        Assert.That(reply.ValueKind, Is.EqualTo(JsonValueKind.Object));
        await channel.BasicPublishAsync("", callMessage.RootElement.GetProperty("_reply_q").GetString()!, replyBody);
        Assert.That((await call).GetRawText(), Is.EqualTo("""{"service":"compute","arg":{"seq":0,"tag":"anchor"}}"""));
    }

    private static void AssertProperties(BasicGetResult message, JsonElement expected, string? expiration)
    {
        var props = message.BasicProperties;
        var want = expected.GetProperty("properties");
        Assert.That(props.ContentType, Is.EqualTo(want.GetProperty("content_type").GetString()));
        Assert.That(props.ContentEncoding, Is.EqualTo(want.GetProperty("content_encoding").GetString()));
        Assert.That((int)props.DeliveryMode, Is.EqualTo(want.GetProperty("delivery_mode").GetInt32()));
        Assert.That(props.Priority, Is.EqualTo(want.GetProperty("priority").GetInt32()));
        Assert.That(props.Expiration, Is.EqualTo(expiration));
        Assert.That(props.Headers ?? new Dictionary<string, object?>(), Is.Empty, "oslo sends an empty header table");
        Assert.That(props.IsCorrelationIdPresent() || props.IsReplyToPresent() || props.IsMessageIdPresent(), Is.False,
            "RPC addressing travels in the body, never in AMQP properties");
    }

    private static JsonDocument Inner(BasicGetResult message)
    {
        using var outer = JsonDocument.Parse(message.Body);
        Assert.That(outer.RootElement.GetProperty("oslo.version").GetString(), Is.EqualTo("2.0"));
        return JsonDocument.Parse(outer.RootElement.GetProperty("oslo.message").GetString()!);
    }

    private static async Task<BasicGetResult> GetAsync(IChannel channel, string queue)
    {
        BasicGetResult? message = null;
        await Eventually.Until(async () => (message = await channel.BasicGetAsync(queue, autoAck: true)) is not null, TimeSpan.FromSeconds(10),
            () => $"a message in {queue}", poll: TimeSpan.FromMilliseconds(20));
        return message!;
    }
}
