namespace NovaCompute.Messaging.Rpc;

/// <summary>What kind of fault makes a request impossible to handle; callers branch on this, never on the text.</summary>
public enum RpcMessageFault
{
    /// <summary>The body is not an oslo 2.0 envelope: not JSON, not an object, <c>oslo.version</c>/<c>oslo.message</c> missing or of the wrong kind.</summary>
    BadEnvelope,

    /// <summary>
    /// <c>oslo.version</c> names a version this endpoint does not speak
    /// (oslo_messaging/_drivers/common.py, <c>deserialize_msg</c> raises <c>UnsupportedRpcEnvelopeVersion</c>).
    /// </summary>
    UnsupportedVersion,

    /// <summary><c>oslo.message</c> is not valid UTF-8, not JSON or not a JSON object.</summary>
    BadMessage,

    /// <summary>A request field (<c>method</c>, <c>args</c>) is missing or of the wrong kind.</summary>
    BadField,

    /// <summary>A <c>_context_*</c> key or value is not valid text (a lone surrogate escape).</summary>
    UnreadableContext,

    /// <summary>The body is larger than the server decodes.</summary>
    TooLarge,
}

/// <summary>
/// Why a request cannot be handled: the fault, the field at fault when there is one, and a
/// description fit for the log line and the caller's error.
/// </summary>
public sealed record RpcMessageProblem(RpcMessageFault Fault, string Description, string? Field = null)
{
    /// <summary>
    /// The error the caller gets: oslo's own class for an unsupported envelope version, which an oslo
    /// client re-raises as such; a <c>ValueError</c> otherwise, as Python raises for bad input.
    /// </summary>
    public RemoteException ToRemoteException() => Fault == RpcMessageFault.UnsupportedVersion
        ? new RemoteException("UnsupportedRpcEnvelopeVersion", "oslo_messaging._drivers.common", Description)
        : new RemoteException("ValueError", "builtins", Description);

    public override string ToString() => Description;
}

/// <summary>A request that cannot be handled, thrown where a try-pattern does not fit (reading the request context).</summary>
public sealed class RpcMessageException(RpcMessageProblem problem, Exception? innerException = null)
    : Exception(problem.Description, innerException)
{
    public RpcMessageProblem Problem { get; } = problem;
}
