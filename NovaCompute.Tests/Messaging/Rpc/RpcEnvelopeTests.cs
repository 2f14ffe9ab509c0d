using System.Text;
using System.Text.Json;
using NovaCompute.Messaging.Rpc;
using NovaCompute.Tests.Messaging.Vectors;

namespace NovaCompute.Tests.Messaging.Rpc;

public class RpcEnvelopeTests
{
    [Test]
    public void TryOpen_OsloCapturedBodies_Decoded()
    {
        using var capture = JsonDocument.Parse(File.ReadAllText(WireVectors.PathOf("wire-capture-oslo-python.json")));
        foreach (var published in capture.RootElement.GetProperty("published").EnumerateArray())
        {
            var body = Encoding.UTF8.GetBytes(published.GetProperty("body").GetString()!);

            Assert.That(RpcEnvelope.TryOpen(body, out var message, out var problem), Is.True, problem?.Description);
            using (message)
            {
                Assert.That(JsonElement.DeepEquals(message!.Root, published.GetProperty("oslo.message(decoded)")), Is.True);
            }
        }
    }

    [Test]
    public void Write_TwoLayers_OsloCanReadItBack()
    {
        var body = RpcEnvelope.Write("h\u00e9llo \"quoted\" \\ <tag>", static (w, s) => w.WriteString("text", s));

        using var outer = JsonDocument.Parse(body);
        Assert.That(outer.RootElement.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "oslo.version", "oslo.message" }));
        Assert.That(outer.RootElement.GetProperty("oslo.version").GetString(), Is.EqualTo("2.0"));
        using var inner = JsonDocument.Parse(outer.RootElement.GetProperty("oslo.message").GetString()!);
        Assert.That(inner.RootElement.GetProperty("text").GetString(), Is.EqualTo("h\u00e9llo \"quoted\" \\ <tag>"));
        Assert.That(RpcEnvelope.TryOpen(body, out var opened, out _), Is.True);
        using (opened)
        {
            Assert.That(opened!.Root.GetProperty("text").GetString(), Is.EqualTo("h\u00e9llo \"quoted\" \\ <tag>"));
        }
    }

    [TestCase("""{"oslo.version": "2.1", "oslo.message": "{}"}""", RpcMessageFault.UnsupportedVersion, "Specified RPC envelope version, 2.1, not supported by this endpoint.")]
    [TestCase("""{"oslo.version": "1.0", "oslo.message": "{}"}""", RpcMessageFault.UnsupportedVersion, "Specified RPC envelope version, 1.0, not supported by this endpoint.")]
    [TestCase("""{"oslo.message": "{}"}""", RpcMessageFault.BadEnvelope, "no oslo.version/oslo.message envelope (legacy 1.0 messages are not accepted)")]
    public void TryOpen_WrongOrMissingVersion_SaysWhy(string body, RpcMessageFault fault, string expected)
    {
        Assert.That(RpcEnvelope.TryOpen(Encoding.UTF8.GetBytes(body), out var message, out var problem), Is.False);
        message?.Dispose();
        Assert.That((problem!.Fault, problem.Field, problem.Description), Is.EqualTo((fault, "oslo.version", expected)));
    }

    [TestCase("", RpcMessageFault.BadEnvelope, null)]
    [TestCase("{not json", RpcMessageFault.BadEnvelope, null)]
    [TestCase("""{"oslo.version": "2.0", "oslo.message": 42}""", RpcMessageFault.BadEnvelope, "oslo.message")]
    [TestCase("""{"oslo.version": "2.0", "oslo.message": "{broken"}""", RpcMessageFault.BadMessage, "oslo.message")]
    [TestCase("""{"oslo.version": "2.0", "oslo.message": "[]"}""", RpcMessageFault.BadMessage, "oslo.message")]
    public void TryOpen_Malformed_FaultAndFieldNamed(string body, RpcMessageFault fault, string? field)
    {
        Assert.That(RpcEnvelope.TryOpen(Encoding.UTF8.GetBytes(body), out var message, out var problem), Is.False);
        message?.Dispose();
        Assert.That((problem!.Fault, problem.Field), Is.EqualTo((fault, field)));
    }

    [Test]
    public void Problem_UnsupportedVersion_AnsweredWithOslosOwnClass()
    {
        var unsupported = new RpcMessageProblem(RpcMessageFault.UnsupportedVersion, "v").ToRemoteException();
        var other = new RpcMessageProblem(RpcMessageFault.UnreadableContext, "c").ToRemoteException();

        Assert.That((unsupported.ClassName, unsupported.Module), Is.EqualTo(("UnsupportedRpcEnvelopeVersion", "oslo_messaging._drivers.common")));
        Assert.That((other.ClassName, other.Module), Is.EqualTo(("ValueError", "builtins")));
    }

    [Test]
    public void Reply_Fields_AsOsloSendsThem()
    {
        var body = RpcMessages.Reply("abc", new Dictionary<string, object?> { ["k"] = 1 }, null, ending: true, JsonRpcEntitySerializer.Instance, null);

        Assert.That(RpcEnvelope.TryOpen(body, out var message, out _), Is.True);
        using (message)
        {
            var root = message!.Root;
            Assert.That(root.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "result", "failure", "ending", "_msg_id", "_unique_id" }));
            Assert.That(root.GetProperty("result").GetRawText(), Is.EqualTo("""{"k":1}"""));
            Assert.That(root.GetProperty("failure").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(root.GetProperty("ending").GetBoolean(), Is.True);
        }
    }

    [TestCase("python", "{\"oslo.version\": \"2.0\", \"oslo.message\": \"{\\\"args\\\": {\\\"_msg_id\\\": \\\"in-args\\\", \\\"s\\\": \\\"\\\\\\\"_reply_q\\\\\\\": \\\\\\\"in-a-string\\\"}, \\\"_msg_id\\\": \\\"m1\\\", \\\"_reply_q\\\": \\\"reply_q1\\\"}\"}")]
    [TestCase("compact", "{\"oslo.version\":\"2.0\",\"oslo.message\":\"{\\\"_msg_id\\\":\\\"m1\\\",\\\"_reply_q\\\":\\\"reply_q1\\\"}\"}")]
    [TestCase("u0022", "{\"oslo.version\":\"2.0\",\"oslo.message\":\"{\\u0022_msg_id\\u0022:\\u0022m1\\u0022,\\u0022_reply_q\\u0022:\\u0022reply_q1\\u0022}\"}")]
    public void FindReplyAddress_EnvelopeTooBigToParse_FindsTheMessagesOwnKeys(string writer, string body)
    {
        Assert.That(RpcEnvelope.FindReplyAddress(Encoding.UTF8.GetBytes(body)), Is.EqualTo(("m1", "reply_q1")), writer);
    }

    [TestCase("{\"oslo.version\": \"2.0\", \"oslo.message\": \"{\\\"_msg_id\\\": \\\"m1\\\"}\"}")]
    [TestCase("{\"oslo.version\": \"2.0\", \"oslo.message\": \"{\\\"_msg_id\\\": 5, \\\"_reply_q\\\": \\\"q\\\"}\"}")]
    [TestCase("{\"_msg_id\": \"m1\", \"_reply_q\": \"q\"}")]
    [TestCase("")]
    public void FindReplyAddress_NoPlainAddress_Null(string body)
    {
        Assert.That(RpcEnvelope.FindReplyAddress(Encoding.UTF8.GetBytes(body)), Is.Null);
    }
}
