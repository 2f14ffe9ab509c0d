using System.Reflection;
using System.Text.Json;
using NovaCompute.Messaging.Rpc;

namespace NovaCompute.Tests.Messaging.Rpc;

/// <summary>
/// The daemon's RPC serializers have source-generated JSON metadata only for the types listed in
/// <see cref="RpcJsonContext"/> (Native AOT has no reflection-based serializer), and a type outside
/// it fails only when a peer calls the method. So every argument and result type of every
/// endpoint the daemon ships is checked here, where a missing one fails the build's tests instead.
/// </summary>
public class RpcEndpointTypesTests
{
    private static IEnumerable<MethodInfo> ShippedRpcMethods() =>
        typeof(IRpcEndpoint).Assembly.GetTypes()
            .Where(t => typeof(IRpcEndpoint).IsAssignableFrom(t) && t is { IsClass: true, IsAbstract: false })
            .SelectMany(t => t.GetMethods(BindingFlags.Instance | BindingFlags.Public))
            .Where(m => m.GetCustomAttribute<RpcMethodAttribute>() is not null);

    [Test]
    public void ShippedEndpoints_EveryArgumentAndResultType_HasSerializerMetadata()
    {
        var methods = ShippedRpcMethods().ToList();
        Assert.That(methods, Has.Count.GreaterThanOrEqualTo(10), "the daemon's endpoints were not found");

        var missing = new List<string>();
        foreach (var method in methods)
        {
            var types = method.GetParameters().Select(p => p.ParameterType)
                .Where(t => t != typeof(RequestContext) && t != typeof(CancellationToken))
                .Append(ResultType(method.ReturnType));
            foreach (var type in types.OfType<Type>())
            {
                if (!Handled(type))
                {
                    missing.Add($"{method.DeclaringType!.Name}.{method.Name}: {type}");
                }
            }
        }

        Assert.That(missing, Is.Empty, "add these to RpcJsonContext (or make them nova objects)");
    }

    [Test]
    public void Handled_TypeOutsideTheContext_IsReported()
    {
        // The check above can fail: a type with no generated metadata is not handled.
        Assert.That(Handled(typeof(Uri)), Is.False);
        Assert.That(Handled(typeof(Dictionary<string, int[]>)), Is.False);
        Assert.That(Handled(typeof(Dictionary<string, object>)), Is.True);
    }

    /// <summary>What a method's Task/ValueTask yields; null for none.</summary>
    private static Type? ResultType(Type returnType) =>
        returnType == typeof(void) || returnType == typeof(Task) || returnType == typeof(ValueTask) ? null
        : returnType.IsGenericType && (returnType.GetGenericTypeDefinition() == typeof(Task<>) || returnType.GetGenericTypeDefinition() == typeof(ValueTask<>))
            ? returnType.GetGenericArguments()[0]
            : returnType;

    private static bool Handled(Type type)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (underlying == typeof(JsonElement) || underlying == typeof(object) || typeof(NovaCompute.Objects.NovaObject).IsAssignableFrom(underlying))
        {
            return true;
        }
        try
        {
            return JsonRpcEntitySerializer.Options.GetTypeInfo(type) is not null;
        }
        catch (NotSupportedException)
        {
            return false;
        }
    }
}
