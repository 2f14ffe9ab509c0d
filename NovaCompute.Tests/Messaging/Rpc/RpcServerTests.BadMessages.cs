using System.Text;
using System.Text.Json;
using NovaCompute.Tests.Support;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace NovaCompute.Tests.Messaging.Rpc;

/// <summary>Messages the server must survive: each is logged with what was wrong, answered when possible, and consumption goes on.</summary>
public partial class RpcServerTests
{
    private const int ProcessingCrashed = 4120;
    private const int BadMessageEvent = 4105;

    [TestCase("{not json", "body is not valid JSON")]
    [TestCase("[1, 2, 3]", "not an object with an oslo.version/oslo.message envelope")]
    [TestCase("\"just a string\"", "not an object")]
    [TestCase("{\"oslo.version\": \"2.0\", \"oslo.message\": \"{broken\"}", "oslo.message is not valid JSON")]
    [TestCase("{\"oslo.version\": \"2.0\", \"oslo.message\": 42}", "oslo.message is not a string")]
    [TestCase("{\"oslo.version\": 2, \"oslo.message\": \"{}\"}", "oslo.version is not a string")]
    [TestCase("{\"oslo.version\": \"2.0\", \"oslo.message\": \"[]\"}", "not an object")]
    [TestCase("", "body is not valid JSON")]
    public async Task BadMessage_WithoutReplyAddress_LoggedAndServerKeepsConsuming(string body, string expectedProblem)
    {
        await using var rig = await RpcTestRig.StartAsync();
        await using var raw = await RawPublisher.StartAsync();

        await raw.PublishAsync(rig.Topic, Encoding.UTF8.GetBytes(body));

        var logged = await rig.Logs.WaitForAsync(e => e.EventId.Id == BadMessageEvent);
        Assert.That(logged.Message, Does.Contain(expectedProblem));
        Assert.That(await rig.Client().CallAsync<int>(Context, "add", new Dictionary<string, object?> { ["a"] = 1 }), Is.EqualTo(2));
        Assert.That(rig.Logs.Entries, Has.None.Matches<LogEntry>(e => e.EventId.Id == ProcessingCrashed));
    }

    [Test]
    public async Task BadMessage_NoEnvelopeButReplyAddress_AnsweredWithValueError()
    {
        await using var rig = await RpcTestRig.StartAsync();
        await using var raw = await RawPublisher.StartAsync();

        var reply = await raw.CallAsync(rig.Topic, q => JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["method"] = "add",
            ["args"] = new { a = 1 },
            ["_msg_id"] = "m1",
            ["_reply_q"] = q,
        }));

        Assert.That(Failure(reply).GetProperty("class").GetString(), Is.EqualTo("ValueError"));
        Assert.That(Failure(reply).GetProperty("message").GetString(), Does.Contain("no oslo.version/oslo.message envelope"));
    }

    [Test]
    public async Task BadMessage_UnknownEnvelopeVersion_AnsweredWithOslosError()
    {
        await using var rig = await RpcTestRig.StartAsync();
        await using var raw = await RawPublisher.StartAsync();

        var reply = await raw.CallAsync(rig.Topic, q => Envelope("3.0", Request("add", q)));

        Assert.That(Failure(reply).GetProperty("class").GetString(), Is.EqualTo("UnsupportedRpcEnvelopeVersion"));
        Assert.That(Failure(reply).GetProperty("module").GetString(), Is.EqualTo("oslo_messaging._drivers.common"));
        Assert.That(Failure(reply).GetProperty("message").GetString(), Is.EqualTo("Specified RPC envelope version, 3.0, not supported by this endpoint."));
    }

    [Test]
    public async Task BadMessage_MissingMethodOrBadArgs_AnsweredWithValueError()
    {
        await using var rig = await RpcTestRig.StartAsync();
        await using var raw = await RawPublisher.StartAsync();

        var noMethod = await raw.CallAsync(rig.Topic, q => Envelope("2.0", Request(null, q)));
        var listArgs = await raw.CallAsync(rig.Topic, q => Envelope("2.0", Request("add", q, args: new[] { 1 })));

        Assert.That(Failure(noMethod).GetProperty("message").GetString(), Is.EqualTo("the request has no method"));
        Assert.That(Failure(listArgs).GetProperty("message").GetString(), Is.EqualTo("the request's args are a JSON Array, not an object"));
    }

    [Test]
    public async Task BadMessage_Oversized_RefusedWithoutDispatchAndAnswered()
    {
        await using var rig = await RpcTestRig.StartAsync(s => s with { MaxMessageBytes = 4096 });
        await using var raw = await RawPublisher.StartAsync();

        var reply = await raw.CallAsync(rig.Topic, q => Envelope("2.0", Request("echo", q, args: new { arg = new string('x', 10_000) })));

        Assert.That(Failure(reply).GetProperty("message").GetString(), Does.Match(@"message of \d+ bytes exceeds the limit of 4096 bytes"));
        Assert.That(rig.Endpoint.Contexts, Is.Empty, "never dispatched");
    }

    [Test]
    public async Task Fuzz_MalformedMessages_ListenerStillConsumingAndNothingCrashes()
    {
        // Mutants that stay valid answer a reply queue that does not exist: give up on it quickly.
        await using var rig = await RpcTestRig.StartAsync(configureRabbit: r => r with { KombuMissingConsumerRetryTimeout = 1 });
        await using var raw = await RawPublisher.StartAsync();
        var random = new Random(4242);
        var valid = Encoding.UTF8.GetBytes(Envelope("2.0", Request("add", "reply_fuzz_nowhere", args: new { a = 1, b = 2 })));

        const int count = 500;
        for (var i = 0; i < count; i++)
        {
            await raw.PublishAsync(rig.Topic, Mutate(valid, random));
        }
        // Every mutant is handled before this call, which the same queue delivers after them.
        var result = await rig.Client(timeout: TimeSpan.FromSeconds(60)).CallAsync<int>(Context, "add", new Dictionary<string, object?> { ["a"] = 20, ["b"] = 22 });

        Assert.That(result, Is.EqualTo(42));
        await Eventually.Until(() => rig.Server.InFlight == 0, what: () => $"the server to finish ({rig.Server.InFlight} in flight)");
        var crashes = rig.Logs.Entries.Where(e => e.EventId.Id == ProcessingCrashed).Select(e => e.Exception?.ToString()).ToList();
        Assert.That(crashes, Is.Empty);
        Assert.That(rig.Logs.Entries.Count(e => e.EventId.Id == BadMessageEvent), Is.GreaterThan(count / 4), "most mutants are caught as bad");
    }

    /// <summary>One of each kind of malformed message issue 14's adversarial run sent, named for the failure message.</summary>
    private static IEnumerable<(string Kind, byte[] Body, BasicProperties? Properties)> MalformedCatalog(string replyQueue)
    {
        static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
        string Call(Dictionary<string, object?> message) => Envelope("2.0", JsonSerializer.Serialize(message));
        Dictionary<string, object?> Valid() => new()
        {
            ["method"] = "add",
            ["args"] = new Dictionary<string, object?> { ["a"] = 1 },
            ["version"] = "6.0",
            ["_msg_id"] = Guid.NewGuid().ToString("N"),
            ["_reply_q"] = replyQueue,
            ["_unique_id"] = Guid.NewGuid().ToString("N"),
        };
        Dictionary<string, object?> With(string key, object? value)
        {
            var message = Valid();
            message[key] = value;
            return message;
        }
        Dictionary<string, object?> Without(string key)
        {
            var message = Valid();
            message.Remove(key);
            return message;
        }

        yield return ("oslo.message not JSON", Utf8(Envelope("2.0", "method=add&a=1")), null);
        yield return ("oslo.message truncated", Utf8(Envelope("2.0", JsonSerializer.Serialize(Valid())[..40])), null);
        foreach (var key in new[] { "method", "args", "version", "_msg_id", "_reply_q", "_unique_id" })
        {
            yield return ($"missing {key}", Utf8(Call(Without(key))), null);
        }
        object?[] wrong = [null, 7, -1.5e308, true, new[] { 1, 2 }, new Dictionary<string, object?> { ["x"] = 1 }, ""];
        foreach (var key in new[] { "method", "args", "version", "namespace", "_msg_id", "_reply_q", "_unique_id", "_timeout",
            "_context_roles", "_context_is_admin", "_context_timestamp", "_context_request_id" })
        {
            foreach (var value in wrong)
            {
                yield return ($"{key} = {JsonSerializer.Serialize(value)}", Utf8(Call(With(key, value))), null);
            }
        }
        yield return ("1 MB key", Utf8(Call(With(new string('k', 1024 * 1024), 1))), null);
        var manyKeys = Valid();
        for (var i = 0; i < 50_000; i++)
        {
            manyKeys[$"_context_k{i}"] = i;
        }
        yield return ("50,000 keys", Utf8(Call(manyKeys)), null);
        yield return ("1 MB _msg_id", Utf8(Call(With("_msg_id", new string('m', 1024 * 1024)))), null);
        yield return ("_msg_id with control bytes", Utf8(Call(With("_msg_id", "id\u0000\u0001\n\u001b[31m"))), null);
        yield return ("_reply_q with control bytes", Utf8(Call(With("_reply_q", "q\u0000\r\n"))), null);
        yield return ("method with NUL", Utf8(Call(With("method", "add\u0000"))), null);
        var invalidOuter = Utf8(Call(Valid()));
        invalidOuter[invalidOuter.Length / 2] = 0xff;
        yield return ("invalid UTF-8 in the body", invalidOuter, null);
        byte[] invalidInner = [.. Utf8("{\"oslo.version\": \"2.0\", \"oslo.message\": \"{\\\"method\\\": \\\"add"), 0xc3, 0x28,
            .. Utf8($"\\\", \\\"_msg_id\\\": \\\"m1\\\", \\\"_reply_q\\\": \\\"{replyQueue}\\\"}}\"}}")];
        yield return ("invalid UTF-8 inside oslo.message", invalidInner, null);
        yield return ("raw control bytes", [0x00, 0x01, 0x02, 0x1b, 0x7f, 0x0a, 0x0d], null);
        foreach (var version in new[] { "", "abc", "2.0.0.0", "99999999999999999999.0", "-1.0", "2.x", "\u0000", new string('9', 100_000) })
        {
            yield return ($"oslo.version {version.Length} chars", Utf8(JsonSerializer.Serialize(new Dictionary<string, string>
            {
                ["oslo.version"] = version,
                ["oslo.message"] = JsonSerializer.Serialize(Valid()),
            })), null);
        }
        yield return ("wrong content-type", Utf8(Call(Valid())), new BasicProperties { ContentType = "text/plain", ContentEncoding = "latin-1" });
        yield return ("binary content-type and a reply_to", Utf8(Call(Valid())), new BasicProperties { ContentType = "application/octet-stream", ReplyTo = "nowhere" });
        yield return ("no reply_to, no properties at all", Utf8(Call(Without("_reply_q"))), new BasicProperties());
    }

    [Test]
    public async Task Fuzz_EveryKindOfMalformedMessage_NothingCrashesAndValidCallsAnsweredInFull()
    {
        await using var rig = await RpcTestRig.StartAsync();
        await using var raw = await RawPublisher.StartAsync();
        var catalog = MalformedCatalog(raw.ReplyQueue).ToList();
        foreach (var (_, body, properties) in catalog)
        {
            await raw.PublishAsync(rig.Topic, body, properties);
        }

        // The same queue delivers these after every malformed message.
        var client = rig.Client(timeout: TimeSpan.FromSeconds(30));
        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
            client.CallAsync<JsonElement>(Context, "echo", new Dictionary<string, object?> { ["arg"] = new Dictionary<string, object?> { ["n"] = i, ["text"] = new string('t', i * 100) } })));

        for (var i = 0; i < results.Length; i++)
        {
            Assert.That(results[i].GetProperty("arg").GetProperty("n").GetInt32(), Is.EqualTo(i));
            Assert.That(results[i].GetProperty("arg").GetProperty("text").GetString(), Is.EqualTo(new string('t', i * 100)));
        }
        await Eventually.Until(() => rig.Server.InFlight == 0, TimeSpan.FromSeconds(10));
        var crashes = rig.Logs.Entries.Where(e => e.EventId.Id == ProcessingCrashed).Select(e => e.Exception?.ToString()).ToList();
        Assert.That(crashes, Is.Empty, $"{catalog.Count} malformed messages");
    }

    private static byte[] Mutate(byte[] valid, Random random)
    {
        var bytes = (byte[])valid.Clone();
        switch (random.Next(7))
        {
            case 0:
                for (var flips = random.Next(1, 8); flips > 0; flips--)
                {
                    bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                }
                return bytes;
            case 1:
                return bytes[..random.Next(bytes.Length)];
            case 2:
                var garbage = new byte[random.Next(0, 200)];
                random.NextBytes(garbage);
                return garbage;
            case 3:
                // Structurally valid JSON with fields of the wrong kind.
                object?[] odd = [null, 1, -1.5, true, "", "x", new[] { 1 }, new Dictionary<string, object?>(), new string('\u00e9', 50)];
                var message = new Dictionary<string, object?>
                {
                    ["method"] = odd[random.Next(odd.Length)],
                    ["args"] = odd[random.Next(odd.Length)],
                    ["version"] = odd[random.Next(odd.Length)],
                    ["namespace"] = odd[random.Next(odd.Length)],
                    ["_unique_id"] = odd[random.Next(odd.Length)],
                    ["_timeout"] = odd[random.Next(odd.Length)],
                    ["_context_roles"] = odd[random.Next(odd.Length)],
                    ["_context_timestamp"] = odd[random.Next(odd.Length)],
                    ["_context_is_admin"] = odd[random.Next(odd.Length)],
                };
                return Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Dictionary<string, object?> { ["oslo.version"] = "2.0", ["oslo.message"] = JsonSerializer.Serialize(message) }));
            case 4:
                // Deep nesting.
                var depth = random.Next(100, 2000);
                return Encoding.UTF8.GetBytes(new string('[', depth) + new string(']', depth));
            case 5:
                // Lone surrogate escapes: valid JSON syntax, not valid text.
                var lone = Request("\\ud800", "reply_fuzz_nowhere", args: new { a = 1 }).Replace("\"_msg_id\"", "\"_context_user\":\"\\udc00x\",\"_msg_id\"");
                return Encoding.UTF8.GetBytes(Envelope("2.0", lone));
            default:
                var inner = Encoding.UTF8.GetString(bytes);
                var at = random.Next(inner.Length);
                return Encoding.UTF8.GetBytes(inner[..at] + "\\u0000\"}{" + inner[at..]);
        }
    }

    private static JsonElement Failure(JsonElement reply) => JsonDocument.Parse(reply.GetProperty("failure").GetString()!).RootElement;

    private static string Envelope(string version, string inner) =>
        JsonSerializer.Serialize(new Dictionary<string, string> { ["oslo.version"] = version, ["oslo.message"] = inner });

    private static string Request(string? method, string replyQueue, object? args = null)
    {
        var message = new Dictionary<string, object?>();
        if (method is not null)
        {
            message["method"] = method;
        }
        message["args"] = args ?? new { a = 1 };
        message["version"] = "6.0";
        message["_msg_id"] = Guid.NewGuid().ToString("N");
        message["_reply_q"] = replyQueue;
        message["_timeout"] = null;
        message["_unique_id"] = Guid.NewGuid().ToString("N");
        return JsonSerializer.Serialize(message);
    }

    /// <summary>Publishes raw bodies to the nova exchange and reads raw replies from a queue of its own.</summary>
    private sealed class RawPublisher : IAsyncDisposable
    {
        private readonly IConnection _connection;
        private readonly IChannel _channel;
        private readonly string _replyQueue;
        private readonly System.Threading.Channels.Channel<JsonElement> _replies = System.Threading.Channels.Channel.CreateUnbounded<JsonElement>();

        private RawPublisher(IConnection connection, IChannel channel, string replyQueue)
        {
            _connection = connection;
            _channel = channel;
            _replyQueue = replyQueue;
        }

        public static async Task<RawPublisher> StartAsync()
        {
            var connection = await RabbitTestBroker.RawConnectionAsync();
            var channel = await connection.CreateChannelAsync();
            var queue = "reply_" + Guid.NewGuid().ToString("N");
            await channel.QueueDeclareAsync(queue, false, false, true);
            var publisher = new RawPublisher(connection, channel, queue);
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += (_, args) =>
            {
                using var outer = JsonDocument.Parse(args.Body);
                publisher._replies.Writer.TryWrite(JsonDocument.Parse(outer.RootElement.GetProperty("oslo.message").GetString()!).RootElement.Clone());
                return Task.CompletedTask;
            };
            await channel.BasicConsumeAsync(queue, true, consumer);
            return publisher;
        }

        public string ReplyQueue => _replyQueue;

        public async Task PublishAsync(string routingKey, byte[] body, BasicProperties? properties = null)
        {
            if (properties is null)
            {
                await _channel.BasicPublishAsync("nova", routingKey, body);
            }
            else
            {
                await _channel.BasicPublishAsync("nova", routingKey, mandatory: false, properties, body);
            }
        }

        public async Task<JsonElement> CallAsync(string routingKey, Func<string, string> body)
        {
            await PublishAsync(routingKey, Encoding.UTF8.GetBytes(body(_replyQueue)));
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            return await _replies.Reader.ReadAsync(timeout.Token);
        }

        public async ValueTask DisposeAsync()
        {
            await _channel.CloseAsync();
            await _connection.CloseAsync();
        }
    }
}
