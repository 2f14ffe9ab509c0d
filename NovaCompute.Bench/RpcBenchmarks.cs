using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using NovaCompute.Messaging;
using NovaCompute.Messaging.Rpc;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace NovaCompute.Bench;

/// <summary>
/// RPC call throughput, latency and server CPU per call, at concurrency 1, 8 and 64, for:
/// our client against our server; a raw RabbitMQ.Client request/reply loop with the same bodies and
/// delivery rules (persistent, publisher confirms, mandatory replies, prefetch 64, ack before work:
/// the floor any RabbitMQ RPC pays); and our client against a real oslo.messaging server when
/// Debian's python3-oslo.messaging is installed. Each server runs in a process of its own so that
/// its CPU time can be read from the kernel.
/// Every subject is first driven until neither its server process nor this one compiles methods any
/// more: a fresh .NET process on a busy two-core machine spends many seconds in tiered JIT, and
/// figures taken during that time measure how much code each side has to compile, not what a call
/// costs in a running daemon. All servers then run side by side and each concurrency is measured in
/// short rounds that alternate between the subjects, so that a change in the machine's background
/// load (other builds) falls on every subject alike instead of on whichever ran at the time.
/// To compare a change with the code before it in the same run, build the older tree's bench and
/// name its assembly in <c>NOVA_BENCH_RPC_BASELINE</c>: its server joins the rounds as "baseline".
/// </summary>
internal sealed class RpcBenchmarks : IBenchmark
{
    private const string RoleVariable = "NOVA_BENCH_RPC_ROLE";
    private const string TopicVariable = "NOVA_BENCH_RPC_TOPIC";
    private const string HostVariable = "NOVA_BENCH_RPC_HOST";
    private const string BaselineVariable = "NOVA_BENCH_RPC_BASELINE";
    private static readonly int[] Concurrencies = [1, 8, 64];
    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(0.5);
    private const int Rounds = 4;
    private static readonly TimeSpan SettleSlice = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan SettleLimit = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan UncountedSettle = TimeSpan.FromSeconds(3);
    private const int SettledJitDelta = 2;
    private const string JitQuery = "jit";

    public string Name => "rpc";

    public async Task<IReadOnlyList<BenchResult>> RunAsync(BenchEnvironment environment, CancellationToken cancellationToken)
    {
        var url = environment.TransportUrl ?? throw new InvalidOperationException("NOVA_TEST_TRANSPORT_URL is not set (run through ./build.sh bench)");
        switch (Environment.GetEnvironmentVariable(RoleVariable))
        {
            case "ours":
                await ServeOursAsync(url);
                return [];
            case "floor":
                await ServeFloorAsync(url);
                return [];
        }

        var results = new List<BenchResult>();
        var context = new RequestContext { UserId = "bench-user", ProjectId = "bench-project", IsAdmin = true };
        var settings = new RabbitSettings { TransportUrl = TransportUrl.Parse(url), ConnectionNamePrefix = "nova-bench" };
        await using var transport = new RabbitTransport(settings, NullLoggerFactory.Instance, TimeProvider.System);
        await using var waiter = new RpcReplyWaiter(transport, NullLogger<RpcReplyWaiter>.Instance);

        var subjects = new List<Subject>();
        try
        {
            {
                var (topic, host) = Names();
                var server = await ChildServer.StartAsync("ours", topic, host, url);
                var client = new RpcClient(waiter, new RpcTarget { Topic = topic, Server = host, Namespace = "baseapi", Version = "1.0" }, timeout: TimeSpan.FromSeconds(60));
                subjects.Add(new Subject("ours", server, i => client.CallAsync(context, "ping", PingArgs(i)), null));
            }
            if (Environment.GetEnvironmentVariable(BaselineVariable) is { Length: > 0 } baseline)
            {
                var (topic, host) = Names();
                var server = await ChildServer.StartAsync("ours", topic, host, url, baseline);
                var client = new RpcClient(waiter, new RpcTarget { Topic = topic, Server = host, Namespace = "baseapi", Version = "1.0" }, timeout: TimeSpan.FromSeconds(60));
                subjects.Add(new Subject("baseline", server, i => client.CallAsync(context, "ping", PingArgs(i)), null));
            }
            {
                var (topic, host) = Names();
                var server = await ChildServer.StartAsync("floor", topic, host, url);
                var floor = await FloorClient.StartAsync(url, $"{topic}.{host}", context);
                subjects.Add(new Subject("floor", server, floor.CallAsync, floor));
            }
            var script = OsloPeerScript();
            if (script is not null && OsloInstalled())
            {
                var (topic, host) = Names();
                var server = await ChildServer.StartPythonAsync(script, topic, host, url);
                var client = new RpcClient(waiter, new RpcTarget { Topic = topic, Server = host, Namespace = "baseapi", Version = "1.0" }, timeout: TimeSpan.FromSeconds(60));
                subjects.Add(new Subject("oslo server", server, i => client.CallAsync(context, "ping", PingArgs(i)), null));
            }
            else
            {
                Console.WriteLine("   (python3-oslo.messaging not installed: oslo server skipped)");
            }
            await MeasureAllAsync(subjects, results);
        }
        finally
        {
            foreach (var subject in subjects)
            {
                await subject.DisposeAsync();
            }
        }

        foreach (var c in Concurrencies)
        {
            Annotate(results, $"ours c={c}", "calls/s", $"floor c={c}", c == 64 ? ">= 0.8 x floor" : null);
            Annotate(results, $"ours c={c}", "server CPU", $"floor c={c}", c == 64 ? "<= 1.5 x floor" : null);
            Annotate(results, $"baseline c={c}", "calls/s", $"floor c={c}", null);
            Annotate(results, $"baseline c={c}", "server CPU", $"floor c={c}", null);
            if (results.Any(r => r.Subject == $"oslo server c={c}"))
            {
                var ours = results.Single(r => r.Subject == $"ours c={c}" && r.Metric == "calls/s");
                results.Add(ours with { Subject = $"ours c={c} (vs oslo)", Baseline = $"oslo server c={c}", Target = c == 64 ? ">= 5 x oslo" : null });
            }
        }
        return results;
    }

    private static void Annotate(List<BenchResult> results, string subject, string metric, string baseline, string? target)
    {
        var index = results.FindIndex(r => r.Subject == subject && r.Metric == metric);
        if (index >= 0)
        {
            results[index] = results[index] with { Baseline = baseline, Target = target };
        }
    }

    private static (string Topic, string Host) Names()
    {
        var id = Guid.NewGuid().ToString("N")[..10];
        return ($"bench-{id}", $"bench-host-{id}");
    }

    private static Dictionary<string, object?> PingArgs(int i) => new() { ["arg"] = new Dictionary<string, object?> { ["seq"] = i, ["tag"] = "anchor" } };

    private static async Task MeasureAllAsync(List<Subject> subjects, List<BenchResult> results)
    {
        foreach (var subject in subjects)
        {
            await SettleAsync(subject.Name, subject.Server, subject.Call);
        }
        var bySubject = subjects.Select(_ => new List<BenchResult>()).ToArray();
        foreach (var concurrency in Concurrencies)
        {
            var slice = TimeSpan.FromSeconds(concurrency == 1 ? 0.5 : 0.75);
            var tallies = subjects.Select(_ => new Tally()).ToArray();
            foreach (var subject in subjects)
            {
                await RunLoadAsync(subject.Call, concurrency, Warmup);
            }
            for (var round = 0; round < Rounds; round++)
            {
                for (var i = 0; i < subjects.Count; i++)
                {
                    var cpuBefore = subjects[i].Server.CpuTime();
                    var (calls, elapsed, latencies) = await RunLoadAsync(subjects[i].Call, concurrency, slice);
                    tallies[i].Add(calls, elapsed, subjects[i].Server.CpuTime() - cpuBefore, latencies);
                }
            }
            for (var i = 0; i < subjects.Count; i++)
            {
                var tally = tallies[i];
                tally.Latencies.Sort();
                var name = $"{subjects[i].Name} c={concurrency}";
                bySubject[i].Add(new BenchResult(name, "calls/s", tally.Calls / tally.Elapsed.TotalSeconds, "1/s"));
                bySubject[i].Add(new BenchResult(name, "p50 latency", Percentile(tally.Latencies, 0.50), "ms"));
                bySubject[i].Add(new BenchResult(name, "p99 latency", Percentile(tally.Latencies, 0.99), "ms"));
                bySubject[i].Add(new BenchResult(name, "server CPU", tally.Cpu.TotalMicroseconds / tally.Calls, "us/call"));
            }
        }
        results.AddRange(bySubject.SelectMany(r => r));
    }

    private sealed record Subject(string Name, ChildServer Server, Func<int, Task> Call, IAsyncDisposable? Client) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            if (Client is not null)
            {
                await Client.DisposeAsync();
            }
            await Server.DisposeAsync();
        }
    }

    private sealed class Tally
    {
        public int Calls { get; private set; }
        public TimeSpan Elapsed { get; private set; }
        public TimeSpan Cpu { get; private set; }
        public List<double> Latencies { get; } = [];

        public void Add(int calls, TimeSpan elapsed, TimeSpan cpu, List<double> latencies)
        {
            Calls += calls;
            Elapsed += elapsed;
            Cpu += cpu;
            Latencies.AddRange(latencies);
        }
    }

    /// <summary>
    /// Drives the server at the highest concurrency until one slice passes in which neither process
    /// compiled more than a couple of methods (tier-1 promotion, OSR, PGO rejits). A server that
    /// cannot say (the Python one) gets a fixed warm-up instead.
    /// </summary>
    private static async Task SettleAsync(string subject, ChildServer server, Func<int, Task> call)
    {
        var concurrency = Concurrencies[^1];
        var started = Stopwatch.StartNew();
        var serverJit = await server.JitCountAsync();
        if (serverJit is null)
        {
            await RunLoadAsync(call, concurrency, UncountedSettle);
            return;
        }
        var ownJit = System.Runtime.JitInfo.GetCompiledMethodCount();
        while (started.Elapsed < SettleLimit)
        {
            await RunLoadAsync(call, concurrency, SettleSlice);
            var (serverNow, ownNow) = (await server.JitCountAsync(), System.Runtime.JitInfo.GetCompiledMethodCount());
            if (serverNow - serverJit <= SettledJitDelta && ownNow - ownJit <= SettledJitDelta)
            {
                return;
            }
            (serverJit, ownJit) = (serverNow, ownNow);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"   ({subject}: still compiling after {SettleLimit.TotalSeconds} s of warm-up; its figures include JIT time)"));
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))];

    private static async Task<(int Calls, TimeSpan Elapsed, List<double> LatenciesMs)> RunLoadAsync(Func<int, Task> call, int concurrency, TimeSpan duration)
    {
        var latencies = new ConcurrentBag<List<double>>();
        var calls = 0;
        var sequence = 0;
        var watch = Stopwatch.StartNew();
        var until = duration.TotalSeconds;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            var mine = new List<double>(4096);
            while (watch.Elapsed.TotalSeconds < until)
            {
                var start = Stopwatch.GetTimestamp();
                await call(Interlocked.Increment(ref sequence));
                mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                Interlocked.Increment(ref calls);
            }
            latencies.Add(mine);
        })));
        return (calls, watch.Elapsed, latencies.SelectMany(l => l).ToList());
    }

    private static string? OsloPeerScript()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "NovaCompute.Tests", "Messaging", "Python", "oslo_peer.py");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    private static bool OsloInstalled()
    {
        if (!File.Exists("/usr/bin/python3"))
        {
            return false;
        }
        using var probe = Process.Start(new ProcessStartInfo("/usr/bin/python3", "-c \"import oslo_messaging\"") { RedirectStandardError = true })!;
        probe.WaitForExit();
        return probe.ExitCode == 0;
    }

    // ---- child server roles -------------------------------------------------------------------

    private static async Task ServeOursAsync(string url)
    {
        var topic = Environment.GetEnvironmentVariable(TopicVariable)!;
        var host = Environment.GetEnvironmentVariable(HostVariable)!;
        var settings = new RabbitSettings { TransportUrl = TransportUrl.Parse(url), ConnectionNamePrefix = "nova-bench-server" };
        await using var transport = new RabbitTransport(settings, NullLoggerFactory.Instance, TimeProvider.System);
        var dispatcher = new RpcDispatcher([new BaseRpcApi("compute")]);
        await using var server = new RpcServer(transport, new RpcServerSettings { Topic = topic, Server = host, ExecutorThreadPoolSize = 64 },
            dispatcher, NullLogger<RpcServer>.Instance);
        await server.StartAsync(CancellationToken.None);
        Console.WriteLine("READY");
        await AnswerUntilStdinClosedAsync();
        await server.StopAsync(CancellationToken.None);
    }

    private static async Task ServeFloorAsync(string url)
    {
        var topic = Environment.GetEnvironmentVariable(TopicVariable)!;
        var host = Environment.GetEnvironmentVariable(HostVariable)!;
        var queue = $"{topic}.{host}";
        var (consumeConnection, publishConnection) = (await RawConnectionAsync(url), await RawConnectionAsync(url));
        var channel = await consumeConnection.CreateChannelAsync(new CreateChannelOptions(false, false, consumerDispatchConcurrency: 1));
        var publish = await publishConnection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        await channel.ExchangeDeclareAsync("nova", ExchangeType.Topic, durable: false, autoDelete: false);
        await channel.QueueDeclareAsync(queue, durable: false, exclusive: false, autoDelete: true);
        await channel.QueueBindAsync(queue, "nova", queue);
        await channel.BasicQosAsync(0, 64, false);
        var reply = RpcMessages.Reply(new string('0', 32), new Dictionary<string, object?> { ["service"] = "compute", ["arg"] = new { seq = 0, tag = "anchor" } },
            null, ending: true, JsonRpcEntitySerializer.Instance, null);
        using var workers = new SemaphoreSlim(64);
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += async (_, delivery) =>
        {
            var replyTo = delivery.BasicProperties.ReplyTo!;
            var correlation = delivery.BasicProperties.CorrelationId;
            await workers.WaitAsync();
            await channel.BasicAckAsync(delivery.DeliveryTag, false);
            _ = Task.Run(async () =>
            {
                try
                {
                    var props = new BasicProperties
                    {
                        ContentType = "application/json",
                        ContentEncoding = "utf-8",
                        DeliveryMode = DeliveryModes.Persistent,
                        Priority = 0,
                        CorrelationId = correlation,
                    };
                    await publish.BasicPublishAsync("", replyTo, mandatory: true, props, reply);
                }
                finally
                {
                    workers.Release();
                }
            });
        };
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
        Console.WriteLine("READY");
        await AnswerUntilStdinClosedAsync();
        await channel.CloseAsync();
        await publish.CloseAsync();
        await consumeConnection.CloseAsync();
        await publishConnection.CloseAsync();
    }

    // Console.In reads synchronously even through its async API: keep that off the thread pool,
    // where one blocked worker of two would distort every figure. Each "jit" line is answered with
    // the number of methods this process has compiled so far.
    private static Task AnswerUntilStdinClosedAsync() =>
        Task.Factory.StartNew(() =>
        {
            while (Console.In.ReadLine() is { } line)
            {
                if (line == JitQuery)
                {
                    Console.WriteLine(System.Runtime.JitInfo.GetCompiledMethodCount().ToString(CultureInfo.InvariantCulture));
                }
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static async Task<IConnection> RawConnectionAsync(string url)
    {
        var parsed = TransportUrl.Parse(url);
        var host = parsed.Hosts.Count > 0 ? parsed.Hosts[0] : new TransportHost("localhost", null, null, null);
        var factory = new ConnectionFactory
        {
            HostName = host.Host,
            Port = host.Port ?? 5672,
            UserName = host.UserName ?? "guest",
            Password = host.Password ?? "guest",
            VirtualHost = parsed.EffectiveVirtualHost,
        };
        return await factory.CreateConnectionAsync();
    }

    /// <summary>The floor's client: the same request body, AMQP correlation instead of parsing.</summary>
    private sealed class FloorClient : IAsyncDisposable
    {
        private readonly IConnection _publishConnection;
        private readonly IConnection _consumeConnection;
        private readonly IChannel _publish;
        private readonly string _routingKey;
        private readonly string _replyQueue;
        private readonly byte[] _body;
        private readonly ConcurrentDictionary<string, TaskCompletionSource> _pending = new();

        private FloorClient(IConnection publishConnection, IConnection consumeConnection, IChannel publish, string routingKey, string replyQueue, byte[] body)
        {
            _publishConnection = publishConnection;
            _consumeConnection = consumeConnection;
            _publish = publish;
            _routingKey = routingKey;
            _replyQueue = replyQueue;
            _body = body;
        }

        public static async Task<FloorClient> StartAsync(string url, string routingKey, RequestContext context)
        {
            var publishConnection = await RawConnectionAsync(url);
            var consumeConnection = await RawConnectionAsync(url);
            var publish = await publishConnection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
            var consume = await consumeConnection.CreateChannelAsync();
            var replyQueue = "reply_" + Guid.NewGuid().ToString("N");
            await consume.QueueDeclareAsync(replyQueue, durable: false, exclusive: false, autoDelete: true);
            var body = RpcMessages.Request(new RpcMessages.RequestDraft("ping", PingArgs(0), "baseapi", "1.0",
                new RpcMessages.CallFields(Guid.NewGuid().ToString("N"), replyQueue, null), Guid.NewGuid().ToString("N"), context,
                JsonRpcEntitySerializer.Instance));
            var client = new FloorClient(publishConnection, consumeConnection, publish, routingKey, replyQueue, body);
            var consumer = new AsyncEventingBasicConsumer(consume);
            consumer.ReceivedAsync += (_, delivery) =>
            {
                if (delivery.BasicProperties.CorrelationId is { } id && client._pending.TryRemove(id, out var waiting))
                {
                    waiting.TrySetResult();
                }
                return Task.CompletedTask;
            };
            await consume.BasicConsumeAsync(replyQueue, autoAck: true, consumer);
            return client;
        }

        public async Task CallAsync(int sequence)
        {
            var id = sequence.ToString(CultureInfo.InvariantCulture);
            var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _pending[id] = waiting;
            var props = new BasicProperties
            {
                ContentType = "application/json",
                ContentEncoding = "utf-8",
                DeliveryMode = DeliveryModes.Persistent,
                Priority = 0,
                Expiration = "60000",
                CorrelationId = id,
                ReplyTo = _replyQueue,
            };
            await _publish.BasicPublishAsync("nova", _routingKey, mandatory: true, props, _body);
            await waiting.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }

        public async ValueTask DisposeAsync()
        {
            await _publishConnection.CloseAsync();
            await _consumeConnection.CloseAsync();
        }
    }

    /// <summary>A server in a process of its own; stopped by closing its stdin.</summary>
    private sealed class ChildServer : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly bool _answersJitQueries;

        private ChildServer(Process process, bool answersJitQueries)
        {
            _process = process;
            _answersJitQueries = answersJitQueries;
        }

        /// <summary>Methods the server process has compiled so far; null for a server that does not say.</summary>
        public async Task<long?> JitCountAsync()
        {
            if (!_answersJitQueries)
            {
                return null;
            }
            await _process.StandardInput.WriteLineAsync(JitQuery);
            await _process.StandardInput.FlushAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var line = await _process.StandardOutput.ReadLineAsync(timeout.Token)
                ?? throw new InvalidOperationException("server process exited during the benchmark");
            return long.Parse(line, CultureInfo.InvariantCulture);
        }

        public TimeSpan CpuTime()
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }

        /// <param name="assembly">Another build's NovaCompute.Bench.dll to run instead of this one.</param>
        public static Task<ChildServer> StartAsync(string role, string topic, string host, string url, string? assembly = null)
        {
            var self = Environment.ProcessPath!;
            var start = new ProcessStartInfo(assembly is null ? self : "dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true };
            if (assembly is not null || Path.GetFileNameWithoutExtension(self) == "dotnet")
            {
                start.ArgumentList.Add(assembly ?? typeof(RpcBenchmarks).Assembly.Location);
            }
            start.ArgumentList.Add("rpc");
            start.Environment[RoleVariable] = role;
            start.Environment[TopicVariable] = topic;
            start.Environment[HostVariable] = host;
            start.Environment["NOVA_TEST_TRANSPORT_URL"] = url;
            return WaitReadyAsync(Process.Start(start)!, answersJitQueries: true);
        }

        public static Task<ChildServer> StartPythonAsync(string script, string topic, string host, string url)
        {
            var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { script, "serve", "--url", url, "--topic", topic, "--server", host })
            {
                start.ArgumentList.Add(a);
            }
            var process = Process.Start(start)!;
            _ = process.StandardError.ReadToEndAsync();
            return WaitReadyAsync(process, answersJitQueries: false);
        }

        private static async Task<ChildServer> WaitReadyAsync(Process process, bool answersJitQueries)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                if (line == "READY")
                {
                    if (!answersJitQueries)
                    {
                        _ = process.StandardOutput.ReadToEndAsync();
                    }
                    return new ChildServer(process, answersJitQueries);
                }
            }
            throw new InvalidOperationException("server process exited before it was ready");
        }

        public async ValueTask DisposeAsync()
        {
            _process.StandardInput.Close();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
            _process.Dispose();
        }
    }
}
