using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using NovaCompute.Messaging;
using NovaCompute.Messaging.Rpc;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Messaging.Rpc;

/// <summary>
/// A server and a client on the test vhost with a topic and host of their own, plus a
/// <see cref="TestEndpoint"/> that lets tests steer what the server does.
/// </summary>
internal sealed class RpcTestRig : IAsyncDisposable
{
    private RpcTestRig(string topic, string host, RabbitTransport transport, RpcServer server, RpcReplyWaiter waiter,
        LogCollector logs, ILoggerFactory loggerFactory, TestEndpoint endpoint, string connectionPrefix)
    {
        Topic = topic;
        Host = host;
        Transport = transport;
        Server = server;
        Waiter = waiter;
        Logs = logs;
        LoggerFactory = loggerFactory;
        Endpoint = endpoint;
        ConnectionPrefix = connectionPrefix;
    }

    public string Topic { get; }
    public string Host { get; }
    public RabbitTransport Transport { get; }
    public RpcServer Server { get; }
    public RpcReplyWaiter Waiter { get; }
    public LogCollector Logs { get; }
    public ILoggerFactory LoggerFactory { get; }
    public TestEndpoint Endpoint { get; }
    public string ConnectionPrefix { get; }

    /// <summary>A client for the rig's topic (any server).</summary>
    public RpcClient Client(string? server = null, string? version = "6.0", string? @namespace = null, TimeSpan? timeout = null) =>
        new(Waiter, new RpcTarget { Topic = Topic, Server = server, Version = version, Namespace = @namespace }, timeout: timeout ?? TimeSpan.FromSeconds(15));

    public static async Task<RpcTestRig> StartAsync(Func<RpcServerSettings, RpcServerSettings>? configure = null,
        Func<RabbitSettings, RabbitSettings>? configureRabbit = null, TimeProvider? time = null)
    {
        var prefix = RabbitTestBroker.UniqueName("nova-test");
        var rabbit = RabbitTestBroker.Settings(prefix);
        rabbit = configureRabbit?.Invoke(rabbit) ?? rabbit;
        var logs = new LogCollector();
        var loggerFactory = logs.CreateFactory();
        var topic = RabbitTestBroker.UniqueName("topic");
        var host = RabbitTestBroker.UniqueName("host");
        var transport = new RabbitTransport(rabbit, loggerFactory, time ?? TimeProvider.System);
        var endpoint = new TestEndpoint(loggerFactory.CreateLogger<TestEndpoint>());
        var dispatcher = new RpcDispatcher([endpoint, new BaseRpcApi("compute")], JsonRpcEntitySerializer.Instance, loggerFactory.CreateLogger<RpcDispatcher>());
        var settings = new RpcServerSettings
        {
            Topic = topic,
            Server = host,
            ExecutorThreadPoolSize = 8,
            GracefulShutdownTimeout = TimeSpan.FromSeconds(10),
        };
        settings = configure?.Invoke(settings) ?? settings;
        var server = new RpcServer(transport, settings, dispatcher, loggerFactory.CreateLogger<RpcServer>(), time);
        using var start = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await server.StartAsync(start.Token);
        var waiter = new RpcReplyWaiter(transport, loggerFactory.CreateLogger<RpcReplyWaiter>());
        return new RpcTestRig(topic, host, transport, server, waiter, logs, loggerFactory, endpoint, prefix);
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        await Waiter.DisposeAsync();
        await Transport.DisposeAsync();
        LoggerFactory.Dispose();
    }

    /// <summary>Runs the real oslo/nova peer script and returns its JSON output.</summary>
    public static async Task<JsonElement> RunPeerAsync(params string[] args)
    {
        var python = TestServices.SystemPython;
        var script = Path.Combine(TestContext.CurrentContext.TestDirectory, "Messaging", "Python", "oslo_peer.py");
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(45));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"peer {string.Join(' ', args.Take(1))} did not finish; stdout: {await stdout}; stderr: {await stderr}");
        }
        var output = (await stdout).Trim();
        var lastLine = output.Split('\n').LastOrDefault(l => l.StartsWith('{'));
        if (lastLine is null)
        {
            Assert.Fail($"peer printed no JSON (exit {process.ExitCode}); stdout: {output}; stderr: {await stderr}");
        }
        return JsonDocument.Parse(lastLine!).RootElement.Clone();
    }
}

/// <summary>An endpoint in the default namespace at version 6.1, like nova's ComputeManager.</summary>
[RpcEndpoint(Version = "6.1")]
internal sealed class TestEndpoint(ILogger<TestEndpoint> logger) : IRpcEndpoint
{
    private int _running;
    private int _maxRunning;

    public Channel<int> Casts { get; } = Channel.CreateUnbounded<int>();
    public ConcurrentDictionary<string, TaskCompletionSource> Gates { get; } = new();
    public ConcurrentQueue<RequestContext> Contexts { get; } = new();
    public int MaxRunning => Volatile.Read(ref _maxRunning);
    public int Started;
    public TaskCompletionSource<CancellationToken> Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    [RpcMethod]
    public object Echo(RequestContext context, JsonElement arg)
    {
        Contexts.Enqueue(context);
        logger.LogInformation("echo called");
        return new Dictionary<string, object?> { ["arg"] = arg, ["request_id"] = context.RequestId };
    }

    [RpcMethod]
    public int Add(int a, int b = 1) => a + b;

    [RpcMethod("fail_nova")]
    public void FailNova(string host) =>
        throw new RemoteException("ComputeHostNotFound", "nova.exception", $"Compute host {host} could not be found.",
            new Dictionary<string, object?> { ["host"] = host, ["code"] = 404 });

    [RpcMethod]
    public void FailPlain(string message) => throw new InvalidOperationException(message);

    [RpcMethod]
    public void FailValue(string message) => throw new ArgumentException(message);

    [RpcMethod]
    public async Task<string> Slow(double secs, CancellationToken cancellationToken)
    {
        await Task.Delay(TimeSpan.FromSeconds(secs), cancellationToken);
        return "done";
    }

    /// <summary>Waits until the test opens gate <paramref name="key"/>; records how many ran at once.</summary>
    [RpcMethod]
    public async Task<string> Block(string key, CancellationToken cancellationToken)
    {
        var running = Interlocked.Increment(ref _running);
        Interlocked.Increment(ref Started);
        int max;
        while ((max = Volatile.Read(ref _maxRunning)) < running && Interlocked.CompareExchange(ref _maxRunning, running, max) != max)
        {
        }
        try
        {
            var gate = Gates.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            await gate.Task.WaitAsync(cancellationToken);
            return key;
        }
        catch (OperationCanceledException)
        {
            Cancelled.TrySetResult(cancellationToken);
            throw;
        }
        finally
        {
            Interlocked.Decrement(ref _running);
        }
    }

    public void Open(string key) => Gates.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    [RpcMethod]
    public void Sink(int seq) => Casts.Writer.TryWrite(seq);

    [RpcMethod]
    public Dictionary<string, object?> Unserializable() => new() { ["bad"] = new IntPtr(1).GetType() };

    public void NotExposed()
    {
    }
}
