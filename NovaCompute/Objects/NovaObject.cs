using System.Text.Json.Nodes;

namespace NovaCompute.Objects;

/// <summary>
/// A versioned object in oslo.versionedobjects' sense: named fields, each either unset or holding a
/// coerced value, with change tracking; travels as the <c>nova_object.*</c> primitive (oslo_versionedobjects/base.py <c>obj_to_primitive</c>).
/// </summary>
internal abstract class NovaObject
{
    internal const string NameKey = "nova_object.name";
    internal const string NamespaceKey = "nova_object.namespace";
    internal const string VersionKey = "nova_object.version";
    internal const string DataKey = "nova_object.data";
    internal const string ChangesKey = "nova_object.changes";

    private readonly Dictionary<string, object?> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _changes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FieldDefinition> _fieldsByName;

    protected NovaObject()
    {
        _fieldsByName = Fields.ToDictionary(f => f.Name, StringComparer.Ordinal);
        ReceivedVersion = CurrentVersion;
    }

    public abstract string ObjectName { get; }

    public virtual string Namespace => "nova";

    /// <summary>This class's version (ovo's <c>VERSION</c>).</summary>
    public abstract string CurrentVersion { get; }

    /// <summary>The version the object was built from (ovo keeps the sender's version on the instance).</summary>
    public string ReceivedVersion { get; internal set; }

    /// <summary>Every field, in declaration order (the order of <c>nova_object.data</c>).</summary>
    public abstract IReadOnlyList<FieldDefinition> Fields { get; }

    public bool IsSet(string field) => _values.ContainsKey(Field(field).Name);

    /// <summary>Fields changed since the last <see cref="ResetChanges"/>.</summary>
    public IReadOnlySet<string> Changes => _changes;

    public void ResetChanges() => _changes.Clear();

    /// <exception cref="InvalidOperationException">The field is unset (ovo would try a lazy load).</exception>
    protected T Get<T>(string field) =>
        _values.TryGetValue(field, out var value)
            ? (T)value!
            : throw new InvalidOperationException($"Attribute {field} of {ObjectName} is not set");

    protected T? GetOrDefault<T>(string field) => _values.TryGetValue(field, out var value) ? (T?)value : default;

    /// <summary>Assigns and marks changed, after ovo's coercion and null rules.</summary>
    public void Set(string field, object? value)
    {
        var definition = Field(field);
        if (value is null)
        {
            if (!definition.Nullable)
            {
                throw new ArgumentException($"Field `{field}' cannot be None");
            }
            _values[field] = null;
        }
        else
        {
            _values[field] = definition.Type.Coerce(field, value);
        }
        _changes.Add(field);
    }

    /// <summary>Raw value of a set field (null when unset or null).</summary>
    public object? GetValue(string field) => _values.GetValueOrDefault(Field(field).Name);

    /// <summary>ovo's <c>obj_to_primitive</c>: set fields only, changes only when some are pending.</summary>
    /// <exception cref="ArgumentException">The target version is newer than this class.</exception>
    public JsonObject ToPrimitive(string? targetVersion = null)
    {
        targetVersion ??= CurrentVersion;
        var target = ObjectVersion.Parse(targetVersion);
        if (target > ObjectVersion.Parse(CurrentVersion))
        {
            throw new ArgumentException($"Invalid target version {targetVersion}");
        }
        var data = new JsonObject();
        foreach (var field in Fields)
        {
            if (_values.TryGetValue(field.Name, out var value))
            {
                data[field.Name] = value is null ? null : field.Type.ToPrimitive(value);
            }
        }
        if (targetVersion != CurrentVersion)
        {
            MakeCompatible(data, target);
        }
        var primitive = new JsonObject
        {
            [NameKey] = ObjectName,
            [NamespaceKey] = Namespace,
            [VersionKey] = targetVersion,
            [DataKey] = data,
        };
        var changes = Fields.Where(f => _changes.Contains(f.Name) && data.ContainsKey(f.Name)).Select(f => (JsonNode?)f.Name).ToArray();
        if (changes.Length > 0)
        {
            primitive[ChangesKey] = new JsonArray(changes);
        }
        return primitive;
    }

    /// <summary>ovo's <c>obj_make_compatible</c>: drop or convert what <paramref name="target"/> does not know.</summary>
    protected virtual void MakeCompatible(JsonObject data, ObjectVersion target)
    {
    }

    /// <summary>Fills fields from a primitive's data and changes (the registry has checked name and version).</summary>
    internal void LoadPrimitive(JsonObject primitive)
    {
        if (primitive[DataKey] is not JsonObject data)
        {
            throw new ArgumentException($"{ObjectName} primitive has no {DataKey}");
        }
        foreach (var field in Fields)
        {
            if (data.TryGetPropertyValue(field.Name, out var node))
            {
                _values[field.Name] = node is null
                    ? (field.Nullable ? null : throw new ArgumentException($"Field `{field.Name}' cannot be None"))
                    : field.Type.FromPrimitive(field.Name, node);
            }
        }
        _changes.Clear();
        if (primitive[ChangesKey] is JsonArray changes)
        {
            foreach (var change in changes)
            {
                if (change?.GetValue<string>() is { } name && _fieldsByName.ContainsKey(name))
                {
                    _changes.Add(name);
                }
            }
        }
    }

    /// <summary>
    /// What ovo's client does with the <c>updates</c> of an <c>object_action</c> reply
    /// (oslo_versionedobjects/base.py <c>VersionedObject._obj_..._remote</c>): set every field named,
    /// reset the change tracking, then mark <c>obj_what_changed</c> as changed. Unknown names are skipped.
    /// </summary>
    internal void ApplyUpdates(JsonObject updates)
    {
        foreach (var (name, node) in updates)
        {
            if (!_fieldsByName.TryGetValue(name, out var field))
            {
                continue;
            }
            _values[name] = node is null
                ? (field.Nullable ? null : throw new ArgumentException($"Field `{name}' cannot be None"))
                : field.Type.FromPrimitive(name, node);
        }
        _changes.Clear();
        if (updates["obj_what_changed"] is JsonArray dirty)
        {
            foreach (var change in dirty)
            {
                if (change?.GetValue<string>() is { } name && _fieldsByName.ContainsKey(name))
                {
                    _changes.Add(name);
                }
            }
        }
    }

    private FieldDefinition Field(string name) =>
        _fieldsByName.TryGetValue(name, out var definition)
            ? definition
            : throw new ArgumentException($"{ObjectName} has no field {name}");
}

/// <summary>A dotted object version compared as numbers (<c>1.9 &lt; 1.22</c>).</summary>
internal readonly record struct ObjectVersion(int Major, int Minor, int Patch = 0) : IComparable<ObjectVersion>
{
    public static ObjectVersion Parse(string text)
    {
        var parts = text.Split('.');
        if (parts.Length is < 2 or > 3 || !parts.All(p => p.Length > 0 && p.All(char.IsAsciiDigit)))
        {
            throw new ArgumentException($"Invalid version string {text}");
        }
        return new ObjectVersion(int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture),
            parts.Length == 3 ? int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture) : 0);
    }

    public int CompareTo(ObjectVersion other) =>
        Major != other.Major ? Major.CompareTo(other.Major)
        : Minor != other.Minor ? Minor.CompareTo(other.Minor)
        : Patch.CompareTo(other.Patch);

    public static bool operator <(ObjectVersion a, ObjectVersion b) => a.CompareTo(b) < 0;
    public static bool operator >(ObjectVersion a, ObjectVersion b) => a.CompareTo(b) > 0;
    public static bool operator <=(ObjectVersion a, ObjectVersion b) => a.CompareTo(b) <= 0;
    public static bool operator >=(ObjectVersion a, ObjectVersion b) => a.CompareTo(b) >= 0;

    public override string ToString() => Patch == 0 ? $"{Major}.{Minor}" : $"{Major}.{Minor}.{Patch}";
}
