using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using NovaCompute.Conductor;
using NovaCompute.Db;
using NovaCompute.Messaging;
using NovaCompute.Messaging.Rpc;
using NovaCompute.Objects;
using NovaCompute.Tests.Support;
using Npgsql;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace NovaCompute.Tests.Conductor;

/// <summary>
/// Conductor mode against the real thing: the published daemon, with no <c>[database]</c> section,
/// joins a real nova (Zed) control plane — nova-conductor and nova-api from python3-nova on the
/// tests' PostgreSQL server and vhost (<see cref="NovaControlPlane"/>, started once for the fixture).
/// </summary>
[NonParallelizable]
internal sealed class ConductorModeTests
{
    private const string ConductorWarning =
        "Timed out waiting for nova-conductor.  Is it running? Or did this service start before nova-conductor?  Reattempting establishment of nova-conductor connection...";

    private NovaControlPlane _plane = null!;
    private DirectoryInfo _dir = null!;
    private string _host = "";

    [OneTimeSetUp]
    public async Task StartControlPlane()
    {
        _ = TestServices.PublishedDaemon;
        _plane = await NovaControlPlane.StartAsync();
    }

    [OneTimeTearDown]
    public async Task StopControlPlane()
    {
        if (_plane is not null)
        {
            await _plane.DisposeAsync();
        }
    }

    [SetUp]
    public async Task SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("nova-conductor-mode-");
        Directory.CreateDirectory(StatePath);
        _host = "cm-" + Guid.NewGuid().ToString("N")[..10];
        await _plane.StartConductorAsync();
    }

    [TearDown]
    public void TearDown() => _dir.Delete(recursive: true);

    private string StatePath => Path.Combine(_dir.FullName, "state");

    private string ConfigFile => Path.Combine(_dir.FullName, "nova-compute.conf");

    /// <summary>An operator's nova-compute configuration: transport_url, no [database].</summary>
    private DaemonProcess StartDaemon(IReadOnlyDictionary<string, string>? environment = null, string[]? arguments = null)
    {
        DaemonConfig.Conductor(StatePath, _host)
            .With("report_interval", "1")
            .With("service_down_time", $"{NovaControlPlane.ServiceDownTime}")
            .With("periodic_fuzzy_delay", "0")
            .WriteTo(ConfigFile);
        return DaemonProcess.Start([.. arguments ?? [], "--config-file", ConfigFile], environment);
    }

    private async Task<JsonObject?> ApiRowAsync() =>
        (await _plane.ServicesAsync(host: _host, binary: "nova-compute")).SingleOrDefault();

    private async Task<int> ReportCountAsync()
    {
        await using var cell = await _plane.OpenAsync("cell1");
        await using var query = new NpgsqlCommand("SELECT report_count FROM services WHERE host = @host AND deleted = 0", cell);
        query.Parameters.AddWithValue("host", _host);
        return await query.ExecuteScalarAsync() is int count ? count : -1;
    }

    [Test]
    public async Task Daemon_StartedBeforeConductor_WaitsWithoutReadyThenRegistersWhenItArrives()
    {
        await _plane.StopConductorAsync();
        using var notify = DatagramReceiver.BindPath();
        using var daemon = StartDaemon(new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notify.Address });

        await daemon.WaitForLineAsync(ConductorWarning, TimeSpan.FromSeconds(40));
        var sent = string.Join("\n", notify.Drain());
        Assert.That(sent, Does.Contain("STATUS=").And.Contain("Waiting for nova-conductor"));
        Assert.That(sent, Does.Not.Contain("READY=1"), "no READY=1 before the conductor answered");
        Assert.That(daemon.Output, Does.Not.Contain("Service ready"));
        Assert.That(daemon.Output, Does.Contain("Database access: conductor mode"));

        await _plane.StartConductorAsync(waitUntilUp: false);
        await daemon.WaitForLineAsync("nova-conductor connection established successfully", TimeSpan.FromSeconds(90));
        await daemon.WaitForLineAsync("Service ready", TimeSpan.FromSeconds(30));
        Assert.That(string.Join("\n", notify.Drain()), Does.Contain("READY=1"));
        await Eventually.Until(async () => (string?)(await ApiRowAsync())?["state"] == "up", TimeSpan.FromSeconds(30),
            () => "nova-api to list the daemon up; daemon output:\n" + daemon.Output, TimeSpan.FromMilliseconds(500));
        Assert.That(Directory.EnumerateFileSystemEntries(StatePath, "*", SearchOption.AllDirectories), Is.Empty,
            "conductor mode opens no database and creates no file");
    }

    [Test]
    public async Task Daemon_SigtermWhileWaitingForConductor_ExitsZeroAtOnce()
    {
        await _plane.StopConductorAsync();
        using var notify = DatagramReceiver.BindPath();
        using var daemon = StartDaemon(new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notify.Address });
        await daemon.WaitForLineAsync("RPC reply queue", TimeSpan.FromSeconds(30));

        daemon.Signal(DaemonProcess.SIGTERM);
        var started = DateTime.UtcNow;
        Assert.That(await daemon.WaitForExitAsync(TimeSpan.FromSeconds(10)), Is.Zero, daemon.Output);
        Assert.That(DateTime.UtcNow - started, Is.LessThan(TimeSpan.FromSeconds(5)));
        Assert.That(string.Join("\n", notify.Drain()), Does.Not.Contain("READY=1"));
    }

    [Test]
    public async Task NovaApi_RunningDaemon_ListedUpAsNovaComputeThenDownAfterKill9()
    {
        using var daemon = StartDaemon();
        await daemon.WaitForLineAsync("Service ready", TimeSpan.FromSeconds(60));
        await Eventually.Until(async () => (string?)(await ApiRowAsync())?["state"] == "up", TimeSpan.FromSeconds(30),
            () => "nova-api to list the daemon up", TimeSpan.FromMilliseconds(500));
        var row = (await ApiRowAsync())!;
        Assert.That((string?)row["binary"], Is.EqualTo("nova-compute"));
        Assert.That((string?)row["zone"], Is.EqualTo("nova"));
        Assert.That((string?)row["status"], Is.EqualTo("enabled"));

        daemon.Signal(DaemonProcess.SIGKILL);
        await Eventually.Until(async () => (string?)(await ApiRowAsync())?["state"] == "down",
            TimeSpan.FromSeconds(NovaControlPlane.ServiceDownTime + 20), () => "nova-api to list the killed daemon down", TimeSpan.FromMilliseconds(500));
    }

    [Test]
    public async Task NovaApi_DisableThroughApi_SeenByDaemonsServiceListAndEnableThroughDaemonSeenByApi()
    {
        using var daemon = StartDaemon();
        await daemon.WaitForLineAsync("Service ready", TimeSpan.FromSeconds(60));
        var uuid = (string)(await ApiRowAsync())!["id"]!;

        await _plane.ApiAsync(HttpMethod.Put, "/os-services/" + uuid,
            new JsonObject { ["status"] = "disabled", ["disabled_reason"] = "maintenance by the test" });

        var list = await Shell.RunAsync(TestServices.PublishedDaemon,
            ["service", "list", "--config-file", ConfigFile, "--host", _host, "--format", "json"]);
        Assert.That(list.ExitCode, Is.Zero, list.Output);
        var service = JsonNode.Parse(list.Stdout)!["services"]!.AsArray().Single()!;
        Assert.That((string?)service["status"], Is.EqualTo("disabled"));
        Assert.That((string?)service["disabled_reason"], Is.EqualTo("maintenance by the test"));
        Assert.That((string?)service["uuid"], Is.EqualTo(uuid));

        var enable = await Shell.RunAsync(TestServices.PublishedDaemon, ["service", "enable", _host, "--config-file", ConfigFile]);
        Assert.That(enable.ExitCode, Is.Zero, enable.Output);
        var row = (await ApiRowAsync())!;
        Assert.That((string?)row["status"], Is.EqualTo("enabled"));
        Assert.That(row["disabled_reason"], Is.Null);
    }

    [Test]
    public async Task Heartbeat_ThroughConductor_ReportCountGrowsAndSurvivesConductorRestart()
    {
        using var daemon = StartDaemon();
        await daemon.WaitForLineAsync("Service ready", TimeSpan.FromSeconds(60));
        await Eventually.Until(async () => await ReportCountAsync() >= 2, TimeSpan.FromSeconds(30), () => "two heartbeats", TimeSpan.FromMilliseconds(250));

        var beforeOutage = daemon.Lines.Count;
        await _plane.StopConductorAsync();
        await daemon.WaitForLineAsync("Lost connection to nova-conductor for reporting service status: ", TimeSpan.FromSeconds(30));
        await _plane.StartConductorAsync(waitUntilUp: false);
        await daemon.WaitForLineAsync("Recovered from being unable to report status.", TimeSpan.FromSeconds(90));
        var afterRestart = await ReportCountAsync();
        await Eventually.Until(async () => await ReportCountAsync() >= afterRestart + 3, TimeSpan.FromSeconds(30),
            () => "heartbeats to go on after the conductor restart", TimeSpan.FromMilliseconds(250));

        // Counted over the outage itself: with report_interval 1 a beat slowed past 1 s by a loaded
        // machine is a loss of its own, logged and recovered as one.
        var outage = daemon.LinesFrom(beforeOutage, until: "Recovered from being unable to report status.");
        Assert.That(outage.Count(l => l.Contains("Lost connection to nova-conductor for reporting service status: ", StringComparison.Ordinal)),
            Is.EqualTo(1), "logged once per outage:\n" + daemon.Output);
        Assert.That(daemon.Count("Recovered from being unable to report status."),
            Is.InRange(1, daemon.Count("Lost connection to nova-conductor for reporting service status: ")), "recovered once per loss:\n" + daemon.Output);
        await Eventually.Until(async () => (string?)(await ApiRowAsync())?["state"] == "up", TimeSpan.FromSeconds(30),
            () => "nova-api to list the daemon up again", TimeSpan.FromMilliseconds(500));
    }

    [Test]
    public async Task Heartbeat_RecordDeletedThroughNovaApi_DaemonRecreatesIt()
    {
        using var daemon = StartDaemon();
        await daemon.WaitForLineAsync("Service ready", TimeSpan.FromSeconds(60));
        var uuid = (string)(await ApiRowAsync())!["id"]!;

        await _plane.ApiAsync(HttpMethod.Delete, "/os-services/" + uuid);

        await daemon.WaitForLineAsync($"The services table record for the nova-compute service on host {_host} is gone", TimeSpan.FromSeconds(30));
        await Eventually.Until(async () => (string?)(await ApiRowAsync())?["id"] is { } id && id != uuid, TimeSpan.FromSeconds(30),
            () => "a new record of the daemon", TimeSpan.FromMilliseconds(500));
        await Eventually.Until(async () => (string?)(await ApiRowAsync())?["state"] == "up", TimeSpan.FromSeconds(30),
            () => "the new record to be up", TimeSpan.FromMilliseconds(500));
    }

    [Test]
    public async Task DiscoverHosts_DaemonsComputeNode_MapsTheHost()
    {
        using var daemon = StartDaemon();
        await daemon.WaitForLineAsync("Compute node record created for", TimeSpan.FromSeconds(60));

        var output = await _plane.NovaManageAsync("cell_v2", "discover_hosts", "--verbose");

        Assert.That(output, Does.Contain($"Creating host mapping for compute host '{_host}'"));
        await using var api = await _plane.OpenAsync("api");
        await using var query = new NpgsqlCommand("SELECT count(*) FROM host_mappings WHERE host = @host", api);
        query.Parameters.AddWithValue("host", _host);
        Assert.That((long)(await query.ExecuteScalarAsync())!, Is.EqualTo(1));
    }

    /// <summary>
    /// <c>nova-compute simulate</c> in conductor mode: every compute registers and heartbeats through
    /// the real nova-conductor (a heartbeat slot is one <c>object_action</c> save per compute, sent
    /// <see cref="NovaCompute.Conductor.ConductorServiceRepository.ParallelSaves"/> at a time; forty
    /// computes put two in each of the 20 slots), nova-api lists them all up, and SIGTERM stops
    /// them all with exit 0.
    /// </summary>
    [Test]
    public async Task Simulate_FortyComputesThroughConductor_AllListedUpByNovaApiAndSigtermExitsZero()
    {
        const int count = 40;
        var hosts = Enumerable.Range(1, count).Select(i => $"{_host}-{i:00000}").ToList();
        try
        {
            using var daemon = StartDaemon(arguments: ["simulate", "--count", $"{count}", "--host-prefix", _host]);
            await daemon.WaitForLineAsync($"All {count}/{count} compute services serve", TimeSpan.FromSeconds(90));
            Assert.That(daemon.Output, Does.Contain("Database access: conductor mode"));

            async Task<List<JsonObject>> Rows() =>
                [.. (await _plane.ServicesAsync(binary: "nova-compute")).Where(r => ((string?)r["host"])?.StartsWith(_host + "-", StringComparison.Ordinal) == true)];
            await Eventually.Until(async () => (await Rows()).Count(r => (string?)r["state"] == "up") == count, TimeSpan.FromSeconds(30),
                () => $"nova-api to list all {count} computes up; daemon output:\n" + daemon.Output, TimeSpan.FromMilliseconds(500));
            Assert.That((await Rows()).Select(r => (string?)r["host"]), Is.EquivalentTo(hosts));
            // Heartbeats, not only registrations, reach the conductor's database.
            await Eventually.Until(async () =>
                {
                    await using var cell = await _plane.OpenAsync("cell1");
                    await using var query = new NpgsqlCommand("SELECT count(*) FROM services WHERE host LIKE @p AND deleted = 0 AND report_count >= 2", cell);
                    query.Parameters.AddWithValue("p", _host + "-%");
                    return (long)(await query.ExecuteScalarAsync())! == count;
                }, TimeSpan.FromSeconds(30), () => "every compute to have reported twice", TimeSpan.FromMilliseconds(250));

            daemon.Signal(DaemonProcess.SIGTERM);
            Assert.That(await daemon.WaitForExitAsync(TimeSpan.FromSeconds(40)), Is.Zero, daemon.Output);
            Assert.That(daemon.Output, Does.Contain($"Stopped {count} compute services"));
        }
        finally
        {
            // oslo declares compute.<host> non-exclusive: the queues outlive the process on the shared vhost.
            await using var connection = await RabbitTestBroker.RawConnectionAsync();
            await using var channel = await connection.CreateChannelAsync();
            foreach (var host in hosts)
            {
                await channel.QueueDeleteAsync($"compute.{host}", ifUnused: false, ifEmpty: false);
            }
        }
    }

    /// <summary>
    /// One heartbeat slot's saves through the real conductor go out together, at most
    /// <see cref="ConductorServiceRepository.ParallelSaves"/> at once: with the conductor running
    /// every service of the round is saved once; with it stopped, exactly that many saves reach its
    /// queue (the next would need an answer first) and cancelling the round sends no more.
    /// </summary>
    [Test]
    public async Task ReportStates_RoundOfManyServices_SavesSentTogetherUpToTheBound()
    {
        const int count = ConductorServiceRepository.ParallelSaves * 2;
        ObjectRegistry.RegisterAll();
        var rabbit = new RabbitSettings { TransportUrl = TransportUrl.Parse(TestServices.TransportUrl), ConnectionNamePrefix = "nova-test" };
        await using var transport = new RabbitTransport(rabbit, NullLoggerFactory.Instance, TimeProvider.System);
        await using var waiter = new RpcReplyWaiter(transport, NullLogger<RpcReplyWaiter>.Instance);
        var conductor = new ConductorApi(new RpcClient(waiter, new RpcTarget { Topic = ConductorApi.Topic }, serializer: NovaObjectRpcSerializer.Instance),
            RequestContext.AdminContext());
        var repository = new ConductorServiceRepository(conductor, TimeProvider.System);
        var ids = new List<int>();
        for (var i = 1; i <= count; i++)
        {
            var created = await repository.CreateAsync(new NewService($"{_host}-{i:00}", "nova-compute", "compute", Service.ServiceVersion), CancellationToken.None);
            ids.Add(created.Id);
        }

        var stamps = await repository.ReportStatesAsync(ids, CancellationToken.None);
        Assert.That(stamps.Keys, Is.EquivalentTo(ids));
        Assert.That(stamps.Values.Select(s => s.ReportCount), Is.All.EqualTo(1));

        await using var connection = await RabbitTestBroker.RawConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var spy = (await channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true)).QueueName;
        await channel.QueueBindAsync(spy, "nova", ConductorApi.Topic);
        await _plane.StopConductorAsync();
        try
        {
            using var cancel = new CancellationTokenSource();
            var round = repository.ReportStatesAsync(ids, cancel.Token);
            await Eventually.Until(async () => await channel.MessageCountAsync(spy) >= ConductorServiceRepository.ParallelSaves, TimeSpan.FromSeconds(30),
                () => $"{ConductorServiceRepository.ParallelSaves} saves in flight at once");
            await cancel.CancelAsync();
            Assert.CatchAsync<OperationCanceledException>(() => round);
            // A call's publish is confirmed before it waits for its reply, and a cancelled round
            // takes no further service: the count is final.
            Assert.That(await channel.MessageCountAsync(spy), Is.EqualTo(ConductorServiceRepository.ParallelSaves));
        }
        finally
        {
            // The unanswered saves must not reach the next test's conductor.
            await channel.QueuePurgeAsync(ConductorApi.Topic);
        }
    }

    /// <summary>
    /// What the daemon sends the conductor, field for field, against nova's own compute-side code
    /// doing the same (reference/conductor/run2): the same keys at every level, the same values
    /// except for ids, times and the host, the same change lists.
    /// </summary>
    [Test]
    public async Task Wire_DaemonsConductorRequests_MatchNovasCapturedBodiesFieldForField()
    {
        var requests = new List<JsonObject>();
        await using var connection = await RabbitTestBroker.RawConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var spy = (await channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true)).QueueName;
        await channel.QueueBindAsync(spy, "nova", "conductor");
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, delivery) =>
        {
            var envelope = JsonNode.Parse(Encoding.UTF8.GetString(delivery.Body.Span))!;
            lock (requests)
            {
                requests.Add(JsonNode.Parse((string)envelope["oslo.message"]!)!.AsObject());
            }
            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(spy, autoAck: true, consumer);

        using var daemon = StartDaemon();
        List<JsonObject> Saves()
        {
            lock (requests)
            {
                return [.. requests.Where(r => (string?)r["args"]?["objmethod"] == "save" && (string?)r["args"]?["objinst"]?["nova_object.name"] == "Service")];
            }
        }
        await Eventually.Until(() => Saves().Count >= 2, TimeSpan.FromSeconds(60), () => "two heartbeats on the wire");

        List<JsonObject> seen;
        lock (requests)
        {
            seen = [.. requests];
        }
        JsonObject First(string method, string? objmethod = null, string? objname = null) =>
            seen.FirstOrDefault(r => (string?)r["method"] == method
                && (objmethod is null || (string?)r["args"]?["objmethod"] == objmethod)
                && (objname is null || (string?)r["args"]?["objname"] == objname || (string?)r["args"]?["objinst"]?["nova_object.name"] == objname))
            ?? throw new AssertionException($"no {method} {objmethod} request among:\n{string.Join("\n", seen.Select(s => s.ToJsonString()))}");

        // nova's start order (run2): ping, get_minimum_version, get_by_host_and_binary, create.
        var order = seen.Where(r => (string?)r["method"] == "ping" || (string?)r["args"]?["objname"] == "Service"
                || (string?)r["args"]?["objinst"]?["nova_object.name"] == "Service")
            .Select(r => (string?)r["args"]?["objmethod"] ?? (string?)r["method"]).Take(4);
        Assert.That(order, Is.EqualTo(new[] { "ping", "get_minimum_version", "get_by_host_and_binary", "create" }));
        AssertMatchesCapture("01-ping.json", First("ping"));
        AssertMatchesCapture("02-object_class_action_versions-get_minimum_version.json", First("object_class_action_versions", "get_minimum_version"));
        AssertMatchesCapture("03-object_class_action_versions-get_by_host_and_binary.json", First("object_class_action_versions", "get_by_host_and_binary"));
        AssertMatchesCapture("04-object_action-create.json", First("object_action", "create", "Service"));
        var saves = Saves();
        AssertMatchesCapture("05-object_action-save.json", saves[0]);
        AssertMatchesCapture("06-object_action-save.json", saves[1]);
        Assert.That((int)saves[1]["args"]!["objinst"]!["nova_object.data"]!["report_count"]!,
            Is.EqualTo((int)saves[0]["args"]!["objinst"]!["nova_object.data"]!["report_count"]! + 1));
        // One admin context for the life of the process, as nova's service keeps the one of its start.
        Assert.That((string?)saves[1]["_context_request_id"], Is.EqualTo((string?)saves[0]["_context_request_id"]));
    }

    /// <summary>Keys whose values differ from run to run: only their JSON kind (null or not) must match.</summary>
    private static readonly HashSet<string> Volatile = new(StringComparer.Ordinal)
    {
        "_msg_id", "_reply_q", "_unique_id", "_context_request_id", "_context_timestamp",
        "id", "uuid", "created_at", "updated_at", "last_seen_up", "report_count",
    };

    private void AssertMatchesCapture(string capture, JsonObject actual)
    {
        var file = Path.Combine(TestContext.CurrentContext.TestDirectory, "Conductor", "Captures", capture);
        var expected = JsonNode.Parse(File.ReadAllText(file))!["request"]!["oslo.message"]!.AsObject();
        // The capture's compute was "probe-compute2"; ours is _host.
        expected = JsonNode.Parse(expected.ToJsonString().Replace("\"probe-compute2\"", JsonSerializer.Serialize(_host), StringComparison.Ordinal))!.AsObject();
        var problems = new List<string>();
        Compare(expected, actual, "", problems);
        Assert.That(problems, Is.Empty, $"{capture}: the daemon sent\n{actual.ToJsonString()}");
    }

    private static void Compare(JsonNode? expected, JsonNode? actual, string path, List<string> problems)
    {
        var key = path[(path.LastIndexOf('.') + 1)..];
        if (Volatile.Contains(key))
        {
            if ((expected is null) != (actual is null) || (expected is not null && expected.GetValueKind() != actual!.GetValueKind()))
            {
                problems.Add($"{path}: expected a {Kind(expected)}, got {actual?.ToJsonString() ?? "null"}");
            }
            return;
        }
        switch (expected)
        {
            case JsonObject e when actual is JsonObject a:
                foreach (var missing in e.Select(p => p.Key).Except(a.Select(p => p.Key)))
                {
                    problems.Add($"{path}.{missing}: missing");
                }
                foreach (var extra in a.Select(p => p.Key).Except(e.Select(p => p.Key)))
                {
                    problems.Add($"{path}.{extra}: not sent by nova");
                }
                foreach (var (name, value) in e)
                {
                    if (a.ContainsKey(name))
                    {
                        Compare(value, a[name], $"{path}.{name}", problems);
                    }
                }
                break;
            case JsonArray e when actual is JsonArray a && path.EndsWith("." + "nova_object.changes", StringComparison.Ordinal):
                var want = e.Select(n => (string?)n).Order().ToList();
                var got = a.Select(n => (string?)n).Order().ToList();
                if (!want.SequenceEqual(got))
                {
                    problems.Add($"{path}: changes [{string.Join(", ", got)}], nova sends [{string.Join(", ", want)}]");
                }
                break;
            case JsonArray e when actual is JsonArray a:
                if (e.Count != a.Count)
                {
                    problems.Add($"{path}: {a.Count} items, expected {e.Count}");
                    break;
                }
                for (var i = 0; i < e.Count; i++)
                {
                    Compare(e[i], a[i], $"{path}[{i}]", problems);
                }
                break;
            default:
                if (!JsonNode.DeepEquals(expected, actual))
                {
                    problems.Add($"{path}: expected {expected?.ToJsonString() ?? "null"}, got {actual?.ToJsonString() ?? "null"}");
                }
                break;
        }
    }

    private static string Kind(JsonNode? node) => node is null ? "null" : node.GetValueKind().ToString();
}
