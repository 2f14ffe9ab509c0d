using System.Globalization;
using System.Text.Json;

namespace NovaCompute.Messaging.Rpc;

/// <summary>The request and reply bodies, enveloped (oslo_messaging/_drivers/amqpdriver.py, common.py).</summary>
internal static class RpcMessages
{
    /// <summary>A reply: <c>result</c>, <c>failure</c> (JSON text or null), <c>ending</c>, <c>_msg_id</c>, fresh <c>_unique_id</c>.</summary>
    public static byte[] Reply(string msgId, object? result, string? failure, bool ending, IRpcEntitySerializer serializer, RequestContext? context) =>
        RpcEnvelope.Write((msgId, result, failure, ending, serializer, context), static (w, s) =>
        {
            w.WritePropertyName("result");
            if (s.failure is null && s.result is not null)
            {
                s.serializer.Serialize(w, s.context, s.result);
            }
            else
            {
                w.WriteNullValue();
            }
            w.WriteString("failure", s.failure);
            w.WriteBoolean("ending", s.ending);
            w.WriteString("_msg_id", s.msgId);
            w.WriteString("_unique_id", RpcEnvelope.NewId());
        });

    /// <summary>A call-monitor heartbeat: no result, no failure, <c>ending: false</c>.</summary>
    public static byte[] Heartbeat(string msgId) =>
        Reply(msgId, null, null, ending: false, JsonRpcEntitySerializer.Instance, null);

    /// <summary>A request; call fields (<c>_msg_id</c>, <c>_reply_q</c>, <c>_timeout</c>) only when <paramref name="call"/> is set.</summary>
    public static byte[] Request(RequestDraft draft) =>
        RpcEnvelope.Write(draft, static (w, d) =>
        {
            w.WriteString("method", d.Method);
            w.WriteStartObject("args");
            if (d.Args is not null)
            {
                foreach (var (name, value) in d.Args)
                {
                    w.WritePropertyName(name);
                    d.Serializer.Serialize(w, d.Context, value);
                }
            }
            w.WriteEndObject();
            if (d.Namespace is not null)
            {
                w.WriteString("namespace", d.Namespace);
            }
            if (d.Version is not null)
            {
                w.WriteString("version", d.Version);
            }
            if (d.Call is { } call)
            {
                w.WriteString("_msg_id", call.MsgId);
                w.WriteString("_reply_q", call.ReplyQueue);
                if (call.MonitorTimeoutSeconds is { } timeout)
                {
                    w.WriteNumber("_timeout", timeout);
                }
                else
                {
                    w.WriteNull("_timeout");
                }
            }
            w.WriteString("_unique_id", d.UniqueId);
            d.Context.WriteTo(w);
        });

    /// <summary>AMQP <c>expiration</c> of a call: the timeout in whole milliseconds.</summary>
    public static string Expiration(TimeSpan timeout) =>
        ((long)Math.Max(1, timeout.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture);

    internal sealed record CallFields(string MsgId, string ReplyQueue, int? MonitorTimeoutSeconds);

    internal sealed record RequestDraft(
        string Method,
        IReadOnlyDictionary<string, object?>? Args,
        string? Namespace,
        string? Version,
        CallFields? Call,
        string UniqueId,
        RequestContext Context,
        IRpcEntitySerializer Serializer);

    /// <summary>The reply fields a client needs; the message stays open while <see cref="Result"/> is used.</summary>
    internal readonly record struct ReplyView(string MsgId, JsonElement Result, string? Failure, bool Ending)
    {
        public bool IsHeartbeat => !Ending && Failure is null && Result.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined;

        public static bool TryRead(JsonElement root, out ReplyView reply, out string? problem)
        {
            reply = default;
            problem = null;
            var msgId = RpcEnvelope.StringOrNull(root, "_msg_id"u8);
            if (msgId is null)
            {
                problem = "reply without _msg_id";
                return false;
            }
            root.TryGetProperty("result"u8, out var result);
            string? failure = null;
            if (root.TryGetProperty("failure"u8, out var failureElement))
            {
                failure = failureElement.ValueKind switch
                {
                    JsonValueKind.String => failureElement.GetString(),
                    JsonValueKind.Null => null,
                    // Not oslo's format, but a failure it is: keep its text.
                    _ => failureElement.GetRawText(),
                };
            }
            // Replies from before the "ending" flag existed are final.
            var ending = !root.TryGetProperty("ending"u8, out var endingElement) || endingElement.ValueKind != JsonValueKind.False;
            reply = new ReplyView(msgId, result, failure, ending);
            return true;
        }
    }
}
