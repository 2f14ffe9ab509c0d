using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace NovaCompute.Messaging.Rpc;

/// <summary>
/// oslo.messaging's message envelope 2.0: <c>{"oslo.version": "2.0", "oslo.message": "&lt;JSON text&gt;"}</c>,
/// both layers JSON. Writes build the inner object with a callback and wrap it; reads unwrap into a
/// <see cref="JsonDocument"/> over a pooled buffer that the returned message owns.
/// </summary>
internal static class RpcEnvelope
{
    public const string Version = "2.0";
    private static readonly RpcVersion SupportedVersion = new(2, 0);

    // oslo escapes non-ASCII as \uXXXX; this encoder sends it as UTF-8 instead, which every JSON
    // parser (Python's included) reads back to the same text, and keeps quotes as \" rather than
    // the default encoder's \u0022, which would bloat the doubly-encoded inner layer.
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 256 };

    [ThreadStatic]
    private static Writers? t_writers;

    /// <summary>Builds an envelope around the inner object written by <paramref name="writeInner"/> (which writes properties only).</summary>
    public static byte[] Write<TState>(TState state, Action<Utf8JsonWriter, TState> writeInner)
    {
        var writers = t_writers ??= new Writers();
        writers.InnerBuffer.ResetWrittenCount();
        writers.OuterBuffer.ResetWrittenCount();
        writers.Inner.Reset(writers.InnerBuffer);
        writers.Outer.Reset(writers.OuterBuffer);
        try
        {
            writers.Inner.WriteStartObject();
            writeInner(writers.Inner, state);
            writers.Inner.WriteEndObject();
            writers.Inner.Flush();

            writers.Outer.WriteStartObject();
            writers.Outer.WriteString("oslo.version", Version);
            writers.Outer.WriteString("oslo.message", writers.InnerBuffer.WrittenSpan);
            writers.Outer.WriteEndObject();
            writers.Outer.Flush();
            return writers.OuterBuffer.WrittenSpan.ToArray();
        }
        catch
        {
            // A throwing serializer leaves the writers mid-object; start from fresh ones next time.
            t_writers = null;
            throw;
        }
        finally
        {
            if (writers.InnerBuffer.Capacity > 1 << 20)
            {
                t_writers = null; // do not pin a huge buffer to the thread
            }
        }
    }

    /// <summary>
    /// Unwraps an envelope. On failure <paramref name="problem"/> says what was wrong; <paramref name="message"/>
    /// is then still set when the inner message could be read (an unwrapped legacy request, an
    /// unsupported version), so that the caller can answer the address it names.
    /// </summary>
    public static bool TryOpen(ReadOnlySpan<byte> body, out OpenedMessage? message, out RpcMessageProblem? problem)
    {
        message = null;
        problem = null;
        byte[]? inner = null;
        var innerLength = 0;
        string? version = null;
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 256 });
            if (!reader.Read())
            {
                problem = new RpcMessageProblem(RpcMessageFault.BadEnvelope, "empty body");
                return false;
            }
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                problem = new RpcMessageProblem(RpcMessageFault.BadEnvelope,
                    $"body is a JSON {reader.TokenType}, not an object with an oslo.version/oslo.message envelope");
                return false;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("oslo.version"u8))
                {
                    reader.Read();
                    version = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    if (version is null)
                    {
                        problem = new RpcMessageProblem(RpcMessageFault.BadEnvelope, "oslo.version is not a string", "oslo.version");
                        return false;
                    }
                }
                else if (reader.ValueTextEquals("oslo.message"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        problem = new RpcMessageProblem(RpcMessageFault.BadEnvelope, "oslo.message is not a string", "oslo.message");
                        return false;
                    }
                    var escapedLength = reader.HasValueSequence ? (int)reader.ValueSequence.Length : reader.ValueSpan.Length;
                    inner = ArrayPool<byte>.Shared.Rent(Math.Max(escapedLength, 1));
                    innerLength = reader.CopyString(inner);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
            // Reaching here means the object closed (or the reader threw on malformed JSON).
            if (version is null || inner is null)
            {
                problem = new RpcMessageProblem(RpcMessageFault.BadEnvelope,
                    "no oslo.version/oslo.message envelope (legacy 1.0 messages are not accepted)", version is null ? "oslo.version" : "oslo.message");
                // An unwrapped request may still carry _msg_id/_reply_q at its top level.
                if (inner is null)
                {
                    var copy = ArrayPool<byte>.Shared.Rent(body.Length);
                    body.CopyTo(copy);
                    TryParseInner(copy, body.Length, out message, out _);
                }
                return false;
            }
            if (!RpcVersion.TryParse(version, out var parsed) || !RpcVersion.IsCompatible(SupportedVersion, parsed))
            {
                problem = new RpcMessageProblem(RpcMessageFault.UnsupportedVersion,
                    $"Specified RPC envelope version, {version}, not supported by this endpoint.", "oslo.version");
                // The inner message may still say where to send the error.
                var owned = inner;
                inner = null;
                TryParseInner(owned, innerLength, out var unsupported, out _);
                message = unsupported;
                return false;
            }
            var buffer = inner;
            inner = null; // TryParseInner owns it from here: the message keeps it, or it goes back to the pool
            return TryParseInner(buffer, innerLength, out message, out problem);
        }
        catch (JsonException ex)
        {
            problem = new RpcMessageProblem(RpcMessageFault.BadEnvelope, $"body is not valid JSON: {ex.Message}");
            return false;
        }
        catch (InvalidOperationException ex)
        {
            // Utf8JsonReader checks the encoding only when a string is read.
            problem = new RpcMessageProblem(RpcMessageFault.BadEnvelope, $"body is not valid UTF-8 JSON: {ex.Message}");
            return false;
        }
        finally
        {
            if (inner is not null)
            {
                ArrayPool<byte>.Shared.Return(inner);
            }
        }
    }

    private static bool TryParseInner(byte[] buffer, int length, out OpenedMessage? message, out RpcMessageProblem? problem)
    {
        message = null;
        problem = null;
        if (!System.Text.Unicode.Utf8.IsValid(buffer.AsSpan(0, length)))
        {
            ArrayPool<byte>.Shared.Return(buffer);
            problem = new RpcMessageProblem(RpcMessageFault.BadMessage, "oslo.message is not valid UTF-8", "oslo.message");
            return false;
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(buffer.AsMemory(0, length), DocumentOptions);
        }
        catch (JsonException ex)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            problem = new RpcMessageProblem(RpcMessageFault.BadMessage, $"oslo.message is not valid JSON: {ex.Message}", "oslo.message");
            return false;
        }
        var kind = document.RootElement.ValueKind;
        if (kind != JsonValueKind.Object)
        {
            document.Dispose();
            ArrayPool<byte>.Shared.Return(buffer);
            problem = new RpcMessageProblem(RpcMessageFault.BadMessage, $"oslo.message is a JSON {kind}, not an object", "oslo.message");
            return false;
        }
        message = new OpenedMessage(document, buffer);
        return true;
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// The <c>_msg_id</c> and <c>_reply_q</c> of a body too big to decode, found without copying or
    /// parsing it: inside <c>oslo.message</c> the inner JSON's quotes are escaped once (<c>\"_msg_id\": \"…\"</c>
    /// from Python, <c>\u0022</c> from some JSON writers), while a key quoted inside one of the
    /// message's own strings is escaped twice and skipped. The last occurrence wins (oslo adds both
    /// keys after the arguments). Best effort: null when either is missing or not plain text, and
    /// the caller then gets no answer.
    /// </summary>
    public static (string MsgId, string ReplyQueue)? FindReplyAddress(ReadOnlySpan<byte> body) =>
        LastEscapedValue(body, "_msg_id"u8) is { } msgId && LastEscapedValue(body, "_reply_q"u8) is { } replyQueue
            ? (msgId, replyQueue)
            : null;

    private static string? LastEscapedValue(ReadOnlySpan<byte> body, ReadOnlySpan<byte> key)
    {
        const int longestValue = 255; // an AMQP queue name's limit
        var end = body.Length;
        while (end > 0)
        {
            var at = body[..end].LastIndexOf(key);
            if (at < 0)
            {
                return null;
            }
            end = at;
            var rest = body[(at + key.Length)..];
            int quote;
            if (!IsEscapedQuoteBefore(body, at) || (quote = EscapedQuoteAt(rest)) == 0)
            {
                continue;
            }
            rest = rest[quote..].TrimStart(" "u8);
            if (rest.IsEmpty || rest[0] != (byte)':')
            {
                continue; // the text appears as a value, not a key
            }
            rest = rest[1..].TrimStart(" "u8);
            if ((quote = EscapedQuoteAt(rest)) == 0)
            {
                continue;
            }
            rest = rest[quote..];
            var close = rest.IndexOf((byte)'\\');
            if (close is < 1 or > longestValue || EscapedQuoteAt(rest[close..]) == 0 || rest[..close].Contains((byte)'"'))
            {
                continue;
            }
            try
            {
                return StrictUtf8.GetString(rest[..close]);
            }
            catch (DecoderFallbackException)
            {
                continue;
            }
        }
        return null;
    }

    private static int EscapedQuoteAt(ReadOnlySpan<byte> text) =>
        text.StartsWith("\\\""u8) ? 2 : text.StartsWith("\\u0022"u8) ? 6 : 0;

    private static bool IsEscapedQuoteBefore(ReadOnlySpan<byte> body, int at)
    {
        var before = body[..at];
        var length = before.EndsWith("\\\""u8) ? 2 : before.EndsWith("\\u0022"u8) ? 6 : 0;
        // Escaped once more (a backslash before it), the quote belongs to a string inside the message.
        return length > 0 && (at == length || body[at - length - 1] != (byte)'\\');
    }

    /// <summary>The text of a JSON string value, for quick property checks.</summary>
    public static string? StringOrNull(JsonElement root, ReadOnlySpan<byte> name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? TextOrNull(value) : null;

    /// <summary>The string, or null when its escapes do not make valid text (a lone surrogate).</summary>
    public static string? TextOrNull(JsonElement value)
    {
        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>A 32-hex-digit uuid4, as oslo makes <c>_msg_id</c>, <c>_unique_id</c> and queue suffixes.</summary>
    public static string NewId() => Guid.NewGuid().ToString("N");

    internal static string Utf8(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);

    private sealed class Writers
    {
        public readonly ArrayBufferWriter<byte> InnerBuffer = new(2048);
        public readonly ArrayBufferWriter<byte> OuterBuffer = new(2560);
        public readonly Utf8JsonWriter Inner;
        public readonly Utf8JsonWriter Outer;

        public Writers()
        {
            Inner = new Utf8JsonWriter(InnerBuffer, WriterOptions);
            Outer = new Utf8JsonWriter(OuterBuffer, WriterOptions);
        }
    }
}

/// <summary>The decoded inner message; disposing returns its buffer.</summary>
internal sealed class OpenedMessage(JsonDocument document, byte[] buffer) : IDisposable
{
    private byte[]? _buffer = buffer;

    public JsonElement Root => document.RootElement;

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is not null)
        {
            document.Dispose();
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
