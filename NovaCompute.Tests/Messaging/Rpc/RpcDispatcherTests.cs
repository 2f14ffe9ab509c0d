using System.Text.Json;
using Microsoft.Extensions.Logging;
using NovaCompute.Messaging.Rpc;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Messaging.Rpc;

public class RpcDispatcherTests
{
    [RpcEndpoint(Version = "6.1")]
    private sealed class Manager : IRpcEndpoint
    {
        [RpcMethod]
        public string WhoAmI() => "manager";

        [RpcMethod]
        public async Task<int> AddAsync(int a, [RpcArgument("second")] int b) { await Task.Yield(); return a + b; }

        [RpcMethod]
        public string? Optional(string? text = "default") => text;

        [RpcMethod]
        public string Context(RequestContext context) => context.RequestId;
    }

    [RpcEndpoint(Version = "5.13")]
    private sealed class V5Proxy : IRpcEndpoint
    {
        [RpcMethod("who_am_i")]
        public string WhoAmI() => "proxy";
    }

    [RpcEndpoint(Namespace = "baseapi", Version = "1.1", LegacyNamespaces = ["oldapi"])]
    private sealed class Base : IRpcEndpoint
    {
        [RpcMethod]
        public string WhoAmI() => "base";
    }

    [RpcEndpoint]
    private sealed class Underscored : IRpcEndpoint
    {
        [RpcMethod("_hidden")]
        public void Hidden()
        {
        }
    }

    private sealed class Unmarked : IRpcEndpoint;

    [RpcEndpoint]
    private sealed class Results : IRpcEndpoint
    {
        [RpcMethod]
        public async Task<string> Text() { await Task.Yield(); return "text"; }

        [RpcMethod]
        public async ValueTask<int?> Maybe() { await Task.Yield(); return 7; }
    }

    [RpcEndpoint]
    private sealed class StructResult : IRpcEndpoint
    {
        [RpcMethod]
        public Task<TimeSpan> Elapsed() => Task.FromResult(TimeSpan.Zero);
    }

    private sealed class Recording : IRpcEntitySerializer
    {
        public List<Type> Deserialized { get; } = [];

        public void Serialize(Utf8JsonWriter writer, RequestContext? context, object? value) => JsonRpcEntitySerializer.Instance.Serialize(writer, context, value);

        public object? Deserialize(RequestContext? context, JsonElement value, Type type)
        {
            Deserialized.Add(type);
            return JsonRpcEntitySerializer.Instance.Deserialize(context, value, type);
        }
    }

    private static readonly RpcDispatcher Dispatcher = new([new Manager(), new Base(), new V5Proxy()]);

    private static ValueTask<object?> Dispatch(string method, string args = "{}", string? ns = null, string? version = null, RpcDispatcher? dispatcher = null) =>
        (dispatcher ?? Dispatcher).DispatchAsync(new RpcRequest(method, JsonDocument.Parse(args).RootElement, ns, version, new RequestContext()), CancellationToken.None);

    [TestCase("6.0", null, "manager")]
    [TestCase("6.1", null, "manager")]
    [TestCase("5.13", null, "proxy")]
    [TestCase("1.1", "baseapi", "base")]
    [TestCase("1.0", "oldapi", "base")]
    public async Task Dispatch_FirstCompatibleEndpointInOrder_Serves(string version, string? ns, string expected)
    {
        Assert.That(await Dispatch("who_am_i", ns: ns, version: version), Is.EqualTo(expected));
    }

    [TestCase("6.2")]
    [TestCase("5.14")]
    [TestCase("7.0")]
    public void Dispatch_NoCompatibleEndpoint_UnsupportedVersion(string version)
    {
        var ex = Assert.ThrowsAsync<UnsupportedVersionException>(async () => await Dispatch("who_am_i", version: version));
        Assert.That(ex!.Message, Is.EqualTo($"Endpoint does not support RPC version {version}. Attempted method: who_am_i"));
    }

    [Test]
    public void Dispatch_NoVersion_MeansOneDotZero()
    {
        Assert.ThrowsAsync<UnsupportedVersionException>(async () => await Dispatch("who_am_i"));
    }

    [Test]
    public async Task Dispatch_AsyncMethodRenamedArgumentAndDefaults_Bound()
    {
        Assert.That(await Dispatch("add", """{"a": 2, "second": 3}""", version: "6.0"), Is.EqualTo(5));
        Assert.That(await Dispatch("optional", version: "6.0"), Is.EqualTo("default"));
        Assert.That(await Dispatch("optional", """{"text": null}""", version: "6.0"), Is.Null);
    }

    [Test]
    public async Task Dispatch_ContextParameter_ReceivesTheCallersContext()
    {
        var context = new RequestContext();
        var result = await Dispatcher.DispatchAsync(new RpcRequest("context", default, null, "6.0", context), CancellationToken.None);
        Assert.That(result, Is.EqualTo(context.RequestId));
    }

    [Test]
    public void Dispatch_MissingTwoArguments_PythonsWording()
    {
        var ex = Assert.ThrowsAsync<RpcArgumentException>(async () => await Dispatch("add", version: "6.0"));
        Assert.That(ex!.Message, Is.EqualTo("add() missing 2 required positional arguments: 'a' and 'second'"));
    }

    [Test]
    public async Task Dispatch_ArgumentsGoThroughThePluggedSerializer()
    {
        var serializer = new Recording();
        var dispatcher = new RpcDispatcher([new Manager()], serializer);
        await Dispatch("add", """{"a": 2, "second": 3}""", version: "6.0", dispatcher: dispatcher);
        Assert.That(serializer.Deserialized, Is.EqualTo(new[] { typeof(int), typeof(int) }));
    }

    [Test]
    public void Construct_MethodNameStartingWithUnderscore_Refused()
    {
        Assert.That(() => new RpcDispatcher([new Underscored()]), Throws.ArgumentException.With.Message.Contains("would never be callable"));
    }

    [Test]
    public void Construct_EndpointWithoutAttribute_Refused()
    {
        Assert.That(() => new RpcDispatcher([new Unmarked()]), Throws.ArgumentException.With.Message.Contains("is not marked [RpcEndpoint]"));
    }

    [Test]
    public void Construct_TaskOfAnUnlistedValueType_RefusedNamingTheMethod()
    {
        Assert.That(() => new RpcDispatcher([new StructResult()]),
            Throws.ArgumentException.With.Message.Contains("StructResult.Elapsed").And.Message.Contains("not of TimeSpan"));
    }

    [Test]
    public async Task Dispatch_TaskOfAClassAndValueTaskOfAValue_ResultsUnwrapped()
    {
        var dispatcher = new RpcDispatcher([new Results()]);
        Assert.That(await Dispatch("text", dispatcher: dispatcher), Is.EqualTo("text"));
        Assert.That(await Dispatch("maybe", dispatcher: dispatcher), Is.EqualTo(7));
    }

    [Test]
    public async Task DispatchAsync_LogScope_OpenedWhileTheMethodRuns()
    {
        var logs = new LogCollector();
        using var factory = logs.CreateFactory();
        var logger = factory.CreateLogger<RpcDispatcher>();
        var endpoint = new Logging(factory.CreateLogger("endpoint"));
        var dispatcher = new RpcDispatcher([endpoint], logger: logger);
        var context = new RequestContext { UserId = "u", ProjectId = "p" };

        await dispatcher.DispatchAsync(new RpcRequest("work", default, null, null, context), CancellationToken.None);

        var line = logs.Entries.Single();
        Assert.That(line.Scope["RequestId"], Is.EqualTo(context.RequestId));
        Assert.That(line.Scope["UserId"], Is.EqualTo("u"));
    }

    [Test]
    public void SnakeCase_ClrNames_NovasNames()
    {
        Assert.That(RpcDispatcher.SnakeCase("GetBackdoorPortAsync"), Is.EqualTo("get_backdoor_port"));
        Assert.That(RpcDispatcher.SnakeCase("Ping"), Is.EqualTo("ping"));
        Assert.That(RpcDispatcher.SnakeCase("instanceUuid"), Is.EqualTo("instance_uuid"));
        Assert.That(RpcDispatcher.SnakeCase("HTTPServer"), Is.EqualTo("http_server"));
        Assert.That(RpcDispatcher.SnakeCase("GetV2Console"), Is.EqualTo("get_v2_console"));
    }

    [RpcEndpoint]
    private sealed class Logging(ILogger logger) : IRpcEndpoint
    {
        [RpcMethod]
        public async Task Work()
        {
            await Task.Yield();
            logger.LogInformation("working");
        }
    }
}
