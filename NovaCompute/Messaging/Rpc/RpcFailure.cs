using System.Buffers;
using System.Diagnostics;
using System.Reflection;
using System.Text.Json;

namespace NovaCompute.Messaging.Rpc;

/// <summary>
/// oslo's <c>serialize_remote_exception</c> / <c>deserialize_remote_exception</c>: the JSON text sent
/// as a reply's <c>failure</c>. .NET exceptions with a Python counterpart are sent as that builtin
/// (so an oslo client raises a real <c>ValueError</c>, <c>KeyError</c>, ...); others keep their .NET
/// name and namespace, which a Python client turns into a <c>RemoteError</c>. The traceback lists
/// type and method names only: no file paths or line numbers of this server leave the process.
/// </summary>
internal static class RpcFailure
{
    private const int MaxFrames = 40;

    public static string Serialize(Exception exception, IRpcEntitySerializer serializer, RequestContext? context)
    {
        var (className, module, message, args, kwargs) = Describe(exception);
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JsonRpcEntitySerializer.Options.Encoder }))
        {
            writer.WriteStartObject();
            writer.WriteString("class", className);
            writer.WriteString("module", module);
            writer.WriteString("message", message);
            writer.WriteStartArray("tb");
            foreach (var line in Traceback(exception, className, module, message))
            {
                writer.WriteStringValue(line);
            }
            writer.WriteEndArray();
            writer.WriteStartArray("args");
            foreach (var arg in args)
            {
                WriteValue(writer, serializer, context, arg);
            }
            writer.WriteEndArray();
            writer.WriteStartObject("kwargs");
            foreach (var (key, value) in kwargs)
            {
                writer.WritePropertyName(key);
                WriteValue(writer, serializer, context, value);
            }
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        return RpcEnvelope.Utf8(buffer.WrittenSpan);
    }

    private static void WriteValue(Utf8JsonWriter writer, IRpcEntitySerializer serializer, RequestContext? context, object? value)
    {
        try
        {
            serializer.Serialize(writer, context, value);
        }
        catch (Exception ex) when (ex is NotSupportedException or JsonException or InvalidOperationException)
        {
            // A failure must always be sendable; an unserializable argument degrades to its text.
            writer.WriteStringValue(value?.ToString());
        }
    }

    /// <summary>The Python class, module, message, args and kwargs an exception is sent as.</summary>
    internal static (string Class, string Module, string Message, IReadOnlyList<object?> Args, IReadOnlyDictionary<string, object?> Kwargs) Describe(Exception exception)
    {
        if (exception is TargetInvocationException { InnerException: { } inner })
        {
            exception = inner;
        }
        var message = exception.Message;
        if (exception is RemoteException remote)
        {
            // Re-raising what another server sent: oslo strips the _Remote suffix it added on receipt.
            var cls = remote.ClassName.EndsWith("_Remote", StringComparison.Ordinal) && remote.Module.EndsWith("_Remote", StringComparison.Ordinal)
                ? remote.ClassName[..^7]
                : remote.ClassName;
            var module = cls != remote.ClassName ? remote.Module[..^7] : remote.Module;
            return (cls, module, message, remote.Args, remote.Kwargs);
        }
        var builtin = exception switch
        {
            KeyNotFoundException => "KeyError",
            ArgumentException or FormatException or OverflowException => "ValueError",
            InvalidCastException => "TypeError",
            NotImplementedException or NotSupportedException => "NotImplementedError",
            TimeoutException => "TimeoutError",
            UnauthorizedAccessException => "PermissionError",
            FileNotFoundException or DirectoryNotFoundException => "FileNotFoundError",
            IOException => "OSError",
            OutOfMemoryException or InsufficientExecutionStackException => "MemoryError",
            IndexOutOfRangeException => "IndexError",
            _ => null,
        };
        var empty = new Dictionary<string, object?>();
        return builtin is not null
            ? (builtin, "builtins", message, [message], empty)
            : (exception.GetType().Name, exception.GetType().Namespace ?? "", message, [message], empty);
    }

    /// <summary>Python-shaped traceback lines: outermost frame first, the exception line last.</summary>
    internal static List<string> Traceback(Exception exception, string className, string module, string message)
    {
        var lines = new List<string> { "Traceback (most recent call last):\n" };
        var frames = new StackTrace(exception, fNeedFileInfo: false).GetFrames();
        var described = new List<string>();
        foreach (var frame in frames)
        {
            if (Describe(frame) is { } line)
            {
                described.Add(line);
            }
            if (described.Count >= MaxFrames)
            {
                break;
            }
        }
        described.Reverse();
        lines.AddRange(described);
        var qualified = module is "builtins" or "exceptions" or "" ? className : $"{module}.{className}";
        lines.Add($"{qualified}: {message}\n");
        return lines;
    }

    private static string? Describe(StackFrame frame)
    {
        // DiagnosticMethodInfo rather than GetMethod(): it is what a Native AOT build keeps for
        // stack traces (names only), and all this needs.
        var method = DiagnosticMethodInfo.Create(frame);
        var type = method?.DeclaringTypeName;
        if (method is null || type is null)
        {
            return null;
        }
        if (type.StartsWith("System.Runtime.CompilerServices", StringComparison.Ordinal) ||
            type.StartsWith("System.Runtime.ExceptionServices", StringComparison.Ordinal) ||
            type.StartsWith("System.Threading.Tasks", StringComparison.Ordinal))
        {
            return null;
        }
        var name = method.Name;
        // Local functions (<Outer>g__Inner|0_1) read as Inner, lambdas (<Outer>b__0_1) as Python's <lambda>.
        if (name.StartsWith('<'))
        {
            var local = name.IndexOf(">g__", StringComparison.Ordinal);
            name = local > 0 ? name[(local + 4)..].Split('|')[0] : name.Contains(">b__", StringComparison.Ordinal) ? "<lambda>" : name;
        }
        // Async and iterator state machines: Outer+<Method>d__N.MoveNext → Outer.Method.
        var generic = type.IndexOf('[', StringComparison.Ordinal);
        var nested = (generic < 0 ? type : type[..generic]).LastIndexOf('+');
        if (nested > 0 && type[nested + 1] == '<' && type.IndexOf('>', nested + 1) is var end && end > nested + 2)
        {
            name = type[(nested + 2)..end];
            type = type[..nested];
        }
        return $"  File \"{type}\", in {name}\n";
    }

    /// <summary>oslo's client-side rebuild: the failure JSON text becomes a <see cref="RemoteException"/> (or the dispatcher's own subclasses).</summary>
    public static RemoteException Deserialize(string failure)
    {
        try
        {
            using var document = JsonDocument.Parse(failure);
            var root = document.RootElement;
            var className = RpcEnvelope.StringOrNull(root, "class"u8) ?? "RemoteError";
            var module = RpcEnvelope.StringOrNull(root, "module"u8) ?? "";
            var message = RpcEnvelope.StringOrNull(root, "message"u8) ?? "";
            var tb = root.TryGetProperty("tb"u8, out var tbElement) && tbElement.ValueKind == JsonValueKind.Array
                ? tbElement.EnumerateArray().Select(l => l.ValueKind == JsonValueKind.String ? l.GetString()! : l.GetRawText()).ToList()
                : [];
            var args = root.TryGetProperty("args"u8, out var argsElement) && argsElement.ValueKind == JsonValueKind.Array
                ? argsElement.EnumerateArray().Select(a => (object?)a.Clone()).ToList()
                : [message];
            var kwargs = new Dictionary<string, object?>(StringComparer.Ordinal);
            if (root.TryGetProperty("kwargs"u8, out var kwargsElement) && kwargsElement.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in kwargsElement.EnumerateObject())
                {
                    kwargs[property.Name] = property.Value.Clone();
                }
            }
            if (module == NoSuchMethodException.DispatcherModule)
            {
                const string prefix = "Endpoint does not support RPC method ";
                if (className == "NoSuchMethod" && message.StartsWith(prefix, StringComparison.Ordinal))
                {
                    return new NoSuchMethodException(message[prefix.Length..], tb);
                }
                if (className == "UnsupportedVersion")
                {
                    return new UnsupportedVersionException(message, tb);
                }
            }
            return new RemoteException(className, module, message, kwargs, args, tb);
        }
        catch (JsonException ex)
        {
            return new RemoteException("RemoteError", "oslo_messaging.rpc.client", $"Unreadable failure from the server: {failure}", innerException: ex);
        }
    }
}
