using System.Globalization;

namespace NovaCompute.Config;

/// <summary>A possible value of an option with choices, and what it means (for the sample).</summary>
public sealed record OptChoice(string Value, string? Description = null);

/// <summary>Another place an option may be read from: <c>[group]/name</c>; a null part means "same as the option".</summary>
public sealed record DeprecatedOpt(string? Group, string? Name);

/// <summary>
/// One configuration option as oslo.config declares it: name, group, type, default, bounds,
/// choices, help, mutability, secrecy and deprecated aliases. Options are declared as static
/// fields beside the code that reads them and collected in <see cref="OptionCatalog"/>.
/// </summary>
public abstract class Opt
{
    private protected Opt(string name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException("an option needs a name", nameof(name));
        }
        Name = name;
    }

    public string Name { get; }

    /// <summary>Section in the INI files; <c>DEFAULT</c> for the default group.</summary>
    public string Group { get; init; } = ConfigGroups.Default;

    public string Help { get; init; } = "";

    /// <summary>Applied on SIGHUP without a restart.</summary>
    public bool Mutable { get; init; }

    /// <summary>Never printed: logs, check-config and option dumps show <c>****</c>.</summary>
    public bool Secret { get; init; }

    public bool Advanced { get; init; }

    public bool DeprecatedForRemoval { get; init; }

    public string? DeprecatedReason { get; init; }

    public string? DeprecatedSince { get; init; }

    public IReadOnlyList<DeprecatedOpt> DeprecatedNames { get; init; } = [];

    /// <summary>What the sample shows instead of the real default (e.g. <c>&lt;current_hostname&gt;</c>).</summary>
    public string? SampleDefault { get; init; }

    /// <summary>The library the option comes from, for the sample's <c># From …</c> banners.</summary>
    public string Namespace { get; init; } = "nova.conf";

    public IReadOnlyList<OptChoice> Choices { get; init; } = [];

    /// <summary><c>group.name</c>, as oslo prints it in messages.</summary>
    public string Key => $"{Group}.{Name}";

    /// <summary>The type as the sample names it: <c>integer value</c>, <c>boolean value</c>, …</summary>
    public abstract string TypeDescription { get; }

    /// <summary>Multi-valued: every occurrence in the files adds a value.</summary>
    public virtual bool IsMulti => false;

    internal abstract object? DefaultObject { get; }

    /// <summary>Parses and validates a raw value. Throws <see cref="FormatException"/> with oslo's reason.</summary>
    internal abstract object? ParseObject(string raw);

    /// <summary>The value as oslo writes it in a sample or an option dump.</summary>
    internal abstract string FormatObject(object? value);

    internal virtual IEnumerable<string> SampleBoundsLines() => [];

    private protected void CheckChoice(string value)
    {
        if (Choices.Count > 0 && !Choices.Any(c => c.Value == value))
        {
            throw new FormatException($"Valid values are [{string.Join(", ", Choices.Select(c => c.Value))}], but found '{value}'");
        }
    }

    public override string ToString() => Key;
}

/// <summary>An option whose value has the CLR type <typeparamref name="T"/>.</summary>
public abstract class Opt<T> : Opt
{
    private protected Opt(string name, T @default) : base(name) => Default = @default;

    public T Default { get; }

    internal override object? DefaultObject => Default;

    internal abstract T Parse(string raw);

    internal override object? ParseObject(string raw) => Parse(raw);

    internal abstract string Format(T value);

    internal override string FormatObject(object? value) => Format((T)value!);
}

public static class ConfigGroups
{
    public const string Default = "DEFAULT";
}

public sealed class StrOpt(string name, string? @default) : Opt<string?>(name, @default)
{
    public override string TypeDescription => "string value";

    /// <summary>A further check of the value (e.g. a URL's syntax); throws <see cref="FormatException"/> with the reason.</summary>
    public Action<string>? Validator { get; init; }

    internal override string? Parse(string raw)
    {
        CheckChoice(raw);
        Validator?.Invoke(raw);
        return raw;
    }

    internal override string Format(string? value) => value is null ? "<None>" : QuoteIfPadded(value);

    internal static string QuoteIfPadded(string value) =>
        value.Length > 0 && (char.IsWhiteSpace(value[0]) || char.IsWhiteSpace(value[^1])) ? $"\"{value}\"" : value;
}

/// <summary>A string that must be a valid host name or domain (oslo's <c>HostDomain</c>).</summary>
public sealed class HostDomainOpt(string name, string? @default) : Opt<string?>(name, @default)
{
    public override string TypeDescription => "host domain value";

    internal override string? Parse(string raw)
    {
        var value = raw.Trim();
        if (System.Net.IPAddress.TryParse(value, out _) || IsHostDomain(value))
        {
            return value;
        }
        throw new FormatException($"{value} is not a valid host address");
    }

    internal override string Format(string? value) => value ?? "<None>";

    /// <summary>RFC 1123 labels; underscores allowed as oslo's HostDomain allows them.</summary>
    internal static bool IsHostDomain(string value)
    {
        if (value.Length is 0 or > 253)
        {
            return false;
        }
        foreach (var label in value.TrimEnd('.').Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-')
            {
                return false;
            }
            if (!label.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                return false;
            }
        }
        return true;
    }
}

/// <summary>A string that must be an IPv4/IPv6 address or a host name (oslo's <c>HostAddress</c>).</summary>
public sealed class HostAddressOpt(string name, string? @default) : Opt<string?>(name, @default)
{
    public override string TypeDescription => "host address value";

    internal override string? Parse(string raw)
    {
        var value = raw.Trim();
        if (System.Net.IPAddress.TryParse(value, out _) || HostDomainOpt.IsHostDomain(value))
        {
            return value;
        }
        throw new FormatException($"{value} is not a valid host address");
    }

    internal override string Format(string? value) => value ?? "<None>";
}

public sealed class IntOpt(string name, int @default) : Opt<int>(name, @default)
{
    public int? Min { get; init; }
    public int? Max { get; init; }

    public override string TypeDescription => "integer value";

    internal override int Parse(string raw) => ParseInteger(raw, Min, Max);

    internal override string Format(int value) => value.ToString(CultureInfo.InvariantCulture);

    internal override IEnumerable<string> SampleBoundsLines() => IntegerBounds(Min, Max);

    internal static int ParseInteger(string raw, int? min, int? max)
    {
        var text = raw.Trim();
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            throw new FormatException($"invalid literal for int() with base 10: '{text}'");
        }
        if (min is { } lo && value < lo)
        {
            throw new FormatException($"Should be greater than or equal to {lo}");
        }
        if (max is { } hi && value > hi)
        {
            throw new FormatException($"Should be less than or equal to {hi}");
        }
        return value;
    }

    internal static IEnumerable<string> IntegerBounds(int? min, int? max)
    {
        if (min is { } lo)
        {
            yield return $"Minimum value: {lo.ToString(CultureInfo.InvariantCulture)}";
        }
        if (max is { } hi)
        {
            yield return $"Maximum value: {hi.ToString(CultureInfo.InvariantCulture)}";
        }
    }
}

/// <summary>An integer option whose default is None (unset).</summary>
public sealed class NullableIntOpt(string name, int? @default = null) : Opt<int?>(name, @default)
{
    public int? Min { get; init; }
    public int? Max { get; init; }

    public override string TypeDescription => "integer value";

    internal override int? Parse(string raw) => IntOpt.ParseInteger(raw, Min, Max);

    internal override string Format(int? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "<None>";

    internal override IEnumerable<string> SampleBoundsLines() => IntOpt.IntegerBounds(Min, Max);
}

public sealed class PortOpt(string name, int @default) : Opt<int>(name, @default)
{
    public override string TypeDescription => "port value";

    internal override int Parse(string raw) => IntOpt.ParseInteger(raw, 0, 65535);

    internal override string Format(int value) => value.ToString(CultureInfo.InvariantCulture);

    internal override IEnumerable<string> SampleBoundsLines() => IntOpt.IntegerBounds(0, 65535);
}

public sealed class FloatOpt(string name, double @default) : Opt<double>(name, @default)
{
    public double? Min { get; init; }
    public double? Max { get; init; }

    public override string TypeDescription => "floating point value";

    internal override double Parse(string raw)
    {
        var text = raw.Trim();
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || double.IsNaN(value))
        {
            throw new FormatException($"could not convert string to float: '{text}'");
        }
        if (Min is { } lo && value < lo)
        {
            throw new FormatException($"Should be greater than or equal to {Format(lo)}");
        }
        if (Max is { } hi && value > hi)
        {
            throw new FormatException($"Should be less than or equal to {Format(hi)}");
        }
        return value;
    }

    internal override string Format(double value)
    {
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        return text.Contains('.') || text.Contains('E') ? text : text + ".0";
    }

    internal override IEnumerable<string> SampleBoundsLines()
    {
        if (Min is { } lo)
        {
            yield return $"Minimum value: {Format(lo)}";
        }
        if (Max is { } hi)
        {
            yield return $"Maximum value: {Format(hi)}";
        }
    }
}

public sealed class BoolOpt(string name, bool @default) : Opt<bool>(name, @default)
{
    public override string TypeDescription => "boolean value";

    internal override bool Parse(string raw) => raw.Trim().ToLowerInvariant() switch
    {
        "true" or "1" or "on" or "yes" => true,
        "false" or "0" or "off" or "no" => false,
        _ => throw new FormatException($"Unexpected boolean value '{raw.Trim()}'"),
    };

    internal override string Format(bool value) => value ? "true" : "false";
}

/// <summary>Comma-separated list; items stripped, empty items dropped, no quoting (as oslo).</summary>
public sealed class ListOpt(string name, IReadOnlyList<string>? @default) : Opt<IReadOnlyList<string>>(name, @default ?? [])
{
    /// <summary>When set, every item must be one of these.</summary>
    public IReadOnlyList<string> ItemChoices { get; init; } = [];

    public override string TypeDescription => "list value";

    internal override IReadOnlyList<string> Parse(string raw)
    {
        var items = raw.Split(',').Select(s => s.Trim()).Where(s => s.Length > 0).ToList();
        foreach (var item in items)
        {
            if (ItemChoices.Count > 0 && !ItemChoices.Contains(item))
            {
                throw new FormatException($"Valid values are [{string.Join(", ", ItemChoices)}], but found '{item}'");
            }
        }
        return items;
    }

    internal override string Format(IReadOnlyList<string> value) => string.Join(",", value);
}

/// <summary>Every occurrence of the key adds a value (earlier files first).</summary>
public sealed class MultiStrOpt(string name, IReadOnlyList<string>? @default) : Opt<IReadOnlyList<string>>(name, @default ?? [])
{
    public override string TypeDescription => "multi valued";

    public override bool IsMulti => true;

    internal override IReadOnlyList<string> Parse(string raw) => [raw];

    internal override string Format(IReadOnlyList<string> value) => string.Join(",", value);
}
