using System.Buffers;
using System.Text.Json;
using NovaCompute.Messaging.Rpc;

namespace NovaCompute.Tests.Messaging.Rpc;

public class RequestContextTests
{
    private const string Reference = """
        {"_context_user": "u1", "_context_project_id": "p1", "_context_system_scope": null, "_context_project": "p1",
         "_context_domain": null, "_context_user_domain": null, "_context_project_domain": null, "_context_is_admin": true,
         "_context_read_only": false, "_context_show_deleted": false, "_context_auth_token": "tok",
         "_context_request_id": "req-11111111-2222-3333-4444-555555555555",
         "_context_global_request_id": "req-99999999-2222-3333-4444-555555555555", "_context_resource_uuid": null,
         "_context_roles": ["admin", "member"], "_context_user_identity": "u1 p1 - - -", "_context_is_admin_project": true,
         "_context_user_id": "u1", "_context_read_deleted": "no", "_context_remote_address": null,
         "_context_timestamp": "2024-05-14T09:12:31.240866", "_context_quota_class": null, "_context_user_name": null,
         "_context_service_catalog": [], "_context_project_name": null, "_context_trace_info": {"hmac_key": "k"}, "method": "ping"}
        """;

    [Test]
    public void FromMessage_NovasVerifiedExample_AllFieldsRead()
    {
        using var doc = JsonDocument.Parse(Reference);
        var context = RequestContext.FromMessage(doc.RootElement);

        Assert.That(context.RequestId, Is.EqualTo("req-11111111-2222-3333-4444-555555555555"));
        Assert.That(context.GlobalRequestId, Is.EqualTo("req-99999999-2222-3333-4444-555555555555"));
        Assert.That((context.UserId, context.ProjectId, context.IsAdmin, context.ReadDeleted, context.AuthToken), Is.EqualTo(("u1", "p1", true, "no", "tok")));
        Assert.That(context.Roles, Is.EqualTo(new[] { "admin", "member" }));
        Assert.That(context.Timestamp, Is.EqualTo(new DateTime(2024, 5, 14, 9, 12, 31, DateTimeKind.Utc).AddTicks(2408660)));
        Assert.That(context.UserIdentity, Is.EqualTo("u1 p1 - - -"));
        Assert.That(context.Extra.Keys, Is.EqualTo(new[] { "trace_info" }), "unknown keys kept");
    }

    [Test]
    public void FromMessage_EscapedAndLongKeys_ReadAsTheirDecodedNames()
    {
        var longKey = "_context_" + new string('k', 80);
        using var doc = JsonDocument.Parse($$"""
            {"\u005fcontext_user_id": "u2", "_context_\u0070roject_id": "p2", "{{longKey}}": 1, "_cont": 2,
             "_context_timestamp": "2024-05-14 09:12:31"}
            """);
        var context = RequestContext.FromMessage(doc.RootElement);

        Assert.That((context.UserId, context.ProjectId), Is.EqualTo(("u2", "p2")));
        Assert.That(context.Extra.Keys, Is.EqualTo(new[] { longKey["_context_".Length..] }));
        Assert.That(context.Timestamp, Is.EqualTo(new DateTime(2024, 5, 14, 9, 12, 31, DateTimeKind.Utc)), "other formats still parsed");
        Assert.That(context.Timestamp.Kind, Is.EqualTo(DateTimeKind.Utc));
    }

    [Test]
    public void FromMessage_LoneSurrogateInAValue_TypedProblemNamingTheKey()
    {
        using var doc = JsonDocument.Parse("""{"_context_user_id": "u1", "_context_user": "\udc00x", "method": "ping"}""");

        var ex = Assert.Throws<RpcMessageException>(() => RequestContext.FromMessage(doc.RootElement));

        Assert.That((ex!.Problem.Fault, ex.Problem.Field), Is.EqualTo((RpcMessageFault.UnreadableContext, "_context_user")));
        Assert.That(ex.Problem.Description, Does.StartWith("the request context is unreadable: "));
    }

    [Test]
    public void WriteTo_RoundTrip_SameKeysAndValuesAsNovasToDict()
    {
        using var doc = JsonDocument.Parse(Reference);
        var context = RequestContext.FromMessage(doc.RootElement);

        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            context.WriteTo(writer);
            writer.WriteEndObject();
        }
        using var written = JsonDocument.Parse(buffer.WrittenMemory);

        var expected = doc.RootElement.EnumerateObject().Where(p => p.Name.StartsWith("_context_")).ToList();
        var actual = written.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value);
        Assert.That(actual.Keys, Is.EquivalentTo(expected.Select(p => p.Name)));
        foreach (var property in expected)
        {
            Assert.That(JsonElement.DeepEquals(actual[property.Name], property.Value), Is.True, $"{property.Name}: {actual[property.Name]} vs {property.Value}");
        }
    }

    [Test]
    public void LogScopeAndToString_CarryIdsButNeverTheToken()
    {
        var context = new RequestContext { UserId = "u", ProjectId = "p", AuthToken = "very-secret", GlobalRequestId = "req-g" };

        var scope = context.LogScope().ToDictionary(kv => kv.Key, kv => kv.Value);

        Assert.That(scope, Is.EqualTo(new Dictionary<string, object?>
        {
            ["RequestId"] = context.RequestId,
            ["GlobalRequestId"] = "req-g",
            ["UserId"] = "u",
            ["ProjectId"] = "p",
        }));
        Assert.That(context.ToString(), Does.Not.Contain("very-secret"));
        Assert.That(context.RequestId, Does.Match("^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"));
    }

    [Test]
    public void FromMessage_NoContextKeys_FreshRequestIdAndNovaDefaults()
    {
        using var doc = JsonDocument.Parse("""{"method": "x"}""");
        var context = RequestContext.FromMessage(doc.RootElement);
        Assert.That(context.RequestId, Does.StartWith("req-"));
        Assert.That((context.IsAdmin, context.IsAdminProject, context.ReadDeleted), Is.EqualTo((false, true, "no")));
    }
}
