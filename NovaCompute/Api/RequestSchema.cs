using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace NovaCompute.Api;

/// <summary>
/// The part of JSON Schema draft 4 that nova's os-services schemas use
/// (nova/api/openstack/compute/schemas/services.py), checked in jsonschema's keyword order and
/// reported with jsonschema's messages as nova's <c>_SchemaValidator</c> words them, so a client sees
/// the same 400 text as from nova. Only the first problem is reported, as nova does.
/// </summary>
internal abstract record RequestSchema
{
    /// <summary>The first problem, worded as nova's validator does, or null when the value is valid.</summary>
    public string? Validate(JsonElement? instance, bool isBody = true)
    {
        var error = Check(instance, path: null);
        if (error is null)
        {
            return null;
        }
        if (error.Path is null)
        {
            return error.Message;
        }
        return isBody
            ? $"Invalid input for field/attribute {error.Path}. Value: {PyRepr.Str(error.Instance)}. {error.Message}"
            : $"Invalid input for query parameters {error.Path}. Value: {PyRepr.Str(error.Instance)}. {error.Message}";
    }

    internal abstract SchemaError? Check(JsonElement? instance, string? path);

    internal sealed record SchemaError(string? Path, JsonElement? Instance, string Message);

    /// <summary><c>{"type": "object", "properties": …, "required": …, "additionalProperties": …}</c>.</summary>
    public sealed record Object(IReadOnlyList<(string Name, RequestSchema Schema)> Properties, IReadOnlyList<string> Required, bool AdditionalProperties)
        : RequestSchema
    {
        internal override SchemaError? Check(JsonElement? instance, string? path)
        {
            if (instance is not { ValueKind: JsonValueKind.Object } value)
            {
                return new(path, instance, $"{PyRepr.Repr(instance)} is not of type 'object'");
            }
            foreach (var (name, schema) in Properties)
            {
                if (value.TryGetProperty(name, out var property) && schema.Check(property, name) is { } error)
                {
                    return error;
                }
            }
            foreach (var name in Required)
            {
                if (!value.TryGetProperty(name, out _))
                {
                    return new(path, instance, $"{PyRepr.Repr(name)} is a required property");
                }
            }
            if (!AdditionalProperties)
            {
                var extras = value.EnumerateObject().Select(p => p.Name).Where(n => !Properties.Any(p => p.Name == n))
                    .Distinct().Order(StringComparer.Ordinal).ToList();
                if (extras.Count > 0)
                {
                    var verb = extras.Count == 1 ? "was" : "were";
                    return new(path, instance, $"Additional properties are not allowed ({string.Join(", ", extras.Select(PyRepr.Repr))} {verb} unexpected)");
                }
            }
            return null;
        }
    }

    /// <summary><c>{"type": "string", "minLength", "maxLength", "pattern", "enum"}</c>.</summary>
    public sealed record String(int? MinLength = null, int? MaxLength = null, string? Pattern = null, IReadOnlyList<string>? Enum = null)
        : RequestSchema
    {
        private readonly Regex? _pattern = Pattern is null ? null : new Regex(Pattern, RegexOptions.CultureInvariant);

        internal override SchemaError? Check(JsonElement? instance, string? path)
        {
            if (instance is not { ValueKind: JsonValueKind.String } value)
            {
                return new(path, instance, $"{PyRepr.Repr(instance)} is not of type 'string'");
            }
            var text = value.GetString()!;
            // jsonschema counts code points, not UTF-16 units.
            var length = text.EnumerateRunes().Count();
            if (MinLength is { } min && length < min)
            {
                return new(path, instance, $"{PyRepr.Repr(text)} is too short");
            }
            if (MaxLength is { } max && length > max)
            {
                return new(path, instance, $"{PyRepr.Repr(text)} is too long");
            }
            if (_pattern is not null && !_pattern.IsMatch(text))
            {
                return new(path, instance, $"{PyRepr.Repr(text)} does not match {PyRepr.Repr(Pattern)}");
            }
            if (Enum is not null && !Enum.Contains(text, StringComparer.Ordinal))
            {
                return new(path, instance, $"{PyRepr.Repr(text)} is not one of [{string.Join(", ", Enum.Select(PyRepr.Repr))}]");
            }
            return null;
        }
    }

    /// <summary>nova's <c>parameter_types.boolean</c>: JSON true/false or one of oslo's boolean words.</summary>
    public sealed record Boolean : RequestSchema
    {
        internal static readonly string[] TrueWords = ["True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes"];
        internal static readonly string[] FalseWords = ["False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no"];
        private static readonly string EnumText =
            "[True, " + string.Join(", ", TrueWords.Select(PyRepr.Repr)) + ", False, " + string.Join(", ", FalseWords.Select(PyRepr.Repr)) + "]";

        internal override SchemaError? Check(JsonElement? instance, string? path)
        {
            switch (instance?.ValueKind)
            {
                case JsonValueKind.True or JsonValueKind.False:
                    return null;
                case JsonValueKind.String when TrueWords.Contains(instance.Value.GetString()) || FalseWords.Contains(instance.Value.GetString()):
                    return null;
                case JsonValueKind.String:
                    return new(path, instance, $"{PyRepr.Repr(instance)} is not one of {EnumText}");
                default:
                    return new(path, instance, $"{PyRepr.Repr(instance)} is not of type 'boolean', 'string'");
            }
        }

        /// <summary>The value of a valid instance (oslo's <c>bool_from_string</c>).</summary>
        public static bool Value(JsonElement instance) =>
            instance.ValueKind == JsonValueKind.True || (instance.ValueKind == JsonValueKind.String && TrueWords.Contains(instance.GetString()));
    }
}

/// <summary>
/// Python's <c>repr()</c> and <c>str()</c> of a value decoded from JSON, as they appear inside nova's
/// validation messages (<c>'abc'</c>, <c>True</c>, <c>None</c>, <c>{'a': 1}</c>).
/// </summary>
internal static class PyRepr
{
    public static string Repr(string? text) => text is null ? "None" : ReprString(text);

    public static string Repr(JsonElement? value)
    {
        var sb = new StringBuilder();
        Append(sb, value);
        return sb.ToString();
    }

    /// <summary><c>str()</c>: a string as it is, anything else as its repr.</summary>
    public static string Str(JsonElement? value) =>
        value is { ValueKind: JsonValueKind.String } s ? s.GetString()! : Repr(value);

    private static void Append(StringBuilder sb, JsonElement? value)
    {
        if (value is not { } element)
        {
            sb.Append("None");
            return;
        }
        switch (element.ValueKind)
        {
            case JsonValueKind.Null or JsonValueKind.Undefined:
                sb.Append("None");
                break;
            case JsonValueKind.True:
                sb.Append("True");
                break;
            case JsonValueKind.False:
                sb.Append("False");
                break;
            case JsonValueKind.String:
                sb.Append(ReprString(element.GetString()!));
                break;
            case JsonValueKind.Number:
                sb.Append(Number(element));
                break;
            case JsonValueKind.Array:
                sb.Append('[');
                var first = true;
                foreach (var item in element.EnumerateArray())
                {
                    sb.Append(first ? "" : ", ");
                    first = false;
                    Append(sb, item);
                }
                sb.Append(']');
                break;
            case JsonValueKind.Object:
                sb.Append('{');
                var firstProperty = true;
                foreach (var property in element.EnumerateObject())
                {
                    sb.Append(firstProperty ? "" : ", ");
                    firstProperty = false;
                    sb.Append(ReprString(property.Name)).Append(": ");
                    Append(sb, property.Value);
                }
                sb.Append('}');
                break;
        }
    }

    /// <summary>An integer literal stays as written (Python ints are unbounded); others as Python's float repr.</summary>
    private static string Number(JsonElement element)
    {
        var raw = element.GetRawText();
        if (!raw.Contains('.') && !raw.Contains('e') && !raw.Contains('E'))
        {
            return raw.StartsWith("-0", StringComparison.Ordinal) && raw.Length == 2 ? "0" : raw;
        }
        var value = element.GetDouble();
        if (double.IsInfinity(value))
        {
            return value > 0 ? "inf" : "-inf";
        }
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        var e = text.IndexOf('E');
        if (e >= 0)
        {
            // 1E+100 → 1e+100, 1E-07 → 1e-07
            var mantissa = text[..e];
            var exponent = int.Parse(text[(e + 1)..], CultureInfo.InvariantCulture);
            return $"{mantissa}e{(exponent < 0 ? '-' : '+')}{Math.Abs(exponent):00}";
        }
        return text.Contains('.') ? text : text + ".0";
    }

    private static string ReprString(string text)
    {
        var quote = text.Contains('\'') && !text.Contains('"') ? '"' : '\'';
        var sb = new StringBuilder(text.Length + 2);
        sb.Append(quote);
        foreach (var rune in text.EnumerateRunes())
        {
            var c = rune.Value;
            switch (c)
            {
                case '\\': sb.Append("\\\\"); continue;
                case '\n': sb.Append("\\n"); continue;
                case '\r': sb.Append("\\r"); continue;
                case '\t': sb.Append("\\t"); continue;
            }
            if (c == quote)
            {
                sb.Append('\\').Append(quote);
            }
            else if (c < 0x20 || c == 0x7f)
            {
                sb.Append("\\x").Append(c.ToString("x2", CultureInfo.InvariantCulture));
            }
            else if (c >= 0x80 && !IsPrintable(rune))
            {
                sb.Append(c switch
                {
                    <= 0xff => "\\x" + c.ToString("x2", CultureInfo.InvariantCulture),
                    <= 0xffff => "\\u" + c.ToString("x4", CultureInfo.InvariantCulture),
                    _ => "\\U" + c.ToString("x8", CultureInfo.InvariantCulture),
                });
            }
            else
            {
                sb.Append(rune.ToString());
            }
        }
        sb.Append(quote);
        return sb.ToString();
    }

    /// <summary>Python's <c>str.isprintable</c> for one code point: not a control, separator (except space), format or unassigned character.</summary>
    private static bool IsPrintable(Rune rune) => Rune.GetUnicodeCategory(rune) switch
    {
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse
            or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator => false,
        UnicodeCategory.SpaceSeparator => rune.Value == ' ',
        _ => true,
    };
}
