using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using NovaCompute.Messaging;
using NovaCompute.Messaging.Rpc;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace NovaCompute.Bench;

/// <summary>The servers the RPC benchmark drives, each in a process of its own.</summary>
internal sealed partial class RpcBenchmarks
{
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

    /// <summary>
    /// The floor: what any RabbitMQ RPC server must do for oslo's protocol and nothing else. It takes
    /// <c>_msg_id</c> and <c>_reply_q</c> out of the body by a byte search (no JSON parse, no
    /// context, no dispatch), acknowledges before work as oslo does, and publishes a prepared reply
    /// with that id spliced in: mandatory, persistent, with a publisher confirm (oslo's
    /// <c>confirm_publish</c>), on a connection of its own.
    /// </summary>
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
        var placeholder = new string('0', 32);
        var template = RpcMessages.Reply(placeholder, new Dictionary<string, object?> { ["service"] = "compute", ["arg"] = new Dictionary<string, object?> { ["seq"] = 0, ["tag"] = "anchor" } },
            null, ending: true, JsonRpcEntitySerializer.Instance, null);
        var idAt = template.AsSpan().IndexOf(Encoding.ASCII.GetBytes(placeholder));
        using var workers = new SemaphoreSlim(64);
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += async (_, delivery) =>
        {
            var body = delivery.Body.Span;
            var msgId = StringAfter(body, "_msg_id\\\":\\\""u8);
            var replyTo = Encoding.ASCII.GetString(StringAfter(body, "_reply_q\\\":\\\""u8));
            var reply = (byte[])template.Clone();
            msgId.CopyTo(reply.AsSpan(idAt, 32));
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

    // The value of a string member in the enveloped (escaped) inner message, as our client writes it.
    private static ReadOnlySpan<byte> StringAfter(ReadOnlySpan<byte> body, ReadOnlySpan<byte> key)
    {
        var at = body.IndexOf(key);
        if (at < 0)
        {
            throw new InvalidDataException("request without " + Encoding.ASCII.GetString(key));
        }
        var rest = body[(at + key.Length)..];
        return rest[..rest.IndexOf((byte)'\\')];
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

    /// <summary>A plain RabbitMQ.Client connection to the first host of a transport URL.</summary>
    internal static async Task<IConnection> RawConnectionAsync(string url)
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

    /// <summary>A server in a process of its own.</summary>
    internal sealed partial class ChildServer : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly bool _answersJitQueries;
        private readonly IDisposable? _owned;

        private ChildServer(Process process, bool answersJitQueries, TimeSpan startToReady, IDisposable? owned = null)
        {
            _process = process;
            _answersJitQueries = answersJitQueries;
            StartToReady = startToReady;
            _owned = owned;
        }

        public int Pid => _process.Id;

        /// <summary>From <see cref="Process.Start()"/> to READY (a bench server) or READY=1 (the daemon).</summary>
        public TimeSpan StartToReady { get; }

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

        public TimeSpan CpuTime() => ProcFigures.CpuTime(_process.Id);

        public double RssMiB() => ProcFigures.RssMiB(_process.Id);

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
            var started = Stopwatch.GetTimestamp();
            return WaitReadyAsync(Process.Start(start)!, answersJitQueries: true, started);
        }

        public static Task<ChildServer> StartPythonAsync(string script, string topic, string host, string url)
        {
            var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { script, "serve", "--url", url, "--topic", topic, "--server", host })
            {
                start.ArgumentList.Add(a);
            }
            var started = Stopwatch.GetTimestamp();
            var process = Process.Start(start)!;
            _ = process.StandardError.ReadToEndAsync();
            return WaitReadyAsync(process, answersJitQueries: false, started);
        }

        /// <summary>
        /// The published daemon as systemd runs it: local SQLite (an explicit <c>[database] connection</c>: without one the daemon waits for nova-conductor) under a directory of its own, the
        /// fake driver, logging to a file, and a NOTIFY_SOCKET this process bound; ready when READY=1
        /// arrives (service record written, RPC consumers subscribed).
        /// </summary>
        public static async Task<ChildServer> StartDaemonAsync(string executable, string host, string url, string directory)
        {
            Directory.CreateDirectory(directory);
            var conf = Path.Combine(directory, "nova-compute.conf");
            await File.WriteAllTextAsync(conf, $"""
                [DEFAULT]
                host = {host}
                compute_driver = fake.FakeDriver
                state_path = {directory}
                log_file = {Path.Combine(directory, "nova-compute.log")}
                transport_url = {url}

                [database]
                connection = sqlite:///{Path.Combine(directory, "nova.sqlite")}
                """);
            var socketPath = Path.Combine(directory, "notify.sock");
            var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            notify.Bind(new UnixDomainSocketEndPoint(socketPath));
            var start = new ProcessStartInfo(executable) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add("--config-file");
            start.ArgumentList.Add(conf);
            start.Environment["NOTIFY_SOCKET"] = socketPath;
            start.Environment.Remove("JOURNAL_STREAM");
            var started = Stopwatch.GetTimestamp();
            var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            var buffer = new byte[64 * 1024];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            try
            {
                while (true)
                {
                    var count = await notify.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                    if (Encoding.UTF8.GetString(buffer, 0, count).Split('\n').Contains("READY=1"))
                    {
                        break;
                    }
                }
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
                var log = Path.Combine(directory, "nova-compute.log");
                var tail = File.Exists(log) ? string.Join('\n', File.ReadLines(log).TakeLast(20)) : "(no log file)";
                throw new InvalidOperationException($"the daemon sent no READY=1 within 120 s: {await output}{await errors}\nlast lines of {log}:\n{tail}");
            }
            var ready = Stopwatch.GetElapsedTime(started);
            // Later STATUS= updates must not fill the socket's queue: read and drop them.
            _ = Task.Run(async () =>
            {
                try
                {
                    while (true)
                    {
                        await notify.ReceiveAsync(buffer, SocketFlags.None);
                    }
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    // Closed at dispose.
                }
            });
            return new ChildServer(process, answersJitQueries: false, ready, notify);
        }

        private static async Task<ChildServer> WaitReadyAsync(Process process, bool answersJitQueries, long started)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                if (line == "READY")
                {
                    var ready = Stopwatch.GetElapsedTime(started);
                    if (!answersJitQueries)
                    {
                        _ = process.StandardOutput.ReadToEndAsync();
                    }
                    return new ChildServer(process, answersJitQueries, ready);
                }
            }
            throw new InvalidOperationException("server process exited before it was ready");
        }

        public async ValueTask DisposeAsync()
        {
            // Bench servers stop when stdin closes; the daemon on SIGTERM, as under systemd.
            _process.StandardInput.Close();
            if (_owned is not null && !_process.HasExited)
            {
                _ = kill(_process.Id, 15);
            }
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
            _owned?.Dispose();
        }

        [LibraryImport("libc", SetLastError = true)]
        private static partial int kill(int pid, int sig);
    }

    /// <summary><c>dist/nova-compute/nova-compute</c> of this tree (<c>./build.sh bench</c> publishes it), or null.</summary>
    internal static string? PublishedDaemon()
    {
        if (Environment.GetEnvironmentVariable("NOVA_COMPUTE_PUBLISHED") is { Length: > 0 } given)
        {
            return given;
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "dist", "nova-compute", "nova-compute");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }
}
