using System.Text.Json;

namespace NovaCompute.Messaging.Rpc;

/// <summary>Where a call wants its reply: <c>_msg_id</c> on <c>_reply_q</c>.</summary>
internal readonly record struct ReplyAddress(string MsgId, string ReplyQueue)
{
    /// <summary>The address of a call; null for a cast (or when either key is missing or not text).</summary>
    public static ReplyAddress? Of(JsonElement message) =>
        RpcEnvelope.StringOrNull(message, "_msg_id"u8) is { } msgId && RpcEnvelope.StringOrNull(message, "_reply_q"u8) is { } replyQueue
            ? new ReplyAddress(msgId, replyQueue)
            : null;
}

/// <summary>A request checked and read from its decoded message, as the server acts on it.</summary>
/// <param name="ReplyTo">Null for a cast.</param>
/// <param name="MsgId">The <c>_msg_id</c>, also when a cast carries one.</param>
internal sealed record IncomingRequest(RpcRequest Request, ReplyAddress? ReplyTo, string? MsgId, string? UniqueId, double? Timeout);

/// <summary>
/// The validation step between an opened envelope and the dispatcher: what oslo's
/// <c>RPCDispatcher.dispatch</c> reads from a message (<c>method</c>, <c>args</c>, <c>namespace</c>,
/// <c>version</c>, the <c>_context_*</c> keys), checked so that a bad field is refused with a
/// problem naming it rather than failing somewhere inside dispatch.
/// </summary>
internal static class RpcRequestReader
{
    public static bool TryRead(JsonElement message, out IncomingRequest? request, out RpcMessageProblem? problem)
    {
        request = null;
        problem = null;
        string? method = null;
        if (!message.TryGetProperty("method"u8, out var methodElement) || methodElement.ValueKind != JsonValueKind.String ||
            methodElement.ValueEquals(""u8))
        {
            problem = new RpcMessageProblem(RpcMessageFault.BadField, "the request has no method", "method");
        }
        else if ((method = RpcEnvelope.TextOrNull(methodElement)) is null)
        {
            problem = new RpcMessageProblem(RpcMessageFault.BadField, "the request's method is not valid text", "method");
        }
        else if (message.TryGetProperty("args"u8, out var argsElement) && argsElement.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
        {
            problem = new RpcMessageProblem(RpcMessageFault.BadField, $"the request's args are a JSON {argsElement.ValueKind}, not an object", "args");
        }
        if (problem is not null)
        {
            return false;
        }

        RequestContext context;
        try
        {
            context = RequestContext.FromMessage(message);
        }
        catch (RpcMessageException ex)
        {
            problem = ex.Problem;
            return false;
        }
        message.TryGetProperty("args"u8, out var args);
        var timeout = message.TryGetProperty("_timeout"u8, out var t) && t.ValueKind == JsonValueKind.Number ? t.GetDouble() : (double?)null;
        request = new IncomingRequest(
            new RpcRequest(method!, args, RpcEnvelope.StringOrNull(message, "namespace"u8), RpcEnvelope.StringOrNull(message, "version"u8), context),
            ReplyAddress.Of(message), RpcEnvelope.StringOrNull(message, "_msg_id"u8), RpcEnvelope.StringOrNull(message, "_unique_id"u8), timeout);
        return true;
    }
}
