using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using NovaCompute.Api;
using NovaCompute.Config;
using NovaCompute.Db;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Api;

/// <summary>What happens around every request: ids, microversions, access, limits, errors, access log.</summary>
public class ApiPipelineTests
{
    private TestApi? _api;

    [TearDown]
    public async Task TearDown()
    {
        if (_api is not null)
        {
            await _api.DisposeAsync();
        }
    }

    private async Task<TestApi> StartAsync(params (Opt Opt, string Raw)[] options) =>
        _api = await TestApi.StartAsync(DatabaseDialect.Sqlite, options);

    [Test]
    public async Task Request_Any_GetsAFreshRequestIdInBothHeaders()
    {
        var api = await StartAsync();
        var first = (await api.SendAsync(HttpMethod.Get, "/v2.1/os-services")).Response;
        var second = (await api.SendAsync(HttpMethod.Get, "/nowhere")).Response;
        var id = first.Headers.GetValues("x-openstack-request-id").Single();
        Assert.That(id, Does.Match("^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"));
        Assert.That(first.Headers.GetValues("x-compute-request-id").Single(), Is.EqualTo(id));
        Assert.That(second.Headers.GetValues("x-openstack-request-id").Single(), Is.Not.EqualTo(id));
    }

    [TestCase(null, null, "2.1")]
    [TestCase("compute 2.53", null, "2.53")]
    [TestCase("Compute  2.11 , placement 1.10", null, "2.11")]
    [TestCase("placement 1.10", "2.60", "2.60")]
    [TestCase(null, "2.75", "2.75")]
    [TestCase("compute latest", null, "2.93")]
    [TestCase("compute 2.93", "2.1", "2.93")]
    public async Task Microversion_Requested_IsNegotiatedAndEchoedWithVary(string? standard, string? legacy, string expected)
    {
        var api = await StartAsync();
        var request = new HttpRequestMessage(HttpMethod.Get, "/v2.1/os-services");
        if (standard is not null)
        {
            request.Headers.Add("OpenStack-API-Version", standard);
        }
        if (legacy is not null)
        {
            request.Headers.Add("X-OpenStack-Nova-API-Version", legacy);
        }
        var (status, _, response) = await api.SendAsync(request);
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Headers.GetValues("OpenStack-API-Version").Single(), Is.EqualTo("compute " + expected));
        Assert.That(response.Headers.GetValues("X-OpenStack-Nova-API-Version").Single(), Is.EqualTo(expected));
        Assert.That(response.Headers.Vary, Is.EquivalentTo(new[] { "OpenStack-API-Version", "X-OpenStack-Nova-API-Version" }));
    }

    [TestCase("3.0", 406, "notAcceptable", "Version 3.0 is not supported by the API. Minimum is 2.1 and maximum is 2.93.")]
    [TestCase("2.94", 406, "notAcceptable", "Version 2.94 is not supported by the API. Minimum is 2.1 and maximum is 2.93.")]
    [TestCase("2.0", 406, "notAcceptable", "Version 2.0 is not supported by the API. Minimum is 2.1 and maximum is 2.93.")]
    [TestCase("2.01", 400, "badRequest", "API Version String 2.01 is of invalid format. Must be of format MajorNum.MinorNum.")]
    [TestCase("two", 400, "badRequest", "API Version String two is of invalid format. Must be of format MajorNum.MinorNum.")]
    public async Task Microversion_OutOfRangeOrMalformed_IsRefused(string version, int expectedStatus, string _, string message)
    {
        var api = await StartAsync();
        var (status, body, response) = await api.SendAsync(HttpMethod.Get, "/v2.1/os-services", version);
        Assert.That((int)status, Is.EqualTo(expectedStatus));
        var fault = expectedStatus == 406 ? "computeFault" : "badRequest";
        Assert.That(body!.ToJsonString(), Is.EqualTo(new JsonObject { [fault] = new JsonObject { ["code"] = expectedStatus, ["message"] = message } }.ToJsonString()));
        Assert.That(response.Headers.Contains("OpenStack-API-Version"), Is.False, "no version was negotiated");
    }

    [Test]
    public async Task Versions_RootAndV21_AreNovasDocuments()
    {
        var api = await StartAsync();
        var (status, root, rootResponse) = await api.SendAsync(HttpMethod.Get, "/");
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(rootResponse.Headers.Contains("OpenStack-API-Version"), Is.False, "the root is not under microversion control");
        var v21 = root!["versions"]!.AsArray().Single(v => (string?)v!["id"] == "v2.1")!;
        Assert.That(((string?)v21["version"], (string?)v21["min_version"], (string?)v21["status"]), Is.EqualTo(("2.93", "2.1", "CURRENT")));
        Assert.That((string?)v21["links"]![0]!["href"], Is.EqualTo($"{api.BaseUri.ToString().TrimEnd('/')}/v2.1/"));

        var (_, version, _) = await api.SendAsync(HttpMethod.Get, "/v2.1");
        Assert.That((string?)version!["version"]!["version"], Is.EqualTo("2.93"));
        Assert.That((string?)version["version"]!["media-types"]![0]!["type"], Is.EqualTo("application/vnd.openstack.compute+json;version=2.1"));

        var (choicesStatus, choices, _) = await api.SendAsync(HttpMethod.Get, "/v3/servers");
        Assert.That(choicesStatus, Is.EqualTo(HttpStatusCode.MultipleChoices));
        Assert.That(choices!["choices"]!.AsArray().Select(c => (string?)c!["links"]![0]!["href"]),
            Is.EqualTo(new[] { $"{api.BaseUri.ToString().TrimEnd('/')}/v2/v3/servers", $"{api.BaseUri.ToString().TrimEnd('/')}/v2.1/v3/servers" }));

        var (missing, fault, _) = await api.SendAsync(HttpMethod.Get, "/v2.1/servers");
        Assert.That(missing, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((string?)fault!["itemNotFound"]!["message"], Is.EqualTo("The resource could not be found."));
    }

    /// <summary>nova's router answers a path or a method it has no route for with 404 (nova/api/wsgi.py Router._dispatch), never 405.</summary>
    [TestCase("POST", "/v2.1/os-services")]
    [TestCase("PATCH", "/v2.1/os-services/1")]
    [TestCase("GET", "/v2.1/os-services/1")]
    [TestCase("POST", "/v2.1")]
    [TestCase("PUT", "/v2.1/0123abcd/os-services")]
    [TestCase("GET", "/v2.1/0123abcd")]
    [TestCase("GET", "/v2.1/os-services/1/extra")]
    public async Task Routes_UnknownPathOrMethod_AreNovas404CarryingTheNegotiatedVersion(string method, string path)
    {
        var api = await StartAsync();
        var request = TestApi.Request(new HttpMethod(method), path, "2.53");
        var (status, body, response) = await api.SendAsync(request);
        Assert.That(status, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(body!.ToJsonString(), Is.EqualTo("""{"itemNotFound":{"code":404,"message":"The resource could not be found."}}"""));
        Assert.That(response.Headers.GetValues("OpenStack-API-Version").Single(), Is.EqualTo("compute 2.53"));
        Assert.That(response.Content.Headers.Allow, Is.Empty);
    }

    [Test]
    public async Task Routes_ProjectIdInFront_ServeTheSameServices()
    {
        var api = await StartAsync();
        var (_, uuid) = await api.AddServiceAsync("node-a");
        var (status, body, _) = await api.SendAsync(HttpMethod.Get, "/v2.1/6f0c0b4a-88e1/os-services", "2.53");
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(body!["services"]!.AsArray().Select(s => (string?)s!["id"]), Is.EqualTo(new[] { uuid }));
        (status, body, _) = await api.SendAsync(HttpMethod.Put, $"/v2.1/6f0c0b4a-88e1/os-services/{uuid}", "2.53", new { status = "disabled" });
        Assert.That((status, (string?)body!["service"]!["status"]), Is.EqualTo((HttpStatusCode.OK, "disabled")));
        Assert.That((await api.SendAsync(HttpMethod.Get, "/v2.1/not-a-project/os-services", "2.53")).Status, Is.EqualTo(HttpStatusCode.NotFound),
            "nova's project id is hex and dashes only");
    }

    [TestCase("/healthcheck/")]
    [TestCase("/status/")]
    public async Task Root_HealthOrStatusWithTrailingSlash_IsNovasVersionChoices(string path)
    {
        var api = await StartAsync();
        var (status, body, _) = await api.SendAsync(HttpMethod.Get, path);
        Assert.That(status, Is.EqualTo(HttpStatusCode.MultipleChoices));
        Assert.That(body!["choices"], Is.Not.Null);
    }

    [Test]
    public async Task Changes_WithoutConfiguredToken_AreForbiddenWithNovasPolicyMessage()
    {
        var api = await StartAsync((ApiOptions.AdminToken, ""));
        var (_, uuid) = await api.AddServiceAsync("node-a");
        var (status, body, _) = await api.SendAsync(HttpMethod.Put, $"/v2.1/os-services/{uuid}", "2.53", new { status = "disabled" }, token: "anything");
        Assert.That(status, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That((string?)body!["forbidden"]!["message"], Is.EqualTo("Policy doesn't allow os_compute_api:os-services:update to be performed."));
        (status, body, _) = await api.SendAsync(HttpMethod.Delete, $"/v2.1/os-services/{uuid}", "2.53", token: null);
        Assert.That((string?)body!["forbidden"]!["message"], Is.EqualTo("Policy doesn't allow os_compute_api:os-services:delete to be performed."));
        Assert.That((await api.SendAsync(HttpMethod.Get, "/v2.1/os-services", token: null)).Status, Is.EqualTo(HttpStatusCode.OK), "reads stay open");
        Assert.That(api.Logs.Messages(LogLevel.Warning).Count(m => m.Contains("[api] admin_token is not set")), Is.EqualTo(1));
        Assert.That((await api.Database.Repository.GetByHostAndBinaryAsync("node-a", "nova-compute", CancellationToken.None))!.Disabled, Is.False);

        // The token is read per request: a SIGHUP that sets it opens changes without a restart.
        api.Config.Reload((ApiOptions.EnabledApis, "osapi_compute"), (ApiOptions.AdminToken, "new-secret"));
        Assert.That((await api.SendAsync(HttpMethod.Put, $"/v2.1/os-services/{uuid}", "2.53", new { status = "disabled" }, token: "new-secret")).Status,
            Is.EqualTo(HttpStatusCode.OK));
    }

    [TestCase(null)]
    [TestCase("wrong")]
    [TestCase(TestApi.Token + "x")]
    public async Task Changes_WithMissingOrWrongToken_AreUnauthorized(string? token)
    {
        var api = await StartAsync();
        var (_, uuid) = await api.AddServiceAsync("node-a");
        var (status, body, response) = await api.SendAsync(HttpMethod.Put, $"/v2.1/os-services/{uuid}", "2.53", new { status = "disabled" }, token);
        Assert.That(status, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That((string?)body!["unauthorized"]!["message"], Is.EqualTo("The request you have made requires authentication."));
        Assert.That(response.Headers.WwwAuthenticate, Is.Not.Empty);
        Assert.That(api.Logs.Messages().Any(m => m.Contains(TestApi.Token)), Is.False, "the secret never reaches the log");
    }

    [Test]
    public async Task Body_Malformed_WrongTypeOrEmpty_AreBadRequests()
    {
        var api = await StartAsync();
        var (_, uuid) = await api.AddServiceAsync("node-a");
        var path = $"/v2.1/os-services/{uuid}";
        var (status, body, _) = await api.SendAsync(HttpMethod.Put, path, "2.53", "{\"status\": ");
        Assert.That((status, (string?)body!["badRequest"]!["message"]), Is.EqualTo((HttpStatusCode.BadRequest, "Malformed request body")));
        (status, body, _) = await api.SendAsync(HttpMethod.Put, path, "2.53", "{\"forced_down\": 1}");
        Assert.That((string?)body!["badRequest"]!["message"], Is.EqualTo("Invalid input for field/attribute forced_down. Value: 1. 1 is not of type 'boolean', 'string'"));
        (status, body, _) = await api.SendAsync(HttpMethod.Put, path, "2.53", "{\"status\": \"disabled\", \"colour\": \"red\"}");
        Assert.That((string?)body!["badRequest"]!["message"], Is.EqualTo("Additional properties are not allowed ('colour' was unexpected)"));
        (status, body, _) = await api.SendAsync(new HttpRequestMessage(HttpMethod.Put, path)
        {
            Headers = { { "OpenStack-API-Version", "compute 2.53" }, { "X-Auth-Token", TestApi.Token } },
        });
        Assert.That((string?)body!["badRequest"]!["message"], Is.EqualTo("None is not of type 'object'"));
    }

    [TestCase("/v2.1/os-services/disable", null, "{\"host\": \"node-a\", \"binary\": \"nova-compute\xff\"}")]
    [TestCase("/v2.1/os-services/disable-log-reason", null, "{\"host\": \"node-a\", \"binary\": \"nova-compute\", \"disabled_reason\": \"bad \xc3\x28 utf8\"}")]
    [TestCase("{uuid}", "2.53", "{\"status\": \"disabled\", \"disabled_reason\": \"\xed\xa0\x80\"}")]
    [TestCase("{uuid}", "2.53", "{\"status\": \"disabled\", \"disabled_reason\": \"\\ud800\"}")]
    [TestCase("{uuid}", "2.53", "{\"status\xfe\": \"disabled\"}")]
    public async Task Body_InvalidUtf8OrUndecodableText_IsMalformedRequestBody400(string path, string? version, string latin1Body)
    {
        var api = await StartAsync();
        var (_, uuid) = await api.AddServiceAsync("node-a");
        var request = TestApi.Request(HttpMethod.Put, path.Replace("{uuid}", $"/v2.1/os-services/{uuid}", StringComparison.Ordinal), version);
        // Each char of the test string is one byte on the wire, so invalid UTF-8 reaches the server as written.
        request.Content = new ByteArrayContent(Encoding.Latin1.GetBytes(latin1Body));
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        var (status, body, _) = await api.SendAsync(request);

        Assert.That((status, (string?)body!["badRequest"]!["message"]), Is.EqualTo((HttpStatusCode.BadRequest, "Malformed request body")));
        Assert.That((int)body["badRequest"]!["code"]!, Is.EqualTo(400));
    }

    [Test]
    public async Task Body_UnsupportedContentType_Is415()
    {
        var api = await StartAsync();
        var (_, uuid) = await api.AddServiceAsync("node-a");
        var request = TestApi.Request(HttpMethod.Put, $"/v2.1/os-services/{uuid}", "2.53", new { status = "disabled" });
        request.Content!.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/xml");
        var (status, body, _) = await api.SendAsync(request);
        Assert.That(status, Is.EqualTo(HttpStatusCode.UnsupportedMediaType));
        Assert.That((string?)body!["badMediaType"]!["message"], Is.EqualTo("Unsupported Content-Type"));
    }

    [Test]
    public async Task Body_LargerThanMaxRequestBodySize_Is413()
    {
        var api = await StartAsync((ApiOptions.MaxRequestBodySize, "100"));
        var (_, uuid) = await api.AddServiceAsync("node-a");
        var (status, body, _) = await api.SendAsync(HttpMethod.Put, $"/v2.1/os-services/{uuid}", "2.53",
            new { status = "disabled", disabled_reason = new string('x', 200) });
        Assert.That(status, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        Assert.That((string?)body!["overLimit"]!["message"], Is.EqualTo("Request is too large. Larger than max_request_body_size (100)."));
    }

    [Test]
    public async Task Header_LongerThanMaxHeaderLine_IsBadRequest()
    {
        var api = await StartAsync((ApiOptions.MaxHeaderLine, "1024"));
        var request = new HttpRequestMessage(HttpMethod.Get, "/v2.1/os-services");
        request.Headers.Add("X-Padding", new string('p', 1100));
        var (status, body, _) = await api.SendAsync(request);
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((string?)body!["badRequest"]!["message"], Does.StartWith("Header Line Too Long"));
        request = new HttpRequestMessage(HttpMethod.Get, "/v2.1/os-services");
        request.Headers.Add("X-Padding", new string('p', 1000));
        Assert.That((await api.SendAsync(request)).Status, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task AccessLog_EveryRequest_OneLineInWsgiLogFormat()
    {
        var api = await StartAsync();
        await api.SendAsync(HttpMethod.Get, "/v2.1/os-services?host=x");
        // Written once the response is complete, which the client may see first.
        await Eventually.Until(() => api.Logs.Entries.Any(r => r.Category == ApiPipeline.AccessLogCategory));
        var line = api.Logs.Entries.Single(r => r.Category == ApiPipeline.AccessLogCategory);
        Assert.That(line.Level, Is.EqualTo(LogLevel.Information));
        Assert.That(line.Message, Does.Match("""^127\.0\.0\.1 "GET /v2\.1/os-services\?host=x HTTP/1\.1" status: 200 len: 15 time: \d+\.\d{7}$"""));
    }

    [Test]
    public async Task KeepAliveFalse_EveryResponseClosesTheConnection()
    {
        var api = await StartAsync((ApiOptions.KeepAlive, "false"));
        var response = (await api.SendAsync(HttpMethod.Get, "/")).Response;
        Assert.That(response.Headers.ConnectionClose, Is.True);
        var kept = await StartAsyncSecond();
        Assert.That((await kept.SendAsync(HttpMethod.Get, "/")).Response.Headers.ConnectionClose, Is.Not.True);
        await kept.DisposeAsync();
    }

    private static Task<TestApi> StartAsyncSecond() => TestApi.StartAsync(DatabaseDialect.Sqlite);

    [Test]
    public async Task Healthcheck_DatabaseAnswers_200Ok()
    {
        var api = await StartAsync();
        var response = await api.Client.GetAsync("/healthcheck");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("OK"));
    }

    [Test]
    public async Task Status_Document_NamesServiceAndDatabase()
    {
        var api = await StartAsync();
        var (status, body, _) = await api.SendAsync(HttpMethod.Get, "/status");
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((string?)body!["service"]!["host"], Is.EqualTo("api-test"));
        Assert.That((bool)body["database"]!["ok"]!, Is.True);
        Assert.That(body["periodic_tasks"], Is.Null, "no periodic-task worker in this composition");
        Assert.That(body["broker"], Is.Null, "no RPC layer in this composition");
    }

    /// <summary>
    /// default_pool_size is a real limit: with one slot, a request whose body is still arriving holds
    /// it and a second request waits until the first is answered.
    /// </summary>
    [Test]
    public async Task PoolSize_One_SecondRequestWaitsForTheFirst()
    {
        var api = await StartAsync((ApiOptions.DefaultPoolSize, "1"));
        var (_, uuid) = await api.AddServiceAsync("node-a");
        await using var slow = await SlowPut.StartAsync(api.BaseUri, uuid, TestApi.Token);
        await Eventually.Until(() => api.Logs.Messages().Any(m => m.Contains("Calling method 'update'")));

        var second = api.Client.GetAsync("/v2.1/os-services");
        // The second request has reached the pipeline (it counts as in flight from its first byte)
        // yet is not handled: it waits for the only slot.
        await Eventually.Until(() => api.Pipeline.InFlight == 2, what: () => $"the second request to arrive ({api.Pipeline.InFlight} in flight)");
        Assert.That(api.Logs.Messages().Any(m => m.Contains("Calling method 'index'")), Is.False, "the only slot is taken");
        Assert.That(second.IsCompleted, Is.False, "the only slot is taken");
        var first = await slow.FinishAsync();
        Assert.That(first, Does.StartWith("HTTP/1.1 200"));
        Assert.That((await second.WaitAsync(TimeSpan.FromSeconds(10))).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(api.Logs.Messages().Any(m => m.Contains("Calling method 'index'")), Is.True);
    }
}

/// <summary>
/// A PUT whose body arrives in two parts over a raw socket: between them the request is in flight
/// (its handler waits for the rest of the body) for as long as the test wants.
/// </summary>
internal sealed class SlowPut : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly byte[] _rest;

    private SlowPut(Socket socket, byte[] rest)
    {
        _socket = socket;
        _rest = rest;
    }

    public static async Task<SlowPut> StartAsync(Uri baseUri, string uuid, string token)
    {
        var body = Encoding.UTF8.GetBytes("""{"status": "disabled", "disabled_reason": "slow request"}""");
        var head = Encoding.ASCII.GetBytes(
            $"PUT /v2.1/os-services/{uuid} HTTP/1.1\r\nHost: {baseUri.Authority}\r\nOpenStack-API-Version: compute 2.53\r\n" +
            $"X-Auth-Token: {token}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n");
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, baseUri.Port);
        await socket.SendAsync(head.Concat(body.Take(10)).ToArray());
        return new SlowPut(socket, body[10..]);
    }

    /// <summary>Sends the rest of the body and returns the whole response.</summary>
    public async Task<string> FinishAsync()
    {
        await _socket.SendAsync(_rest);
        var buffer = new byte[16384];
        var received = new StringBuilder();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (!received.ToString().Contains("\r\n\r\n", StringComparison.Ordinal) || !CompleteBody(received.ToString()))
        {
            var n = await _socket.ReceiveAsync(buffer, cts.Token);
            if (n == 0)
            {
                break;
            }
            received.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }
        return received.ToString();
    }

    private static bool CompleteBody(string response)
    {
        var split = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var length = response[..split].Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        return length is null || response.Length - split - 4 >= int.Parse(length["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
