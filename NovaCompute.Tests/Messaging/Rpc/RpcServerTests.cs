using System.Text.Json;
using NovaCompute.Messaging.Rpc;
using NovaCompute.Tests.Support;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace NovaCompute.Tests.Messaging.Rpc;

[Parallelizable(ParallelScope.All)]
public partial class RpcServerTests
{
    private static readonly RequestContext Context = new()
    {
        UserId = "u1",
        ProjectId = "p1",
        IsAdmin = true,
        Roles = ["admin", "member"],
        AuthToken = "secret-token",
        GlobalRequestId = "req-99999999-2222-3333-4444-555555555555",
    };

    [Test]
    public async Task Start_DeclaresOsloTopology_WithOslosFlagsAndArguments()
    {
        await using var rig = await RpcTestRig.StartAsync();

        var exchange = await RabbitTestBroker.ExchangeAsync("nova");
        Assert.That(exchange, Is.EqualTo(("topic", false, false)));
        var fanoutExchange = await RabbitTestBroker.ExchangeAsync($"{rig.Topic}_fanout");
        Assert.That(fanoutExchange, Is.EqualTo(("fanout", false, true)));

        var topic = await RabbitTestBroker.QueueAsync(rig.Topic);
        var server = await RabbitTestBroker.QueueAsync($"{rig.Topic}.{rig.Host}");
        var fanout = await RabbitTestBroker.QueueAsync(rig.Server.FanoutQueue);
        Assert.Multiple(() =>
        {
            Assert.That(topic, Is.Not.Null.And.Property(nameof(RabbitTestBroker.QueueInfo.Durable)).False.And.Property("AutoDelete").False);
            Assert.That(topic!.Arguments, Is.Empty);
            Assert.That(server, Is.Not.Null.And.Property("Durable").False.And.Property("AutoDelete").False);
            Assert.That(rig.Server.FanoutQueue, Does.Match($"^{rig.Topic}_fanout_[0-9a-f]{{32}}$"));
            Assert.That(fanout, Is.Not.Null.And.Property("Durable").False.And.Property("AutoDelete").False.And.Property("Exclusive").False);
            Assert.That(fanout!.Arguments["x-expires"], Is.EqualTo("120000"));
        });
    }

    [Test]
    public async Task Start_QuorumQueues_DeclaresTopicQueuesDurableQuorum()
    {
        await using var rig = await RpcTestRig.StartAsync(configureRabbit: r => r with { RabbitQuorumQueue = true, ControlExchange = RabbitTestBroker.UniqueName("nova-q") });

        var topic = await RabbitTestBroker.QueueAsync(rig.Topic);
        Assert.That(topic!.Durable, Is.True);
        Assert.That(topic.Arguments["x-queue-type"], Is.EqualTo("quorum"));
        var fanout = await RabbitTestBroker.QueueAsync(rig.Server.FanoutQueue);
        Assert.That(fanout!.Arguments.ContainsKey("x-queue-type"), Is.False, "fanout queues are never quorum");
        Assert.That(await rig.Client().CallAsync<int>(Context, "add", new Dictionary<string, object?> { ["a"] = 2 }), Is.EqualTo(3));
    }

    [Test]
    public async Task Call_ToTopicAndToServer_ReturnsResultAndPassesContext()
    {
        await using var rig = await RpcTestRig.StartAsync();

        var viaTopic = await rig.Client().CallAsync(Context, "echo", new Dictionary<string, object?> { ["arg"] = new Dictionary<string, object?> { ["a"] = 1 } });
        var viaServer = await rig.Client(server: rig.Host).CallAsync<int>(Context, "add", new Dictionary<string, object?> { ["a"] = 40, ["b"] = 2 });

        Assert.That(viaTopic.GetProperty("arg").GetProperty("a").GetInt32(), Is.EqualTo(1));
        Assert.That(viaTopic.GetProperty("request_id").GetString(), Is.EqualTo(Context.RequestId));
        Assert.That(viaServer, Is.EqualTo(42));
        Assert.That(rig.Endpoint.Contexts.TryPeek(out var seen), Is.True);
        Assert.That(seen!.UserId, Is.EqualTo("u1"));
        Assert.That(seen.GlobalRequestId, Is.EqualTo(Context.GlobalRequestId));
        Assert.That(seen.Roles, Is.EqualTo(new[] { "admin", "member" }));
        Assert.That(seen.AuthToken, Is.EqualTo("secret-token"));
    }

    [Test]
    public async Task Call_MethodRuns_RequestIdIsInTheLoggingScope()
    {
        await using var rig = await RpcTestRig.StartAsync();

        await rig.Client().CallAsync(Context, "echo", new Dictionary<string, object?> { ["arg"] = 1 });

        var line = rig.Logs.Entries.Single(e => e.Message == "echo called");
        Assert.That(line.Scope["RequestId"], Is.EqualTo(Context.RequestId));
        Assert.That(line.Scope["GlobalRequestId"], Is.EqualTo(Context.GlobalRequestId));
        Assert.That(line.Scope["UserId"], Is.EqualTo("u1"));
        Assert.That(line.Scope["ProjectId"], Is.EqualTo("p1"));
        Assert.That(rig.Logs.Entries.SelectMany(e => e.Scope.Values.Concat(e.Properties.Values)).OfType<string>(),
            Has.None.Contains("secret-token"), "the auth token is never logged");
    }

    [Test]
    public async Task Call_EndpointThrowsNovaException_ClientGetsClassModuleAndKwargs()
    {
        await using var rig = await RpcTestRig.StartAsync();

        var ex = Assert.ThrowsAsync<RemoteException>(() => rig.Client().CallAsync(Context, "fail_nova", new Dictionary<string, object?> { ["host"] = "nohost" }));

        Assert.That(ex!.ClassName, Is.EqualTo("ComputeHostNotFound"));
        Assert.That(ex.Module, Is.EqualTo("nova.exception"));
        Assert.That(ex.Message, Is.EqualTo("Compute host nohost could not be found."));
        Assert.That(((JsonElement)ex.Kwargs["code"]!).GetInt32(), Is.EqualTo(404));
        Assert.That(((JsonElement)ex.Kwargs["host"]!).GetString(), Is.EqualTo("nohost"));
        Assert.That(ex.RemoteTraceback[0], Is.EqualTo("Traceback (most recent call last):\n"));
        Assert.That(ex.RemoteTraceback[^1], Is.EqualTo("nova.exception.ComputeHostNotFound: Compute host nohost could not be found.\n"));
        Assert.That(string.Concat(ex.RemoteTraceback), Does.Not.Contain("/").And.Not.Contain(".cs"), "no server file paths");
    }

    [Test]
    public async Task Call_UnknownMethodWrongVersionPrivateName_OslosDispatcherErrors()
    {
        await using var rig = await RpcTestRig.StartAsync();

        var noSuch = Assert.ThrowsAsync<NoSuchMethodException>(() => rig.Client().CallAsync(Context, "nosuch"));
        var notExposed = Assert.ThrowsAsync<NoSuchMethodException>(() => rig.Client().CallAsync(Context, "not_exposed"));
        var underscore = Assert.ThrowsAsync<NoSuchMethodException>(() => rig.Client().CallAsync(Context, "_private"));
        var version = Assert.ThrowsAsync<UnsupportedVersionException>(() => rig.Client(version: "7.0").CallAsync(Context, "echo"));

        Assert.That(noSuch!.Message, Is.EqualTo("Endpoint does not support RPC method nosuch"));
        Assert.That(noSuch.Module, Is.EqualTo("oslo_messaging.rpc.dispatcher"));
        Assert.That(notExposed!.Method, Is.EqualTo("not_exposed"));
        Assert.That(underscore!.Method, Is.EqualTo("_private"));
        Assert.That(version!.Message, Is.EqualTo("Endpoint does not support RPC version 7.0. Attempted method: echo"));
    }

    [Test]
    public async Task Call_BadArguments_TypeErrorsNamingTheProblem()
    {
        await using var rig = await RpcTestRig.StartAsync();
        var client = rig.Client();

        var missing = Assert.ThrowsAsync<RemoteException>(() => client.CallAsync(Context, "add"));
        var unknown = Assert.ThrowsAsync<RemoteException>(() => client.CallAsync(Context, "add", new Dictionary<string, object?> { ["a"] = 1, ["c"] = 2 }));
        var wrongType = Assert.ThrowsAsync<RemoteException>(() => client.CallAsync(Context, "add", new Dictionary<string, object?> { ["a"] = "x" }));
        var none = Assert.ThrowsAsync<RemoteException>(() => client.CallAsync(Context, "fail_plain", new Dictionary<string, object?> { ["message"] = null }));

        Assert.That(missing!.Message, Is.EqualTo("add() missing 1 required positional argument: 'a'"));
        Assert.That(missing.ClassName, Is.EqualTo("TypeError"));
        Assert.That(missing.Module, Is.EqualTo("builtins"));
        Assert.That(unknown!.Message, Is.EqualTo("add() got an unexpected keyword argument 'c'"));
        Assert.That(wrongType!.Message, Is.EqualTo("add() argument 'a' must be an integer, got a string"));
        Assert.That(none!.Message, Is.EqualTo("fail_plain() argument 'message' must not be None"));
    }

    [Test]
    public async Task Call_EndpointThrowsDotNetExceptions_MappedToPythonBuiltinsOrKeptByName()
    {
        await using var rig = await RpcTestRig.StartAsync();

        var value = Assert.ThrowsAsync<RemoteException>(() => rig.Client().CallAsync(Context, "fail_value", new Dictionary<string, object?> { ["message"] = "bad" }));
        var plain = Assert.ThrowsAsync<RemoteException>(() => rig.Client().CallAsync(Context, "fail_plain", new Dictionary<string, object?> { ["message"] = "oops" }));

        Assert.That((value!.Module, value.ClassName, value.Message), Is.EqualTo(("builtins", "ValueError", "bad")));
        Assert.That((plain!.Module, plain.ClassName, plain.Message), Is.EqualTo(("System", "InvalidOperationException", "oops")));
        Assert.That(plain.RemoteTraceback, Has.Some.Contains("in FailPlain"));
    }

    [Test]
    public async Task Call_ResultCannotBeSerialized_CallerGetsTheErrorNotATimeout()
    {
        await using var rig = await RpcTestRig.StartAsync();

        var ex = Assert.ThrowsAsync<RemoteException>(() => rig.Client(timeout: TimeSpan.FromSeconds(10)).CallAsync(Context, "unserializable"));

        Assert.That(ex!.ClassName, Is.Not.Empty);
    }

    [Test]
    public async Task Cast_ToTopicAndFanout_RunsWithoutReply()
    {
        await using var rig = await RpcTestRig.StartAsync();

        await rig.Client().CastAsync(Context, "sink", new Dictionary<string, object?> { ["seq"] = 1 });
        await rig.Client().Prepare(fanout: true).CastAsync(Context, "sink", new Dictionary<string, object?> { ["seq"] = 2 });

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var first = await rig.Endpoint.Casts.Reader.ReadAsync(timeout.Token);
        var second = await rig.Endpoint.Casts.Reader.ReadAsync(timeout.Token);
        Assert.That(new[] { first, second }, Is.EquivalentTo(new[] { 1, 2 }));
    }

    [Test]
    public async Task BaseApi_PingAndBackdoorPort_AsNovaAnswers()
    {
        await using var rig = await RpcTestRig.StartAsync();
        var baseApi = rig.Client(version: "1.0", @namespace: "baseapi");

        var pong = await baseApi.CallAsync(Context, "ping", new Dictionary<string, object?> { ["arg"] = new Dictionary<string, object?> { ["a"] = 1 } });
        var port = await baseApi.Prepare(server: rig.Host, version: "1.1").CallAsync(Context, "get_backdoor_port");

        Assert.That(pong.GetRawText(), Is.EqualTo("""{"service":"compute","arg":{"a":1}}"""));
        Assert.That(port.ValueKind, Is.EqualTo(JsonValueKind.Null));
    }

    [Test]
    public async Task Call_WithCallMonitor_HeartbeatsWhileRunningAndStopsWhenDone()
    {
        await using var rig = await RpcTestRig.StartAsync();
        await using var observer = await ReplyObserver.StartAsync();

        // _timeout 2 → one heartbeat per second while the call runs.
        await observer.SendCallAsync(rig, "slow", """{"secs": 2.5}""", monitorTimeout: 2);
        var messages = await observer.CollectUntilEndingAsync(TimeSpan.FromSeconds(15));

        var heartbeats = messages.Where(m => !m.GetProperty("ending").GetBoolean()).ToList();
        Assert.That(heartbeats, Has.Count.InRange(1, 4), "about one a second for 2.5 s (the call's own sleep may overrun on a loaded machine)");
        Assert.That(heartbeats.All(h => h.GetProperty("result").ValueKind == JsonValueKind.Null && h.GetProperty("failure").ValueKind == JsonValueKind.Null));
        Assert.That(messages[^1].GetProperty("result").GetString(), Is.EqualTo("done"));
        await AssertNoHeartbeatsAfterwardsAsync(rig, observer, "heartbeats stop with the call");
    }

    [Test]
    public async Task Call_WithCallMonitorThatFailsToDispatch_NoHeartbeatsAfterTheFailure()
    {
        await using var rig = await RpcTestRig.StartAsync();
        await using var observer = await ReplyObserver.StartAsync();

        await observer.SendCallAsync(rig, "nosuch", "{}", monitorTimeout: 2);
        var messages = await observer.CollectUntilEndingAsync(TimeSpan.FromSeconds(10));

        Assert.That(messages[^1].GetProperty("failure").GetString(), Does.Contain("NoSuchMethod"));
        await AssertNoHeartbeatsAfterwardsAsync(rig, observer, "oslo would keep beating here");
    }

    /// <summary>
    /// A later call without a monitor that takes 2.5 s: until its answer, a heartbeat of the call
    /// before (one a second) would have come too. Only the later call's answer may arrive.
    /// </summary>
    private static async Task AssertNoHeartbeatsAfterwardsAsync(RpcTestRig rig, ReplyObserver observer, string message)
    {
        var later = await observer.SendCallAsync(rig, "slow", """{"secs": 2.5}""");
        var replies = await observer.CollectUntilEndingAsync(TimeSpan.FromSeconds(15));
        Assert.That(replies.Select(r => r.GetProperty("_msg_id").GetString()), Has.All.EqualTo(later), message);
        Assert.That(replies, Has.Count.EqualTo(1), message);
    }

    [Test]
    public async Task Request_SameUniqueIdTwice_RunsOnceAndTheDuplicateIsLoggedAtOslosLevel()
    {
        await using var rig = await RpcTestRig.StartAsync();
        await using var observer = await ReplyObserver.StartAsync();

        var uniqueId = Guid.NewGuid().ToString("N");
        await observer.SendCallAsync(rig, "add", """{"a": 1}""", uniqueId: uniqueId);
        await observer.CollectUntilEndingAsync(TimeSpan.FromSeconds(10));
        var duplicate = await observer.SendCallAsync(rig, "add", """{"a": 1}""", uniqueId: uniqueId);
        var logged = await rig.Logs.WaitForAsync(e => e.EventId.Id == 4106);

        // A later call's answer proves the window passed: everything that came back until it ended is its own.
        var later = await observer.SendCallAsync(rig, "add", """{"a": 2}""");
        var replies = await observer.CollectUntilEndingAsync(TimeSpan.FromSeconds(10));
        Assert.That(replies.Select(r => r.GetProperty("_msg_id").GetString()), Has.All.EqualTo(later).And.None.EqualTo(duplicate));
        Assert.That(replies.Last().GetProperty("result").GetInt32(), Is.EqualTo(3));
        // oslo.messaging's amqpdriver logs it with LOG.exception: ERROR, naming the message id.
        Assert.That(logged.Level, Is.EqualTo(Microsoft.Extensions.Logging.LogLevel.Error));
        Assert.That(logged.Message, Does.StartWith("ignoring duplicate message ").And.Contain(uniqueId));
        Assert.That(rig.Logs.Entries.Count(e => e.EventId.Id == 4106), Is.EqualTo(1));
    }

    [Test]
    public async Task Server_Concurrency_BoundedByExecutorPoolWithBrokerHoldingTheRest()
    {
        await using var rig = await RpcTestRig.StartAsync(s => s with { ExecutorThreadPoolSize = 2 });
        var client = rig.Client(timeout: TimeSpan.FromSeconds(30));

        var calls = Enumerable.Range(0, 6).Select(i => client.CallAsync<string>(Context, "block", new Dictionary<string, object?> { ["key"] = "g" })).ToList();
        // A steady state that proves the bound: two running (acknowledged on intake, as oslo does),
        // two delivered and waiting for a worker (the prefetch window of 2, full), two still ready in
        // the broker. Were the pool not a bound, the waiting two would run and the broker's two follow.
        await using var connection = await RabbitTestBroker.RawConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        uint ready = 0;
        await Eventually.Until(async () => Volatile.Read(ref rig.Endpoint.Started) >= 2 && (ready = (await channel.QueueDeclarePassiveAsync(rig.Topic)).MessageCount) == 2,
            TimeSpan.FromSeconds(15), () => $"two calls running and two held in the broker (running {rig.Endpoint.Started}, ready {ready})");

        Assert.That(rig.Endpoint.Started, Is.EqualTo(2), "only two run at once");
        rig.Endpoint.Open("g");
        Assert.That(await Task.WhenAll(calls), Has.All.EqualTo("g"));
        Assert.That(rig.Endpoint.MaxRunning, Is.EqualTo(2));
    }

    [Test]
    public async Task Server_BurstOfCasts_EachRunsOnceAndAllAcknowledgedInAtMostOneFrameEach()
    {
        await using var rig = await RpcTestRig.StartAsync(s => s with { ExecutorThreadPoolSize = 4 });
        var client = rig.Client();
        // Four workers held, so the next deliveries queue up behind them and are taken (and
        // acknowledged) together as the workers come free.
        var held = Enumerable.Range(0, 4).Select(_ => client.CastAsync(Context, "block", new Dictionary<string, object?> { ["key"] = "burst" })).ToList();
        await Task.WhenAll(held);
        await Eventually.Until(() => Volatile.Read(ref rig.Endpoint.Started) == 4);
        const int casts = 40;
        for (var i = 0; i < casts; i++)
        {
            await client.CastAsync(Context, "sink", new Dictionary<string, object?> { ["seq"] = i });
        }
        rig.Endpoint.Open("burst");

        var seen = new List<int>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (seen.Count < casts)
        {
            seen.Add(await rig.Endpoint.Casts.Reader.ReadAsync(timeout.Token));
        }
        Assert.That(seen, Is.EquivalentTo(Enumerable.Range(0, casts)), "each cast ran exactly once");
        Assert.That(rig.Server.AcknowledgementFrames, Is.InRange(1, casts + 4));
        // multiple=true acknowledged every one of them: nothing left for the broker to redeliver.
        await Eventually.Until(async () => (await UnacknowledgedAsync(rig.Topic)) == 0, TimeSpan.FromSeconds(10),
            () => $"the broker still holds unacknowledged messages on {rig.Topic}");
        Assert.That(rig.Endpoint.Casts.Reader.TryRead(out var extra), Is.False, $"cast {extra} ran twice");
    }

    private static async Task<int> UnacknowledgedAsync(string queue)
    {
        var listing = await RabbitTestBroker.RabbitmqctlAsync("list_queues", "-p", TestServices.RabbitVhost, "name", "messages_unacknowledged",
            "--no-table-headers");
        return listing.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('\t'))
            .Where(columns => columns.Length == 2 && columns[0] == queue).Sum(columns => int.Parse(columns[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    [Test]
    public async Task Stop_WithCallsRunning_WaitsForThemAndSendsTheirReplies()
    {
        var rig = await RpcTestRig.StartAsync();
        await using var _ = rig;
        var client = rig.Client(timeout: TimeSpan.FromSeconds(30));

        var call = client.CallAsync<string>(Context, "block", new Dictionary<string, object?> { ["key"] = "stop" });
        await Eventually.Until(() => Volatile.Read(ref rig.Endpoint.Started) >= 1, what: () => "the call to run");
        var stop = rig.Server.StopAsync(CancellationToken.None);
        // "stopping: waiting up to 10 seconds for 1 running request(s)": the stop has reached its drain.
        await rig.Logs.WaitForAsync(e => e.EventId.Id == 4102);
        Assert.That(stop.IsCompleted, Is.False, "stop waits for the running call");

        rig.Endpoint.Open("stop");
        await stop.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(await call, Is.EqualTo("stop"));
        Assert.That(await RabbitTestBroker.QueueAsync(rig.Server.FanoutQueue), Is.Null, "the fanout queue is deleted on stop");
    }

    [Test]
    public async Task Stop_CallOutlivesGracefulTimeout_IsCancelledAndLogged()
    {
        var rig = await RpcTestRig.StartAsync(s => s with { GracefulShutdownTimeout = TimeSpan.FromMilliseconds(300) });
        await using var _ = rig;

        var call = rig.Client(timeout: TimeSpan.FromSeconds(30)).CallAsync<string>(Context, "block", new Dictionary<string, object?> { ["key"] = "never" });
        await Eventually.Until(() => Volatile.Read(ref rig.Endpoint.Started) >= 1, what: () => "the call to run");
        await rig.Server.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        var token = await rig.Endpoint.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.That(token.IsCancellationRequested, Is.True);
        await rig.Logs.WaitForAsync(e => e.EventId.Id == 4103);
    }

    /// <summary>A reply queue of the test's own, to see every message the server sends back (heartbeats included).</summary>
    private sealed class ReplyObserver : IAsyncDisposable
    {
        private readonly IConnection _connection;
        private readonly IChannel _channel;
        private readonly System.Threading.Channels.Channel<JsonElement> _received = System.Threading.Channels.Channel.CreateUnbounded<JsonElement>();

        private ReplyObserver(IConnection connection, IChannel channel, string queue)
        {
            _connection = connection;
            _channel = channel;
            Queue = queue;
        }

        public string Queue { get; }

        public static async Task<ReplyObserver> StartAsync()
        {
            var connection = await RabbitTestBroker.RawConnectionAsync();
            var channel = await connection.CreateChannelAsync();
            var queue = "reply_" + Guid.NewGuid().ToString("N");
            await channel.QueueDeclareAsync(queue, false, false, true);
            var observer = new ReplyObserver(connection, channel, queue);
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += (_, args) =>
            {
                using var outer = JsonDocument.Parse(args.Body);
                var inner = JsonDocument.Parse(outer.RootElement.GetProperty("oslo.message").GetString()!).RootElement.Clone();
                observer._received.Writer.TryWrite(inner);
                return Task.CompletedTask;
            };
            await channel.BasicConsumeAsync(queue, true, consumer);
            return observer;
        }

        /// <summary>Publishes a call straight to the topic and returns its <c>_msg_id</c>.</summary>
        public async Task<string> SendCallAsync(RpcTestRig rig, string method, string argsJson, int? monitorTimeout = null, string? uniqueId = null)
        {
            var msgId = Guid.NewGuid().ToString("N");
            var message = new Dictionary<string, object?>
            {
                ["method"] = method,
                ["args"] = JsonDocument.Parse(argsJson).RootElement,
                ["version"] = "6.0",
                ["_msg_id"] = msgId,
                ["_reply_q"] = Queue,
                ["_timeout"] = monitorTimeout,
                ["_unique_id"] = uniqueId ?? Guid.NewGuid().ToString("N"),
                ["_context_request_id"] = "req-00000000-0000-0000-0000-000000000001",
            };
            var body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string>
            {
                ["oslo.version"] = "2.0",
                ["oslo.message"] = JsonSerializer.Serialize(message),
            });
            await _channel.BasicPublishAsync("nova", rig.Topic, body);
            return msgId;
        }

        public async Task<List<JsonElement>> CollectUntilEndingAsync(TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            var messages = new List<JsonElement>();
            while (true)
            {
                var message = await _received.Reader.ReadAsync(cts.Token);
                messages.Add(message);
                if (message.GetProperty("ending").GetBoolean())
                {
                    return messages;
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _channel.CloseAsync();
            await _connection.CloseAsync();
        }
    }

    [Test]
    public async Task WatchdogCheck_WorkersWedgedWithRequestsWaiting_ReportsOnlyAfterTheLimit()
    {
        var time = new FakeTimeProvider();
        await using var rig = await RpcTestRig.StartAsync(s => s with { ExecutorThreadPoolSize = 1, RpcResponseTimeout = TimeSpan.FromSeconds(60) }, time: time);
        var check = rig.Server.Watchdog;
        var client = rig.Client(timeout: TimeSpan.FromHours(1)); // the fake clock also drives the call timeout
        Assert.That(check.Problem(time.GetUtcNow()), Is.Null, "idle is healthy");

        var calls = Enumerable.Range(0, 2).Select(_ => client.CallAsync<string>(Context, "block", new Dictionary<string, object?> { ["key"] = "wedge" })).ToList();
        await Eventually.Until(() => Volatile.Read(ref rig.Endpoint.Started) >= 1, what: () => "the first call to run");
        time.Advance(TimeSpan.FromSeconds(119));
        Assert.That(check.Problem(time.GetUtcNow()), Is.Null, "busy workers within the limit are not wedged");

        string? problem = null;
        await Eventually.Until(() =>
        {
            time.Advance(TimeSpan.FromSeconds(2));
            problem = check.Problem(time.GetUtcNow());
            return problem is not null;
        }, TimeSpan.FromSeconds(10), () => "the watchdog check to report the wedged workers");
        Assert.That(problem, Does.StartWith("1 request(s) waiting for a worker and all 1 busy without progress"));

        rig.Endpoint.Open("wedge");
        Assert.That(await Task.WhenAll(calls), Has.All.EqualTo("wedge"));
        Assert.That(check.Problem(time.GetUtcNow()), Is.Null);
    }
}
