using System.Text.Json;
using NovaCompute.Messaging.Rpc;

namespace NovaCompute.Tests.Messaging.Rpc;

public class RpcRequestReaderTests
{
    [TestCase("""{"args": {}}""", "method", "the request has no method")]
    [TestCase("""{"method": "", "args": {}}""", "method", "the request has no method")]
    [TestCase("""{"method": 7, "args": {}}""", "method", "the request has no method")]
    [TestCase("""{"method": "\ud800", "args": {}}""", "method", "the request's method is not valid text")]
    [TestCase("""{"method": "add", "args": [1]}""", "args", "the request's args are a JSON Array, not an object")]
    public void TryRead_BadField_ProblemNamesTheField(string message, string field, string description)
    {
        using var doc = JsonDocument.Parse(message);

        Assert.That(RpcRequestReader.TryRead(doc.RootElement, out var request, out var problem), Is.False);

        Assert.That(request, Is.Null);
        Assert.That(problem, Is.EqualTo(new RpcMessageProblem(RpcMessageFault.BadField, description, field)));
    }

    [Test]
    public void TryRead_UnreadableContext_ProblemFromTheContext()
    {
        using var doc = JsonDocument.Parse("""{"method": "add", "_context_project_id": "\udfff", "_msg_id": "m1", "_reply_q": "q1"}""");

        Assert.That(RpcRequestReader.TryRead(doc.RootElement, out _, out var problem), Is.False);

        Assert.That((problem!.Fault, problem.Field), Is.EqualTo((RpcMessageFault.UnreadableContext, "_context_project_id")));
    }

    [Test]
    public void TryRead_Call_AddressTimeoutAndIdsRead()
    {
        using var doc = JsonDocument.Parse("""
            {"method": "add", "args": {"a": 1}, "namespace": "ns", "version": "6.0", "_msg_id": "m1", "_reply_q": "q1",
             "_unique_id": "u1", "_timeout": 30, "_context_request_id": "req-1"}
            """);

        Assert.That(RpcRequestReader.TryRead(doc.RootElement, out var incoming, out var problem), Is.True, problem?.Description);

        Assert.That((incoming!.Request.Method, incoming.Request.Namespace, incoming.Request.Version), Is.EqualTo(("add", "ns", "6.0")));
        Assert.That(incoming.Request.Args.GetProperty("a").GetInt32(), Is.EqualTo(1));
        Assert.That(incoming.Request.Context.RequestId, Is.EqualTo("req-1"));
        Assert.That((incoming.ReplyTo, incoming.MsgId, incoming.UniqueId, incoming.Timeout),
            Is.EqualTo(((ReplyAddress?)new ReplyAddress("m1", "q1"), "m1", "u1", (double?)30)));
    }

    [Test]
    public void TryRead_CastWithoutReplyQueue_NoReplyAddressButMsgIdKept()
    {
        using var doc = JsonDocument.Parse("""{"method": "add", "_msg_id": "m1"}""");

        Assert.That(RpcRequestReader.TryRead(doc.RootElement, out var incoming, out _), Is.True);

        Assert.That((incoming!.ReplyTo, incoming.MsgId), Is.EqualTo(((ReplyAddress?)null, "m1")));
    }
}
