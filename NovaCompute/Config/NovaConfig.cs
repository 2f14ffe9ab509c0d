namespace NovaCompute.Config;

public enum ValueSourceKind
{
    Default,
    File,
    Environment,
    CommandLine,
}

/// <summary>Where an option's value came from.</summary>
public sealed record ValueSource(ValueSourceKind Kind, string? Location = null, int? Line = null)
{
    public static ValueSource Default { get; } = new(ValueSourceKind.Default);

    public override string ToString() => Kind switch
    {
        ValueSourceKind.Default => "default",
        ValueSourceKind.File => Line is null ? $"file {Location}" : $"file {Location}:{Line}",
        ValueSourceKind.Environment => $"environment {Location}",
        ValueSourceKind.CommandLine => $"command line {Location}",
        _ => Kind.ToString(),
    };
}

/// <summary>One option's effective value: parsed, the raw text it came from, and its source.</summary>
public sealed record OptValue(Opt Opt, object? Value, string? Raw, ValueSource Source)
{
    /// <summary>The value as an operator may see it: secrets are <c>****</c>.</summary>
    public string Display => Opt.Secret && Value is not null ? "****" : Opt.FormatObject(Value);
}

/// <summary>
/// An immutable snapshot of the whole configuration. A SIGHUP reload produces a new snapshot
/// (see <see cref="ConfigMonitor"/>); code that must follow reloads reads
/// <see cref="IConfigMonitor.Current"/> each time instead of keeping a snapshot.
/// </summary>
public sealed class NovaConfig
{
    private readonly IReadOnlyDictionary<Opt, OptValue> _values;

    internal NovaConfig(IReadOnlyDictionary<Opt, OptValue> values, IReadOnlyList<string> files, ConfigArguments arguments)
    {
        _values = values;
        Files = files;
        Arguments = arguments;
    }

    /// <summary>The configuration files that were read, in the order they were applied.</summary>
    public IReadOnlyList<string> Files { get; }

    public ConfigArguments Arguments { get; }

    public T Get<T>(Opt<T> opt) => (T)Describe(opt).Value!;

    public OptValue Describe(Opt opt) =>
        _values.TryGetValue(opt, out var value)
            ? value
            : throw new InvalidOperationException($"option {opt.Key} is not registered in the option catalog");

    public IEnumerable<OptValue> All => _values.Values;

    /// <summary>A copy with some options replaced (used by reload to keep immutable options as they were).</summary>
    internal NovaConfig With(IEnumerable<OptValue> replacements)
    {
        var values = new Dictionary<Opt, OptValue>(_values);
        foreach (var value in replacements)
        {
            values[value.Opt] = value;
        }
        return new NovaConfig(values, Files, Arguments);
    }

    /// <summary>A configuration made only of defaults and the given values (for tests and tools).</summary>
    public static NovaConfig FromValues(IEnumerable<Opt> options, IReadOnlyDictionary<Opt, string>? raw = null)
    {
        var values = new Dictionary<Opt, OptValue>();
        foreach (var opt in options)
        {
            values[opt] = raw is not null && raw.TryGetValue(opt, out var text)
                ? new OptValue(opt, opt.ParseObject(text), text, new ValueSource(ValueSourceKind.CommandLine, "(code)"))
                : new OptValue(opt, opt.DefaultObject, null, ValueSource.Default);
        }
        return new NovaConfig(values, [], ConfigArguments.Empty);
    }
}
