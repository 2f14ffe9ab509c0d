using System.Diagnostics.CodeAnalysis;

namespace NovaCompute.Messaging.Rpc;

/// <summary>
/// An object the <see cref="RpcDispatcher"/> can serve: it finds the <see cref="RpcMethodAttribute"/>
/// methods by reflection on the instance's own class. The annotation is what makes that hold in a
/// trimmed (Native AOT) build: every class implementing this interface keeps its public methods,
/// with their parameters and attributes, so <c>GetType().GetMethods()</c> sees what the source declares.
/// </summary>
[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicMethods)]
public interface IRpcEndpoint;

/// <summary>
/// Marks a class as an RPC endpoint and gives its oslo <c>Target</c>: <see cref="Namespace"/>
/// (null = the default namespace) and <see cref="Version"/> (what it implements; oslo's rule decides
/// which requested versions it serves).
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class RpcEndpointAttribute : Attribute
{
    public string? Namespace { get; set; }

    public string Version { get; set; } = "1.0";

    /// <summary>Other namespaces this endpoint also answers (oslo's <c>legacy_namespaces</c>).</summary>
    public string[] LegacyNamespaces { get; set; } = [];
}

/// <summary>
/// Exposes a public method over RPC. Only methods carrying this attribute are callable (oslo's
/// <c>ExplicitRPCAccessPolicy</c>); names starting with <c>_</c> are refused, as oslo's default policy
/// refuses private methods. The name defaults to the method name in snake_case without an
/// <c>Async</c> suffix (<c>GetBackdoorPortAsync</c> → <c>get_backdoor_port</c>).
/// </summary>
/// <remarks>
/// Parameters are bound by name (snake_case of the parameter name, or <see cref="RpcArgumentAttribute"/>);
/// a <see cref="RequestContext"/> parameter receives the caller's context and a
/// <see cref="CancellationToken"/> parameter fires when the server is stopped for good.
/// </remarks>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class RpcMethodAttribute(string? name = null) : Attribute
{
    public string? Name { get; } = name;
}

/// <summary>The wire name of an RPC argument when it is not the snake_case of the parameter name.</summary>
[AttributeUsage(AttributeTargets.Parameter, Inherited = false)]
public sealed class RpcArgumentAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}
