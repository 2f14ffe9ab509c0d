using System.Net;
using System.Text.Json.Nodes;
using NovaCompute.Db;

namespace NovaCompute.Tests.Api;

/// <summary>os-services through HTTP on a real database, on SQLite and PostgreSQL (nova/api/openstack/compute/services.py).</summary>
[TestFixture(DatabaseDialect.Sqlite)]
[TestFixture(DatabaseDialect.PostgreSql)]
internal sealed class ServicesApiTests(DatabaseDialect dialect)
{
    private TestApi _api = null!;

    [SetUp]
    public async Task SetUp() => _api = await TestApi.StartAsync(dialect);

    [TearDown]
    public async Task TearDown()
    {
        // Null-safe: without its database the set-up failed, and that failure is what the report must show.
        if (_api is not null)
        {
            await _api.DisposeAsync();
        }
    }

    private static string[] Keys(JsonNode service) => service.AsObject().Select(p => p.Key).ToArray();

    [Test]
    public async Task Index_PerMicroversion_HasNovasShapeAndStateRule()
    {
        var (upId, upUuid) = await _api.AddServiceAsync("cmp-up");
        var (downId, _) = await _api.AddServiceAsync("cmp-down", up: false);
        await _api.AddServiceAsync("ctl", "nova-conductor");
        await _api.AddServiceAsync("api", "nova-osapi_compute");

        var (status, body, response) = await _api.SendAsync(HttpMethod.Get, "/v2.1/os-services", token: null);
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Headers.GetValues("OpenStack-API-Version").Single(), Is.EqualTo("compute 2.1"));
        var services = body!["services"]!.AsArray();
        Assert.That(services.Select(s => (string?)s!["host"]), Is.EqualTo(new[] { "cmp-up", "cmp-down", "ctl" }), "API records are hidden");
        Assert.That(Keys(services[0]!), Is.EqualTo(new[] { "binary", "host", "id", "zone", "status", "state", "updated_at", "disabled_reason" }));
        Assert.That((int)services[0]!["id"]!, Is.EqualTo(upId));
        Assert.That((int)services[1]!["id"]!, Is.EqualTo(downId));
        Assert.That(services.Select(s => (string?)s!["state"]), Is.EqualTo(new[] { "up", "down", "up" }));
        Assert.That(services.Select(s => (string?)s!["zone"]), Is.EqualTo(new[] { "nova", "nova", "internal" }));
        Assert.That((string?)services[0]!["updated_at"], Does.Match(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$"));

        var v211 = (await _api.SendAsync(HttpMethod.Get, "/v2.1/os-services", "2.11")).Body!["services"]!.AsArray();
        Assert.That(Keys(v211[0]!), Does.Contain("forced_down"));
        Assert.That((bool)v211[0]!["forced_down"]!, Is.False);
        Assert.That(v211[0]!["id"]!.GetValueKind(), Is.EqualTo(System.Text.Json.JsonValueKind.Number));

        var v253 = (await _api.SendAsync(HttpMethod.Get, "/v2.1/os-services", "2.53")).Body!["services"]!.AsArray();
        Assert.That((string?)v253[0]!["id"], Is.EqualTo(upUuid));
    }

    [Test]
    public async Task Index_HostAndBinaryFilters_MatchExactly()
    {
        await _api.AddServiceAsync("node-a");
        await _api.AddServiceAsync("node-b");
        await _api.AddServiceAsync("node-a", "nova-conductor");
        var byHost = (await _api.SendAsync(HttpMethod.Get, "/v2.1/os-services?host=node-a")).Body!["services"]!.AsArray();
        Assert.That(byHost.Select(s => (string?)s!["binary"]), Is.EquivalentTo(new[] { "nova-compute", "nova-conductor" }));
        var both = (await _api.SendAsync(HttpMethod.Get, "/v2.1/os-services?host=node-a&binary=nova-compute")).Body!["services"]!.AsArray();
        Assert.That(both, Has.Count.EqualTo(1));
        var none = (await _api.SendAsync(HttpMethod.Get, "/v2.1/os-services?host=node")).Body!["services"]!.AsArray();
        Assert.That(none, Is.Empty);
        var emptyFilter = (await _api.SendAsync(HttpMethod.Get, "/v2.1/os-services?host=")).Body!["services"]!.AsArray();
        Assert.That(emptyFilter, Has.Count.EqualTo(3), "an empty value filters nothing, as nova's `if host:`");
    }

    [Test]
    public async Task Index_UnknownQueryParameter_IgnoredBefore275RefusedFrom275()
    {
        await _api.AddServiceAsync("node-a");
        Assert.That((await _api.SendAsync(HttpMethod.Get, "/v2.1/os-services?zone=x", "2.74")).Status, Is.EqualTo(HttpStatusCode.OK));
        var (status, body, _) = await _api.SendAsync(HttpMethod.Get, "/v2.1/os-services?zone=x&host=node-a", "2.75");
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((int)body!["badRequest"]!["code"]!, Is.EqualTo(400));
        Assert.That((string?)body["badRequest"]!["message"], Is.EqualTo("Additional properties are not allowed ('zone' was unexpected)"));
    }

    [Test]
    public async Task UpdateByUuid_DisableEnableForceDown_ChangesTheRecordAndAnswersTheFullView()
    {
        var (id, uuid) = await _api.AddServiceAsync("node-a");
        var (status, body, _) = await _api.SendAsync(HttpMethod.Put, $"/v2.1/os-services/{uuid}", "2.53", new { status = "disabled", disabled_reason = "maintenance" });
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body?.ToJsonString());
        var service = body!["service"]!;
        Assert.That(Keys(service), Is.EqualTo(new[] { "binary", "host", "id", "zone", "status", "state", "updated_at", "disabled_reason", "forced_down" }));
        Assert.That((string?)service["id"], Is.EqualTo(uuid));
        Assert.That((string?)service["status"], Is.EqualTo("disabled"));
        Assert.That((string?)service["disabled_reason"], Is.EqualTo("maintenance"));
        var row = await _api.Database.Repository.GetByIdAsync(id, CancellationToken.None);
        Assert.That((row!.Disabled, row.DisabledReason), Is.EqualTo((true, "maintenance")));

        body = (await _api.SendAsync(HttpMethod.Put, $"/v2.1/os-services/{uuid.ToUpperInvariant()}", "2.53", new { status = "enabled" })).Body;
        Assert.That((string?)body!["service"]!["status"], Is.EqualTo("enabled"));
        Assert.That(body["service"]!["disabled_reason"], Is.Null);

        body = (await _api.SendAsync(HttpMethod.Put, $"/v2.1/os-services/{uuid}", "2.53", new { forced_down = true })).Body;
        Assert.That((bool)body!["service"]!["forced_down"]!, Is.True);
        Assert.That((string?)body["service"]!["state"], Is.EqualTo("down"), "forced down is down, by the list's rule");
        body = (await _api.SendAsync(HttpMethod.Put, $"/v2.1/os-services/{uuid}", "2.53", new { forced_down = "no" })).Body;
        Assert.That((string?)body!["service"]!["state"], Is.EqualTo("up"));
    }

    private static readonly object[] UuidUpdateErrors =
    [
        new object[] { "not-a-uuid", new { status = "enabled" }, 400, "Invalid uuid not-a-uuid" },
        new object[] { "00000000-0000-0000-0000-000000000001", new { status = "enabled" }, 404, "Service 00000000-0000-0000-0000-000000000001 could not be found." },
        new object[] { "{uuid}", new { disabled_reason = "x" }, 400, "No updates were requested. Fields 'status' or 'forced_down' should be specified." },
        new object[] { "{uuid}", new { status = "enabled", disabled_reason = "x" }, 400, "Specifying 'disabled_reason' with status 'enabled' is invalid." },
        new object[] { "{conductor}", new { status = "disabled" }, 400, "Updating a nova-conductor service is not supported. Only nova-compute services can be updated." },
    ];

    [TestCaseSource(nameof(UuidUpdateErrors))]
    public async Task UpdateByUuid_Refused_WithNovasStatusAndMessage(string id, object body, int expectedStatus, string message)
    {
        var (_, uuid) = await _api.AddServiceAsync("node-a");
        var (_, conductor) = await _api.AddServiceAsync("ctl", "nova-conductor");
        var path = "/v2.1/os-services/" + id.Replace("{uuid}", uuid).Replace("{conductor}", conductor);
        var (status, answer, _) = await _api.SendAsync(HttpMethod.Put, path, "2.53", body);
        Assert.That((int)status, Is.EqualTo(expectedStatus));
        var name = expectedStatus == 404 ? "itemNotFound" : "badRequest";
        Assert.That((string?)answer![name]!["message"], Is.EqualTo(message));
        Assert.That((int)answer[name]!["code"]!, Is.EqualTo(expectedStatus));
    }

    [Test]
    public async Task UpdateByAction_Before253_NovasActionsAndAnswers()
    {
        var (id, _) = await _api.AddServiceAsync("node-a");
        var (status, body, _) = await _api.SendAsync(HttpMethod.Put, "/v2.1/os-services/disable-log-reason", "2.52",
            new { host = "node-a", binary = "nova-compute", disabled_reason = "broken fan" });
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(body!.ToJsonString(), Is.EqualTo("""{"service":{"host":"node-a","binary":"nova-compute","status":"disabled","disabled_reason":"broken fan"}}"""));
        Assert.That((await _api.Database.Repository.GetByIdAsync(id, CancellationToken.None))!.DisabledReason, Is.EqualTo("broken fan"));

        body = (await _api.SendAsync(HttpMethod.Put, "/v2.1/os-services/enable", null, new { host = "node-a", binary = "nova-compute" })).Body;
        Assert.That(body!.ToJsonString(), Is.EqualTo("""{"service":{"host":"node-a","binary":"nova-compute","status":"enabled"}}"""));
        var row = await _api.Database.Repository.GetByIdAsync(id, CancellationToken.None);
        Assert.That((row!.Disabled, row.DisabledReason), Is.EqualTo((false, (string?)null)));

        body = (await _api.SendAsync(HttpMethod.Put, "/v2.1/os-services/force-down", "2.11", new { host = "node-a", binary = "nova-compute", forced_down = "True" })).Body;
        Assert.That(body!.ToJsonString(), Is.EqualTo("""{"service":{"host":"node-a","binary":"nova-compute","forced_down":true}}"""));
        Assert.That((await _api.Database.Repository.GetByIdAsync(id, CancellationToken.None))!.ForcedDown, Is.True);
    }

    [TestCase("force-down", "2.10", """{"host":"node-a","binary":"nova-compute"}""", 404, "Unknown action")]
    [TestCase("reboot", "2.52", """{"host":"node-a","binary":"nova-compute"}""", 404, "Unknown action")]
    [TestCase("disable-log-reason", "2.1", """{"host":"node-a","binary":"nova-compute"}""", 400, "Missing disabled reason field")]
    [TestCase("force-down", "2.11", """{"host":"node-a","binary":"nova-compute"}""", 400, "Missing forced_down field")]
    [TestCase("disable", "2.1", """{"host":"node-a","binary":"nova-scheduler"}""", 400, "Updating a nova-scheduler service is not supported. Only nova-compute services can be updated.")]
    [TestCase("disable", "2.1", """{"host":"nowhere","binary":"nova-compute"}""", 404, "Could not find binary nova-compute on host nowhere.")]
    [TestCase("disable", "2.53", """{"status":"disabled"}""", 400, "Invalid uuid disable")]
    public async Task UpdateByAction_Refused_WithNovasStatusAndMessage(string action, string version, string body, int expectedStatus, string message)
    {
        await _api.AddServiceAsync("node-a");
        var (status, answer, _) = await _api.SendAsync(HttpMethod.Put, "/v2.1/os-services/" + action, version, body);
        Assert.That((int)status, Is.EqualTo(expectedStatus), answer?.ToJsonString());
        Assert.That((string?)answer![expectedStatus == 404 ? "itemNotFound" : "badRequest"]!["message"], Is.EqualTo(message));
    }

    [Test]
    public async Task Delete_ByIntegerIdBefore253AndByUuidFrom253_SoftDeletes()
    {
        var (id, _) = await _api.AddServiceAsync("node-a");
        var (_, uuid) = await _api.AddServiceAsync("node-b");
        var (status, body, response) = await _api.SendAsync(HttpMethod.Delete, $"/v2.1/os-services/{id}");
        Assert.That(status, Is.EqualTo(HttpStatusCode.NoContent));
        Assert.That(body, Is.Null);
        Assert.That(response.Headers.GetValues("OpenStack-API-Version").Single(), Is.EqualTo("compute 2.1"));
        Assert.That(await _api.Database.Repository.GetByIdAsync(id, CancellationToken.None), Is.Null);
        Assert.That(await _api.Database.ScalarAsync<long>("SELECT COUNT(*) FROM services WHERE id = @id AND deleted = id", new { id }), Is.EqualTo(1));

        Assert.That((await _api.SendAsync(HttpMethod.Delete, $"/v2.1/os-services/{uuid}", "2.53")).Status, Is.EqualTo(HttpStatusCode.NoContent));
        var left = (await _api.SendAsync(HttpMethod.Get, "/v2.1/os-services")).Body!["services"]!.AsArray();
        Assert.That(left, Is.Empty);
    }

    [TestCase("abc", null, 400, "Invalid input received: id must be an integer")]
    [TestCase("9999", null, 404, "Service 9999 not found.")]
    [TestCase("99999999999999999999", null, 404, "Service 99999999999999999999 not found.")]
    [TestCase("1", "2.53", 400, "Invalid uuid 1")]
    [TestCase("00000000-0000-0000-0000-000000000001", "2.53", 404, "Service 00000000-0000-0000-0000-000000000001 not found.")]
    public async Task Delete_Refused_WithNovasStatusAndMessage(string id, string? version, int expectedStatus, string message)
    {
        var (status, answer, _) = await _api.SendAsync(HttpMethod.Delete, "/v2.1/os-services/" + id, version);
        Assert.That((int)status, Is.EqualTo(expectedStatus));
        Assert.That((string?)answer![expectedStatus == 404 ? "itemNotFound" : "badRequest"]!["message"], Is.EqualTo(message));
    }
}
