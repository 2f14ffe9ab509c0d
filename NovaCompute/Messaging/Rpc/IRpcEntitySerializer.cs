using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace NovaCompute.Messaging.Rpc;

/// <summary>
/// oslo's serializer hooks for RPC arguments and results (<c>serialize_entity</c>,
/// <c>deserialize_entity</c>). nova plugs <c>NovaObjectSerializer</c> in here so that versioned objects
/// travel in their <c>nova_object.*</c> primitive form; the default passes plain JSON through.
/// </summary>
public interface IRpcEntitySerializer
{
    /// <summary>Writes <paramref name="value"/> as one JSON value.</summary>
    void Serialize(Utf8JsonWriter writer, RequestContext? context, object? value);

    /// <summary>Builds a value of <paramref name="type"/> from a received JSON value (which must not be kept: it dies with the message).</summary>
    object? Deserialize(RequestContext? context, JsonElement value, Type type);
}

/// <summary>
/// Plain JSON: System.Text.Json with snake_case property names (what Python peers expect of a dict),
/// <see cref="JsonElement"/> and <c>object</c> as detached copies of what came in. Other types go
/// through the source-generated metadata of <see cref="RpcJsonContext"/>.
/// </summary>
public sealed class JsonRpcEntitySerializer : IRpcEntitySerializer
{
    public static JsonRpcEntitySerializer Instance { get; } = new();

    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.General)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict,
        TypeInfoResolver = RpcJsonContext.Default,
    };

    public void Serialize(Utf8JsonWriter writer, RequestContext? context, object? value)
    {
        switch (value)
        {
            case null:
                writer.WriteNullValue();
                break;
            case JsonElement element:
                element.WriteTo(writer);
                break;
            case string s:
                writer.WriteStringValue(s);
                break;
            case int i:
                writer.WriteNumberValue(i);
                break;
            case bool b:
                writer.WriteBooleanValue(b);
                break;
            case DateTime dt:
                // What Python's jsonutils.to_primitive makes of a naive UTC datetime.
                writer.WriteStringValue(dt.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff", System.Globalization.CultureInfo.InvariantCulture));
                break;
            case JsonNode node:
                node.WriteTo(writer, Options);
                break;
            default:
                JsonSerializer.Serialize(writer, value, Options.GetTypeInfo(value.GetType()));
                break;
        }
    }

    public object? Deserialize(RequestContext? context, JsonElement value, Type type)
    {
        if (type == typeof(JsonElement) || type == typeof(object))
        {
            return value.Clone();
        }
        if (type == typeof(JsonElement?))
        {
            return value.ValueKind == JsonValueKind.Null ? null : value.Clone();
        }
        return value.Deserialize(Options.GetTypeInfo(type));
    }
}
