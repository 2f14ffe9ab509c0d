using System.Diagnostics;
using System.Text.Json;
using NovaCompute.Messaging.Rpc;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Messaging.Rpc;

/// <summary>
/// Our server called by real oslo.messaging 14 and nova 26 clients, and our client calling a real
/// oslo.messaging server, all from Debian's packages through <c>Python/oslo_peer.py</c>.
/// </summary>
[Parallelizable(ParallelScope.All)]
public class OsloInteropTests
{
    private static string[] Peer(RpcTestRig rig, string mode, params string[] more) =>
        [mode, "--url", TestServices.TransportUrl, "--topic", rig.Topic, .. more];

    [Test]
    public async Task OsloClient_PingsBaseApi_GetsNovasAnswer()
    {
        await using var rig = await RpcTestRig.StartAsync();

        var output = await RpcTestRig.RunPeerAsync(Peer(rig, "call", "--namespace", "baseapi", "--version", "1.0", "--method", "ping",
            "--args", """{"arg": {"a": 1, "text": "h\u00e9llo"}}"""));

        Assert.That(output.GetProperty("ok").GetRawText(), Is.EqualTo("""{"service": "compute", "arg": {"a": 1, "text": "h\u00e9llo"}}"""));
    }

    [Test]
    public async Task OsloClient_CallsDefaultNamespace_ResultAndContextArrive()
    {
        await using var rig = await RpcTestRig.StartAsync();

        var output = await RpcTestRig.RunPeerAsync(Peer(rig, "call", "--server", rig.Host, "--version", "6.0", "--method", "echo",
            "--args", """{"arg": [1, 2, 3]}""", "--request-id", "req-12345678-1234-1234-1234-123456789012"));

        Assert.That(output.GetProperty("ok").GetProperty("arg").GetRawText(), Is.EqualTo("[1, 2, 3]"));
        Assert.That(rig.Endpoint.Contexts.Single().RequestId, Is.EqualTo("req-12345678-1234-1234-1234-123456789012"));
        Assert.That(rig.Endpoint.Contexts.Single().UserId, Is.EqualTo("peer-user"));
    }

    [Test]
    public async Task NovaClient_AllowsNovaException_RebuildsTheRealClass()
    {
        await using var rig = await RpcTestRig.StartAsync();

        var output = await RpcTestRig.RunPeerAsync(Peer(rig, "call", "--version", "6.0", "--method", "fail_nova",
            "--args", """{"host": "nohost"}""", "--allowed-exmods", "nova.exception"));

        var error = output.GetProperty("error");
        Assert.That(error.GetProperty("class").GetString(), Is.EqualTo("ComputeHostNotFound_Remote"));
        Assert.That(error.GetProperty("mro").EnumerateArray().Select(e => e.GetString()), Does.Contain("nova.exception.ComputeHostNotFound"));
        Assert.That(error.GetProperty("str").GetString(), Does.StartWith("Compute host nohost could not be found."));
        Assert.That(error.GetProperty("kwargs").GetProperty("code").GetString(), Is.EqualTo("404"));
    }

    [Test]
    public async Task OsloClient_ArgumentError_RebuiltAsBuiltinTypeError()
    {
        await using var rig = await RpcTestRig.StartAsync();

        var output = await RpcTestRig.RunPeerAsync(Peer(rig, "call", "--version", "6.0", "--method", "add", "--args", "{}"));

        var error = output.GetProperty("error");
        Assert.That(error.GetProperty("mro").EnumerateArray().Select(e => e.GetString()), Does.Contain("builtins.TypeError"));
        Assert.That(error.GetProperty("str").GetString(), Does.StartWith("add() missing 1 required positional argument: 'a'"));
    }

    [Test]
    public async Task OsloClient_UnknownMethodAndWrongVersion_RemoteErrorsNamingOslosClasses()
    {
        await using var rig = await RpcTestRig.StartAsync();

        var unknown = await RpcTestRig.RunPeerAsync(Peer(rig, "call", "--version", "6.0", "--method", "nosuch"));
        var version = await RpcTestRig.RunPeerAsync(Peer(rig, "call", "--version", "7.0", "--method", "echo", "--args", """{"arg": 1}"""));

        Assert.That(unknown.GetProperty("error").GetProperty("class").GetString(), Is.EqualTo("RemoteError"));
        Assert.That(unknown.GetProperty("error").GetProperty("str").GetString(),
            Does.StartWith("Remote error: NoSuchMethod Endpoint does not support RPC method nosuch"));
        Assert.That(version.GetProperty("error").GetProperty("str").GetString(),
            Does.StartWith("Remote error: UnsupportedVersion Endpoint does not support RPC version 7.0. Attempted method: echo"));
    }

    [Test]
    public async Task OsloClient_CastAndFanout_Delivered()
    {
        await using var rig = await RpcTestRig.StartAsync();

        var cast = await RpcTestRig.RunPeerAsync(Peer(rig, "cast", "--version", "6.0", "--method", "sink", "--args", """{"seq": 7}"""));
        var fanout = await RpcTestRig.RunPeerAsync(Peer(rig, "fanout", "--version", "6.0", "--method", "sink", "--args", """{"seq": 8}"""));

        Assert.That(cast.TryGetProperty("ok", out _) && fanout.TryGetProperty("ok", out _), Is.True, $"{cast} {fanout}");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var received = new[] { await rig.Endpoint.Casts.Reader.ReadAsync(timeout.Token), await rig.Endpoint.Casts.Reader.ReadAsync(timeout.Token) };
        Assert.That(received, Is.EquivalentTo(new[] { 7, 8 }));
    }

    [Test]
    public async Task OsloClient_WithCallMonitor_KeepsWaitingPastTheMonitorTimeout()
    {
        await using var rig = await RpcTestRig.StartAsync();

        // Without our heartbeats (every 2 s) the client would give up after 4 s; 2 s of slack for a
        // heartbeat's delivery on a loaded machine.
        var output = await RpcTestRig.RunPeerAsync(Peer(rig, "call", "--version", "6.0", "--method", "slow", "--args", """{"secs": 8}""",
            "--call-monitor-timeout", "4", "--timeout", "30"));

        Assert.That(output.GetProperty("ok").GetString(), Is.EqualTo("done"));
    }

    [Test]
    public async Task NovaBaseApi_PingAndBackdoorPort_NovasOwnClientIsAnswered()
    {
        await using var rig = await RpcTestRig.StartAsync();

        var ping = await RpcTestRig.RunPeerAsync(Peer(rig, "nova-ping", "--args", """{"hello": "world"}"""));
        var port = await RpcTestRig.RunPeerAsync(Peer(rig, "nova-backdoor", "--server", rig.Host));

        Assert.That(ping.GetProperty("ok").GetRawText(), Is.EqualTo("""{"service": "compute", "arg": {"hello": "world"}}"""));
        Assert.That(port.GetProperty("ok").ValueKind, Is.EqualTo(JsonValueKind.Null));
    }

    [Test]
    public async Task OurClient_CallsRealOsloServer_ResultsErrorsAndCasts()
    {
        await using var rig = await RpcTestRig.StartAsync();
        var topic = RabbitTestBroker.UniqueName("oslo-topic");
        var host = RabbitTestBroker.UniqueName("oslo-host");
        await using var server = await OsloServer.StartAsync(topic, host);
        var client = new RpcClient(rig.Waiter, new RpcTarget { Topic = topic, Version = "1.0" }, timeout: TimeSpan.FromSeconds(15));
        var context = new RequestContext { UserId = "me", ProjectId = "mine" };

        var echo = await client.Prepare(server: host).CallAsync(context, "echo", new Dictionary<string, object?> { ["arg"] = new[] { 1, 2 } });
        var ping = await client.Prepare(@namespace: "baseapi", version: "1.1").CallAsync(context, "ping", new Dictionary<string, object?> { ["arg"] = "x" });
        var fail = Assert.ThrowsAsync<RemoteException>(() => client.CallAsync(context, "fail", new Dictionary<string, object?> { ["message"] = "boom" }));
        var noSuch = Assert.ThrowsAsync<NoSuchMethodException>(() => client.CallAsync(context, "nosuch"));
        var version = Assert.ThrowsAsync<UnsupportedVersionException>(() => client.Prepare(version: "2.0").CallAsync(context, "echo"));
        await client.CastAsync(context, "sink", new Dictionary<string, object?> { ["seq"] = 5 });

        Assert.That(echo.GetProperty("arg").GetRawText(), Is.EqualTo("[1, 2]"));
        Assert.That(echo.GetProperty("request_id").GetString(), Is.EqualTo(context.RequestId));
        Assert.That(echo.GetProperty("user").GetString(), Is.EqualTo("me"));
        Assert.That(ping.GetRawText(), Is.EqualTo("""{"service": "oslo-peer", "arg": "x"}"""));
        Assert.That((fail!.Module, fail.ClassName, fail.Message), Is.EqualTo(("builtins", "ValueError", "boom")));
        Assert.That(fail.RemoteTraceback[0], Is.EqualTo("Traceback (most recent call last):\n"));
        Assert.That(noSuch!.Method, Is.EqualTo("nosuch"));
        Assert.That(version!.Message, Does.StartWith("Endpoint does not support RPC version 2.0"));
        var cast = await server.ReadLineAsync(TimeSpan.FromSeconds(10));
        Assert.That(JsonDocument.Parse(cast).RootElement.GetProperty("cast").GetInt32(), Is.EqualTo(5));
    }

    /// <summary>A real oslo.messaging RPC server (threading executor), stopped by closing its stdin.</summary>
    internal sealed class OsloServer : IAsyncDisposable
    {
        private readonly Process _process;

        private OsloServer(Process process) => _process = process;

        public static async Task<OsloServer> StartAsync(string topic, string host)
        {
            var script = Path.Combine(TestContext.CurrentContext.TestDirectory, "Messaging", "Python", "oslo_peer.py");
            var start = new ProcessStartInfo(TestServices.SystemPython)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = false,
            };
            foreach (var a in new[] { script, "serve", "--url", TestServices.TransportUrl, "--topic", topic, "--server", host })
            {
                start.ArgumentList.Add(a);
            }
            var process = Process.Start(start)!;
            var server = new OsloServer(process);
            var ready = await server.ReadLineAsync(TimeSpan.FromSeconds(30));
            Assert.That(ready, Is.EqualTo("READY"));
            return server;
        }

        public async Task<string> ReadLineAsync(TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            return await _process.StandardOutput.ReadLineAsync(cts.Token) ?? throw new EndOfStreamException("oslo server exited");
        }

        public async ValueTask DisposeAsync()
        {
            _process.StandardInput.Close();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
            _process.Dispose();
        }
    }
}
