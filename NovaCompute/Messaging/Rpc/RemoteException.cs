namespace NovaCompute.Messaging.Rpc;

/// <summary>
/// An exception that crosses the wire as oslo's failure payload (<c>class</c>, <c>module</c>,
/// <c>message</c>, <c>args</c>, <c>kwargs</c>, <c>tb</c>). Endpoints throw it (or a subclass, e.g. a
/// nova exception with module <c>nova.exception</c>) to make an oslo client raise that exact class;
/// <see cref="RpcClient"/> throws it when a call failed on the server.
/// </summary>
public class RemoteException : Exception
{
    public RemoteException(string className, string module, string message,
        IReadOnlyDictionary<string, object?>? kwargs = null, IReadOnlyList<object?>? args = null,
        IReadOnlyList<string>? remoteTraceback = null, Exception? innerException = null)
        : base(message, innerException)
    {
        ClassName = className;
        Module = module;
        Kwargs = kwargs ?? new Dictionary<string, object?>();
        Args = args ?? [message];
        RemoteTraceback = remoteTraceback ?? [];
    }

    /// <summary>Python class name, e.g. <c>ComputeHostNotFound</c>.</summary>
    public string ClassName { get; }

    /// <summary>Python module, e.g. <c>nova.exception</c>, <c>builtins</c>.</summary>
    public string Module { get; }

    /// <summary>Keyword arguments the client passes to the class (nova exceptions carry <c>code</c> here).</summary>
    public IReadOnlyDictionary<string, object?> Kwargs { get; }

    /// <summary>Positional arguments (oslo sends <c>exc.args</c>; usually just the message).</summary>
    public IReadOnlyList<object?> Args { get; }

    /// <summary>The server's traceback lines as received (empty on the server side).</summary>
    public IReadOnlyList<string> RemoteTraceback { get; }

    /// <summary><c>module.Class</c>, or just the class for builtins (as Python prints it).</summary>
    public string QualifiedName => Module is "builtins" or "exceptions" ? ClassName : $"{Module}.{ClassName}";
}

/// <summary>oslo's <c>NoSuchMethod</c>: a compatible endpoint exists but none has the method.</summary>
public sealed class NoSuchMethodException(string method, IReadOnlyList<string>? remoteTraceback = null)
    : RemoteException("NoSuchMethod", DispatcherModule, $"Endpoint does not support RPC method {method}", remoteTraceback: remoteTraceback)
{
    internal const string DispatcherModule = "oslo_messaging.rpc.dispatcher";

    public string Method { get; } = method;
}

/// <summary>oslo's <c>UnsupportedVersion</c>: no endpoint is compatible with the namespace and version asked for.</summary>
public sealed class UnsupportedVersionException : RemoteException
{
    public UnsupportedVersionException(string version, string? method, IReadOnlyList<string>? remoteTraceback = null)
        : base("UnsupportedVersion", NoSuchMethodException.DispatcherModule,
            method is null
                ? $"Endpoint does not support RPC version {version}"
                : $"Endpoint does not support RPC version {version}. Attempted method: {method}",
            remoteTraceback: remoteTraceback)
    {
        Version = version;
        Method = method;
    }

    internal UnsupportedVersionException(string message, IReadOnlyList<string>? remoteTraceback)
        : base("UnsupportedVersion", NoSuchMethodException.DispatcherModule, message, remoteTraceback: remoteTraceback)
    {
        Version = "";
    }

    public string Version { get; }
    public string? Method { get; }
}

/// <summary>
/// Python's <c>TypeError</c> for a call whose arguments do not fit the method (missing, unknown or of
/// the wrong type); oslo clients rebuild it as a builtin <c>TypeError</c>.
/// </summary>
public sealed class RpcArgumentException(string message) : RemoteException("TypeError", "builtins", message);

/// <summary>oslo's <c>MessagingTimeout</c>: no reply in time.</summary>
public sealed class MessagingTimeoutException(string msgId)
    : TimeoutException($"Timed out waiting for a reply to message ID {msgId}")
{
    public string MsgId { get; } = msgId;
}

/// <summary>
/// A call that no queue would take (nothing bound for the routing key). oslo publishes calls without
/// <c>mandatory</c> and the caller waits for the whole timeout; we find out at once.
/// </summary>
public sealed class MessageUndeliverableException(string exchange, string routingKey)
    : Exception($"No queue is bound to exchange '{exchange}' with routing key '{routingKey}': the message could not be delivered")
{
    public string Exchange { get; } = exchange;
    public string RoutingKey { get; } = routingKey;
}
