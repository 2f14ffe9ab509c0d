using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace NovaCompute.Objects;

/// <summary>
/// An oslo.versionedobjects field type: how a value is checked on assignment and how it travels
/// (oslo_versionedobjects/fields.py).
/// </summary>
internal abstract class FieldType
{
    /// <summary>Checks and normalises an assigned value (never called with null).</summary>
    public abstract object Coerce(string field, object value);

    public abstract JsonNode ToPrimitive(object value);

    public abstract object FromPrimitive(string field, JsonNode node);
}

internal sealed class IntegerField : FieldType
{
    public static readonly IntegerField Instance = new();

    public override object Coerce(string field, object value) => value switch
    {
        int i => i,
        long l => checked((int)l),
        bool b => b ? 1 : 0,
        string s when int.TryParse(s.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i) => i,
        _ => throw new ArgumentException($"Field `{field}' requires an integer, not {Describe(value)}"),
    };

    public override JsonNode ToPrimitive(object value) => JsonValue.Create((int)value);

    public override object FromPrimitive(string field, JsonNode node) => node.GetValueKind() switch
    {
        JsonValueKind.Number => node.GetValue<JsonElement>().TryGetInt32(out var i)
            ? i
            : throw new ArgumentException($"Field `{field}' requires an integer, not {node.ToJsonString()}"),
        JsonValueKind.String => Coerce(field, node.GetValue<string>()),
        _ => throw new ArgumentException($"Field `{field}' requires an integer, not {node.ToJsonString()}"),
    };

    internal static string Describe(object value) => value.GetType().Name;
}

internal sealed class StringField : FieldType
{
    public static readonly StringField Instance = new();

    // ovo's String accepts str, int, float and bool (and stringifies them) but nothing else.
    public override object Coerce(string field, object value) => value switch
    {
        string s => s,
        int or long or double => Convert.ToString(value, CultureInfo.InvariantCulture)!,
        bool b => b ? "True" : "False",
        _ => throw new ArgumentException($"Field `{field}' requires a string, not {IntegerField.Describe(value)}"),
    };

    public override JsonNode ToPrimitive(object value) => JsonValue.Create((string)value);

    public override object FromPrimitive(string field, JsonNode node) => node.GetValueKind() switch
    {
        JsonValueKind.String => node.GetValue<string>(),
        JsonValueKind.Number => node.ToJsonString(),
        JsonValueKind.True => "True",
        JsonValueKind.False => "False",
        _ => throw new ArgumentException($"Field `{field}' requires a string, not {node.ToJsonString()}"),
    };
}

internal sealed class BooleanField : FieldType
{
    public static readonly BooleanField Instance = new();

    // ovo coerces with Python's bool(): the database's 0/1 integers become false/true.
    public override object Coerce(string field, object value) => value switch
    {
        bool b => b,
        int i => i != 0,
        long l => l != 0,
        string s => s.Length != 0,
        _ => throw new ArgumentException($"Field `{field}' requires a boolean, not {IntegerField.Describe(value)}"),
    };

    public override JsonNode ToPrimitive(object value) => JsonValue.Create((bool)value);

    public override object FromPrimitive(string field, JsonNode node) => node.GetValueKind() switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Number => node.GetValue<JsonElement>().GetDouble() != 0,
        JsonValueKind.String => node.GetValue<string>().Length != 0,
        _ => throw new ArgumentException($"Field `{field}' requires a boolean, not {node.ToJsonString()}"),
    };
}

/// <summary>A UUID travels as its canonical string; like ovo, a non-UUID string is kept as it is.</summary>
internal sealed class UuidField : FieldType
{
    public static readonly UuidField Instance = new();

    public override object Coerce(string field, object value) => value switch
    {
        Guid g => g.ToString(),
        string s => s,
        _ => throw new ArgumentException($"Field `{field}' requires a UUID string, not {IntegerField.Describe(value)}"),
    };

    public override JsonNode ToPrimitive(object value) => JsonValue.Create((string)value);

    public override object FromPrimitive(string field, JsonNode node) =>
        node.GetValueKind() == JsonValueKind.String
            ? node.GetValue<string>()
            : throw new ArgumentException($"Field `{field}' requires a UUID string, not {node.ToJsonString()}");
}

/// <summary>
/// Time stamps are UTC. On the wire they are <c>YYYY-MM-DDTHH:MM:SSZ</c>: ovo drops the
/// microseconds, and so do we, for the bytes to match.
/// </summary>
internal sealed class DateTimeField : FieldType
{
    public static readonly DateTimeField Instance = new();

    public override object Coerce(string field, object value) => value switch
    {
        // Naive values are UTC (the database keeps naive UTC), as ovo assumes.
        DateTime d => d.Kind switch
        {
            DateTimeKind.Utc => d,
            DateTimeKind.Unspecified => DateTime.SpecifyKind(d, DateTimeKind.Utc),
            _ => d.ToUniversalTime(),
        },
        DateTimeOffset o => o.UtcDateTime,
        string s => Parse(field, s),
        _ => throw new ArgumentException($"A datetime.datetime is required in field {field}, not a {IntegerField.Describe(value)}"),
    };

    public override JsonNode ToPrimitive(object value) =>
        JsonValue.Create(((DateTime)value).ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'Z'", CultureInfo.InvariantCulture));

    public override object FromPrimitive(string field, JsonNode node) =>
        node.GetValueKind() == JsonValueKind.String
            ? Parse(field, node.GetValue<string>())
            : throw new ArgumentException($"A datetime.datetime is required in field {field}, not {node.ToJsonString()}");

    private static DateTime Parse(string field, string text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out var parsed)
            ? parsed.UtcDateTime
            : throw new ArgumentException($"Field `{field}': unable to parse datetime '{text}'");
}

/// <summary>
/// A nested object. When its type is registered it is rebuilt; otherwise (say a <c>ComputeNode</c>
/// a newer peer embeds) its primitive is carried through untouched rather than rejected.
/// </summary>
internal sealed class ObjectField(string objectName) : FieldType
{
    public string ObjectName { get; } = objectName;

    public override object Coerce(string field, object value) => value switch
    {
        NovaObject o when o.ObjectName == ObjectName => o,
        JsonObject j => j,
        _ => throw new ArgumentException($"Field `{field}' requires a {ObjectName} object, not {IntegerField.Describe(value)}"),
    };

    public override JsonNode ToPrimitive(object value) => value switch
    {
        NovaObject o => o.ToPrimitive(),
        JsonObject j => j.DeepClone(),
        _ => throw new InvalidOperationException(),
    };

    public override object FromPrimitive(string field, JsonNode node) =>
        ObjectRegistry.IsRegistered(ObjectName) ? ObjectRegistry.FromPrimitive(node) : node.DeepClone();
}

/// <summary>A field of an object class: its wire name, type and whether null is allowed.</summary>
internal sealed record FieldDefinition(string Name, FieldType Type, bool Nullable = false, bool ReadOnly = false);
