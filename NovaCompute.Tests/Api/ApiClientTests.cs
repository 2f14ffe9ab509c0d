using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Api;

/// <summary>
/// The published daemon with the API enabled, driven by the real clients from Debian's packages:
/// <c>openstack</c> (openstacksdk underneath) and python-novaclient with keystoneauth1's NoAuth.
/// </summary>
[NonParallelizable]
public partial class ApiClientTests
{
    private const string Token = "client-test-token";
    private const string Openstack = "/usr/bin/openstack";

    private DirectoryInfo _dir = null!;
    private string _conf = null!;
    private string _host = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("nova-api-client-");
        _conf = Path.Combine(_dir.FullName, "nova-compute.conf");
        _host = "api-" + Guid.NewGuid().ToString("N")[..10];
        if (!File.Exists(Openstack))
        {
            TestServices.Unavailable($"python3-openstackclient ({Openstack} is missing; ./build.sh test installs it)");
        }
    }

    [TearDown]
    public void TearDown() => _dir.Delete(recursive: true);

    /// <summary>Direct mode with the API on an ephemeral port, an admin token and debug logs.</summary>
    private DaemonConfig Config() => DaemonConfig.Sqlite(_dir.FullName, _host)
        .With("enabled_apis", "osapi_compute")
        .With("osapi_compute_listen_port", "0")
        .With("debug", "true")
        .With("api", "admin_token", Token);

    private async Task<(DaemonProcess Daemon, string Endpoint)> StartAsync(DaemonConfig? config = null)
    {
        (config ?? Config()).WriteTo(_conf);
        var daemon = DaemonProcess.Start(["--config-file", _conf]);
        var line = await daemon.WaitForLineAsync("osapi_compute listening on 127.0.0.1:");
        await daemon.WaitForLineAsync("Service ready");
        return (daemon, $"http://127.0.0.1:{ListeningPort().Match(line).Groups[1].Value}");
    }

    [GeneratedRegex(@"listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningPort();

    private static async Task<string> RunOk(string file, params string[] arguments)
    {
        var run = await Shell.RunAsync(file, arguments, TimeSpan.FromSeconds(90));
        Assert.That(run.ExitCode, Is.Zero, $"{file} {string.Join(' ', arguments)}\n{run.Output}");
        return run.Stdout;
    }

    [Test]
    public async Task OpenstackClient_ListAndSet_ShowOurServiceWithItsState()
    {
        var (daemon, endpoint) = await StartAsync();
        using var running = daemon;
        string[] noAuth = ["--os-auth-type", "none", "--os-endpoint", endpoint + "/v2.1"];

        var table = await RunOk(Openstack, [.. noAuth, "compute", "service", "list"]);
        Assert.That(table, Does.Match($@"\| [0-9a-f-]{{36}} \| nova-compute \| {_host} \| nova\s+\| enabled \| up\s+\| (\d{{4}}-|None)"));

        var rows = JsonNode.Parse(await RunOk(Openstack, [.. noAuth, "compute", "service", "list", "--long", "-f", "json"]))!.AsArray();
        var row = rows.Single(r => (string?)r!["Host"] == _host)!;
        Assert.That(((string?)row["Binary"], (string?)row["Status"], (string?)row["State"], (string?)row["Zone"]), Is.EqualTo(("nova-compute", "enabled", "up", "nova")));
        Assert.That(row["Disabled Reason"], Is.Null);
        Assert.That((bool?)row["Forced Down"], Is.False);

        var old = JsonNode.Parse(await RunOk(Openstack, [.. noAuth, "--os-compute-api-version", "2.11", "compute", "service", "list", "--long", "-f", "json"]))!.AsArray();
        Assert.That((int)old.Single(r => (string?)r!["Host"] == _host)!["ID"]!, Is.EqualTo(1), "2.11 shows the integer id");

        await RunOk(Openstack, ["--os-auth-type", "admin_token", "--os-token", Token, "--os-endpoint", endpoint + "/v2.1",
            "compute", "service", "set", "--disable", "--disable-reason", "hardware check", _host, "nova-compute"]);
        row = JsonNode.Parse(await RunOk(Openstack, [.. noAuth, "compute", "service", "list", "--long", "-f", "json"]))!.AsArray()
            .Single(r => (string?)r!["Host"] == _host)!;
        Assert.That(((string?)row["Status"], (string?)row["Disabled Reason"], (string?)row["State"]), Is.EqualTo(("disabled", "hardware check", "up")));

        var refused = await Shell.RunAsync(Openstack, ["--os-auth-type", "admin_token", "--os-token", "wrong", "--os-endpoint", endpoint + "/v2.1",
            "compute", "service", "set", "--enable", _host, "nova-compute"], TimeSpan.FromSeconds(90));
        Assert.That(refused.ExitCode, Is.Not.Zero, "a wrong token changes nothing");

        var cli = JsonNode.Parse(await RunOk(TestServices.PublishedDaemon, ["service", "list", "--config-file", _conf, "--format", "json"]))!["services"]![0]!;
        Assert.That(((string?)cli["status"], (string?)cli["state"]), Is.EqualTo(("disabled", "up")), "the CLI sees what the API wrote");

        daemon.Signal(DaemonProcess.SIGTERM);
        Assert.That(await daemon.WaitForExitAsync(), Is.Zero, daemon.Output);
    }

    [Test]
    public async Task Novaclient_NoAuth_ListsAndDisablesThroughTheApi()
    {
        var (daemon, endpoint) = await StartAsync();
        using var running = daemon;
        var script = Path.Combine(TestServices.RepositoryRoot, "NovaCompute.Tests", "Api", "novaclient_services.py");

        var v21 = JsonNode.Parse(await RunOk(TestServices.SystemPython, script, endpoint + "/v2.1", "2.1", "list"))!;
        var service = v21["services"]!.AsArray().Single(s => (string?)s!["host"] == _host)!;
        Assert.That(((int)service["id"]!, (string?)service["state"], (string?)service["status"]), Is.EqualTo((1, "up", "enabled")));
        Assert.That(service["forced_down"], Is.Null, "2.1 has no forced_down");

        var latest = JsonNode.Parse(await RunOk(TestServices.SystemPython, script, endpoint + "/v2.1", "discover", "list"))!;
        var clientMax = (string)latest["client_max"]!;
        var expected = int.Parse(clientMax.Split('.')[1], System.Globalization.CultureInfo.InvariantCulture) < 93 ? clientMax : "2.93";
        Assert.That((string?)latest["version"], Is.EqualTo(expected), "novaclient read our range from GET /v2.1 and took the highest common version");
        var uuid = (string)latest["services"]!.AsArray().Single(s => (string?)s!["host"] == _host)!["id"]!;

        var disabled = JsonNode.Parse(await RunOk(TestServices.SystemPython, script, endpoint + "/v2.1", "2.53", "disable", uuid, "novaclient says so", Token))!;
        Assert.That(((string?)disabled["status"], (string?)disabled["disabled_reason"], (bool?)disabled["forced_down"]),
            Is.EqualTo(("disabled", "novaclient says so", false)));

        using var http = new HttpClient();
        var status = JsonNode.Parse(await http.GetStringAsync(endpoint + "/status"))!;
        Assert.That((bool)status["broker"]!["connected"]!, Is.True, status.ToJsonString());
        Assert.That((string?)status["broker"]!["detail"], Does.Not.Contain(":nova_test@"), "no password in the document");
        Assert.That((bool)status["heartbeat"]!["overdue"]!, Is.False);
        Assert.That((string?)status["service"]!["status"], Does.Contain($"Registered as {_host}"));
        Assert.That(await http.GetStringAsync(endpoint + "/healthcheck"), Is.EqualTo("OK"));

        daemon.Signal(DaemonProcess.SIGTERM);
        Assert.That(await daemon.WaitForExitAsync(), Is.Zero, daemon.Output);
    }

    [Test]
    public async Task RequestId_AppearsInTheRequestsLogLinesAndInJournald()
    {
        if (!File.Exists("/run/systemd/journal/socket"))
        {
            TestServices.Unavailable("systemd-journald (no /run/systemd/journal/socket; ./build.sh services starts it)");
        }
        var (daemon, endpoint) = await StartAsync(Config().With("use_journal", "true").With("use_stderr", "true"));
        using var running = daemon;
        using var client = new HttpClient();
        var response = await client.GetAsync(endpoint + "/v2.1/os-services");
        var requestId = response.Headers.GetValues("x-openstack-request-id").Single();

        var line = await daemon.WaitForLineAsync($"\"GET /v2.1/os-services HTTP/1.1\" status: 200");
        Assert.That(line, Does.Contain($"nova.osapi_compute.wsgi.server [None {requestId} "));
        Assert.That(daemon.Lines.Count(l => l.Contains(requestId)), Is.GreaterThanOrEqualTo(2), "the debug line of the call carries it too");

        var journal = "";
        await Eventually.Until(async () =>
        {
            journal = (await Shell.RunAsync("journalctl", ["--no-pager", "-o", "json", $"REQUEST_ID={requestId}"])).Stdout;
            return journal.Contains("wsgi.server", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(15), () => "journald to have the access line under REQUEST_ID", poll: TimeSpan.FromMilliseconds(200));
        Assert.That(journal, Does.Contain("status: 200"), "journald has the access line under REQUEST_ID");

        daemon.Signal(DaemonProcess.SIGTERM);
        Assert.That(await daemon.WaitForExitAsync(), Is.Zero, daemon.Output);
    }

    /// <summary>
    /// SIGTERM with a request in flight: the listening socket closes at once, the request still gets
    /// its answer, and the daemon exits 0 once it is done.
    /// </summary>
    [Test]
    public async Task SigTerm_WithRequestInFlight_RefusesNewConnectionsAnswersItAndExitsZero()
    {
        var (daemon, endpoint) = await StartAsync();
        using var running = daemon;
        var baseUri = new Uri(endpoint);
        using var client = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, endpoint + "/v2.1/os-services?host=" + _host);
        request.Headers.Add("OpenStack-API-Version", "compute 2.53");
        var listed = await client.SendAsync(request);
        var uuid = (string)JsonNode.Parse(await listed.Content.ReadAsStringAsync())!["services"]![0]!["id"]!;

        await using var slow = await SlowPut.StartAsync(baseUri, uuid, Token);
        await daemon.WaitForLineAsync("Calling method 'update'");
        daemon.Signal(DaemonProcess.SIGTERM);
        await daemon.WaitForLineAsync("Stopping WSGI server");

        // The listening socket closes as the stop begins: within moments, while the request is still open.
        await Eventually.Until(() => !CanConnect(baseUri.Port), TimeSpan.FromSeconds(3), () => "new connections to be refused after SIGTERM");
        Assert.That(daemon.Output, Does.Not.Contain("Stopped compute node"), "the daemon waits for the request");

        var response = await slow.FinishAsync();
        Assert.That(response, Does.StartWith("HTTP/1.1 200 OK"));
        Assert.That(response, Does.Contain("\"status\":\"disabled\""));
        Assert.That(await daemon.WaitForExitAsync(), Is.Zero, daemon.Output);
        Assert.That(daemon.Output, Does.Contain("WSGI server has stopped."));
    }

    private static bool CanConnect(int port)
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            probe.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return false;
        }
    }

    [Test]
    public async Task Start_TlsCertificateMissing_Exits78WithNovasMessage()
    {
        var missing = Path.Combine(_dir.FullName, "absent.pem");
        DaemonConfig.Sqlite(_dir.FullName, _host)
            .With("enabled_apis", "osapi_compute")
            .With("enabled_ssl_apis", "osapi_compute")
            .With("osapi_compute_listen_port", "0")
            .With("wsgi", "ssl_cert_file", missing)
            .With("wsgi", "ssl_key_file", missing)
            .WriteTo(_conf);
        using var daemon = DaemonProcess.Start(["--config-file", _conf]);
        Assert.That(await daemon.WaitForExitAsync(), Is.EqualTo(78), daemon.Output);
        Assert.That(daemon.Output, Does.Contain($"Unable to find cert_file : {missing}. Failed to start osapi_compute on 127.0.0.1:0 with SSL support"));
        Assert.That(daemon.Output, Does.Not.Contain("Service ready"));
    }
}
