using System.Collections;
using System.Text.Json;
using System.Text.Json.Nodes;
using NovaCompute.Objects;

namespace NovaCompute.Messaging.Rpc;

/// <summary>
/// nova's <c>NovaObjectSerializer</c> on the RPC seam: versioned objects travel as their
/// <c>nova_object.*</c> primitives, lists and dicts are walked recursively, everything else is plain
/// JSON. On receipt a parameter typed as a <see cref="NovaObject"/> (or <c>object</c>) is rebuilt
/// through the <see cref="ObjectRegistry"/>; a <see cref="JsonElement"/> parameter keeps the raw
/// primitive. A newer object version than ours is refused (nova would ask conductor for a
/// backport, which needs the conductor client this daemon does not have yet).
/// </summary>
internal sealed class NovaObjectRpcSerializer : IRpcEntitySerializer
{
    public static NovaObjectRpcSerializer Instance { get; } = new();

    public void Serialize(Utf8JsonWriter writer, RequestContext? context, object? value)
    {
        switch (value)
        {
            case NovaObject obj:
                obj.ToPrimitive().WriteTo(writer);
                break;
            case IDictionary dictionary when dictionary.Values.Cast<object?>().Any(v => v is NovaObject or IEnumerable and not string):
                writer.WriteStartObject();
                foreach (DictionaryEntry entry in dictionary)
                {
                    writer.WritePropertyName(Convert.ToString(entry.Key, System.Globalization.CultureInfo.InvariantCulture)!);
                    Serialize(writer, context, entry.Value);
                }
                writer.WriteEndObject();
                break;
            case IEnumerable items when value is not string and not IDictionary and not JsonElement and not JsonNode
                && items.Cast<object?>().Any(v => v is NovaObject or IEnumerable and not string):
                writer.WriteStartArray();
                foreach (var item in items)
                {
                    Serialize(writer, context, item);
                }
                writer.WriteEndArray();
                break;
            default:
                JsonRpcEntitySerializer.Instance.Serialize(writer, context, value);
                break;
        }
    }

    public object? Deserialize(RequestContext? context, JsonElement value, Type type)
    {
        var isObjectPrimitive = value.ValueKind == JsonValueKind.Object && value.TryGetProperty(NovaObject.NameKey, out _);
        if (typeof(NovaObject).IsAssignableFrom(type) || (type == typeof(object) && isObjectPrimitive))
        {
            if (value.ValueKind == JsonValueKind.Null)
            {
                return null;
            }
            if (!isObjectPrimitive)
            {
                throw new JsonException($"expected a nova object primitive for {type.Name}");
            }
            var rebuilt = ObjectRegistry.FromPrimitive(JsonNode.Parse(value.GetRawText())!);
            return type.IsInstanceOfType(rebuilt) ? rebuilt : throw new JsonException($"got a {rebuilt.ObjectName}, expected a {type.Name}");
        }
        return JsonRpcEntitySerializer.Instance.Deserialize(context, value, type);
    }
}
