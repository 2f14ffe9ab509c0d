using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace NovaCompute.Objects;

/// <summary>
/// The object registry that <c>Main</c>'s "register objects" step fills (nova's
/// <c>objects.register_all()</c>), and the way back from a primitive to an object: name lookup,
/// namespace and version checks as oslo.versionedobjects makes them (oslo_versionedobjects/base.py <c>obj_from_primitive</c>).
/// </summary>
internal static class ObjectRegistry
{
    private static readonly ConcurrentDictionary<string, Registration> Registered = new(StringComparer.Ordinal);

    private sealed record Registration(string Namespace, ObjectVersion Version, string VersionText, Func<NovaObject> Create);

    /// <summary>Registers every object class this daemon has. Idempotent.</summary>
    public static void RegisterAll()
    {
        Register(() => new Service());
    }

    /// <summary>Registers one class; a later registration of the same name replaces it.</summary>
    public static void Register<T>(Func<T> create) where T : NovaObject
    {
        var sample = create();
        Registered[sample.ObjectName] = new Registration(sample.Namespace, ObjectVersion.Parse(sample.CurrentVersion),
            sample.CurrentVersion, create);
    }

    public static bool IsRegistered(string objectName) => Registered.ContainsKey(objectName);

    /// <summary>Rebuilds an object; <c>nova_object.changes</c> become its pending changes.</summary>
    /// <exception cref="UnsupportedObjectException">Unknown namespace or name.</exception>
    /// <exception cref="IncompatibleObjectVersionException">
    /// A different major version, or a newer minor than ours: the caller may ask for a backport.
    /// </exception>
    public static NovaObject FromPrimitive(JsonNode primitive)
    {
        if (primitive is not JsonObject obj)
        {
            throw new ArgumentException("object primitive must be a JSON object");
        }
        var ns = RequiredString(obj, NovaObject.NamespaceKey);
        var name = RequiredString(obj, NovaObject.NameKey);
        var version = RequiredString(obj, NovaObject.VersionKey);
        if (!Registered.TryGetValue(name, out var registration))
        {
            throw new UnsupportedObjectException(name);
        }
        if (ns != registration.Namespace)
        {
            throw new UnsupportedObjectException($"{ns}.{name}");
        }
        var incoming = ObjectVersion.Parse(version);
        // ovo's is_compatible: same major, and our minor covers theirs.
        if (incoming.Major != registration.Version.Major || incoming > registration.Version)
        {
            throw new IncompatibleObjectVersionException(name, version, registration.VersionText);
        }
        var instance = registration.Create();
        instance.LoadPrimitive(obj);
        instance.ReceivedVersion = version;
        return instance;
    }

    /// <summary>Typed <see cref="FromPrimitive(JsonNode)"/>.</summary>
    public static T FromPrimitive<T>(JsonNode primitive) where T : NovaObject =>
        FromPrimitive(primitive) as T
        ?? throw new ArgumentException($"primitive is not a {typeof(T).Name}");

    private static string RequiredString(JsonObject obj, string key) =>
        obj[key] is JsonValue value && value.GetValueKind() == JsonValueKind.String
            ? value.GetValue<string>()
            : throw new ArgumentException($"object primitive has no string '{key}'");
}

/// <summary>ovo's <c>UnsupportedObjectError</c>.</summary>
internal sealed class UnsupportedObjectException(string objectType) : Exception($"Unsupported object type {objectType}")
{
    public string ObjectType { get; } = objectType;
}

/// <summary>ovo's <c>IncompatibleObjectVersion</c>.</summary>
internal sealed class IncompatibleObjectVersionException(string objectName, string version, string supported)
    : Exception($"Version {version} of {objectName} is not supported, supported version is {supported}")
{
    public string ObjectName { get; } = objectName;
    public string Version { get; } = version;
    public string Supported { get; } = supported;
}

/// <summary>ovo's <c>ObjectActionError</c>.</summary>
internal sealed class ObjectActionException(string action, string reason)
    : Exception($"Object action {action} failed because: {reason}");
