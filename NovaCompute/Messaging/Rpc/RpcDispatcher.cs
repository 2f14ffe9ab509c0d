using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace NovaCompute.Messaging.Rpc;

/// <summary>One decoded request as the dispatcher sees it.</summary>
public sealed record RpcRequest(string Method, JsonElement Args, string? Namespace, string? Version, RequestContext Context);

/// <summary>
/// oslo's <c>RPCDispatcher</c>: finds the first endpoint (in registration order) whose namespace
/// matches and whose version is compatible with the request, and calls the method there with the
/// arguments bound by name. <see cref="NoSuchMethodException"/> when a compatible endpoint exists but
/// none has the method, <see cref="UnsupportedVersionException"/> when none is compatible;
/// <see cref="RpcArgumentException"/> (Python's <c>TypeError</c>) for missing, unknown or mistyped
/// arguments.
/// </summary>
public sealed class RpcDispatcher
{
    private readonly Endpoint[] _endpoints;
    private readonly IRpcEntitySerializer _serializer;
    private readonly ILogger _logger;

    public RpcDispatcher(IEnumerable<IRpcEndpoint> endpoints, IRpcEntitySerializer? serializer = null, ILogger<RpcDispatcher>? logger = null)
    {
        _serializer = serializer ?? JsonRpcEntitySerializer.Instance;
        _logger = logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger<RpcDispatcher>.Instance;
        _endpoints = [.. endpoints.Select(e => new Endpoint(e))];
    }

    public IRpcEntitySerializer Serializer => _serializer;

    /// <summary>(namespace, version, method names) of each endpoint, in dispatch order.</summary>
    public IReadOnlyList<(string? Namespace, RpcVersion Version, IReadOnlyCollection<string> Methods)> Endpoints =>
        [.. _endpoints.Select(e => (e.Namespace, e.Version, (IReadOnlyCollection<string>)e.Methods.Keys))];

    /// <summary>Dispatches with the request's context as the logging scope.</summary>
    public async ValueTask<object?> DispatchAsync(RpcRequest request, CancellationToken cancellationToken)
    {
        using (_logger.BeginScope(request.Context.LogScope()))
        {
            return await DispatchInScopeAsync(request, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Dispatches; the caller has already opened the request's logging scope.</summary>
    internal ValueTask<object?> DispatchInScopeAsync(RpcRequest request, CancellationToken cancellationToken)
    {
        var versionText = request.Version ?? "1.0";
        if (!RpcVersion.TryParse(versionText, out var requested))
        {
            throw new UnsupportedVersionException(versionText, request.Method);
        }
        var compatible = false;
        foreach (var endpoint in _endpoints)
        {
            if (!endpoint.Serves(request.Namespace) || !RpcVersion.IsCompatible(endpoint.Version, requested))
            {
                continue;
            }
            compatible = true;
            if (request.Method.StartsWith('_'))
            {
                continue;
            }
            if (endpoint.Methods.TryGetValue(request.Method, out var method))
            {
                return method.InvokeAsync(endpoint.Instance, request, _serializer, cancellationToken);
            }
        }
        throw compatible
            ? new NoSuchMethodException(request.Method)
            : new UnsupportedVersionException(versionText, request.Method);
    }

    /// <summary>nova's name for a CLR method or parameter: snake_case, without an <c>Async</c> suffix.</summary>
    internal static string SnakeCase(string name) =>
        JsonNamingPolicy.SnakeCaseLower.ConvertName(name.EndsWith("Async", StringComparison.Ordinal) && name.Length > 5 ? name[..^5] : name);

    private sealed class Endpoint
    {
        private readonly HashSet<string> _namespaces = new(StringComparer.Ordinal);

        public Endpoint(IRpcEndpoint instance)
        {
            Instance = instance;
            var type = instance.GetType();
            var attribute = type.GetCustomAttribute<RpcEndpointAttribute>()
                ?? throw new ArgumentException($"{type.FullName} is not marked [RpcEndpoint]", nameof(instance));
            Namespace = attribute.Namespace;
            if (!RpcVersion.TryParse(attribute.Version, out var version))
            {
                throw new ArgumentException($"{type.FullName}: endpoint version '{attribute.Version}' is not major.minor", nameof(instance));
            }
            Version = version;
            foreach (var legacy in attribute.LegacyNamespaces)
            {
                _namespaces.Add(legacy);
            }
            foreach (var method in type.GetMethods(BindingFlags.Instance | BindingFlags.Public))
            {
                if (method.GetCustomAttribute<RpcMethodAttribute>() is not { } rpc)
                {
                    continue;
                }
                var name = rpc.Name ?? SnakeCase(method.Name);
                if (name.StartsWith('_') || name.Length == 0)
                {
                    throw new ArgumentException($"{type.FullName}.{method.Name}: RPC method name '{name}' would never be callable");
                }
                if (!Methods.TryAdd(name, new BoundMethod(name, method)))
                {
                    throw new ArgumentException($"{type.FullName}: two methods are exposed as '{name}'");
                }
            }
        }

        public IRpcEndpoint Instance { get; }
        public string? Namespace { get; }
        public RpcVersion Version { get; }
        public Dictionary<string, BoundMethod> Methods { get; } = new(StringComparer.Ordinal);

        public bool Serves(string? requestedNamespace) =>
            requestedNamespace == Namespace || (requestedNamespace is not null && _namespaces.Contains(requestedNamespace));
    }

    private enum ParameterKind
    {
        Argument,
        Context,
        Cancellation,
    }

    private sealed record ParameterBinding(ParameterKind Kind, string WireName, Type Type, bool Required, object? Default, bool AcceptsNull);

    private sealed class BoundMethod
    {
        private readonly MethodInfo _method;
        private readonly ParameterBinding[] _parameters;
        private readonly Func<object?, ValueTask<object?>> _unwrap;
        private readonly int _argumentCount;

        public BoundMethod(string name, MethodInfo method)
        {
            Name = name;
            _method = method;
            _parameters = [.. method.GetParameters().Select(Bind)];
            _argumentCount = _parameters.Count(p => p.Kind == ParameterKind.Argument);
            _unwrap = Unwrapper(method);
        }

        public string Name { get; }

        private static ParameterBinding Bind(ParameterInfo p)
        {
            if (p.ParameterType == typeof(RequestContext))
            {
                return new(ParameterKind.Context, "", p.ParameterType, false, null, true);
            }
            if (p.ParameterType == typeof(CancellationToken))
            {
                return new(ParameterKind.Cancellation, "", p.ParameterType, false, null, true);
            }
            var wire = p.GetCustomAttribute<RpcArgumentAttribute>()?.Name ?? SnakeCase(p.Name!);
            var acceptsNull = !p.ParameterType.IsValueType
                ? new NullabilityInfoContext().Create(p).WriteState != NullabilityState.NotNull
                : Nullable.GetUnderlyingType(p.ParameterType) is not null;
            return new(ParameterKind.Argument, wire, p.ParameterType, !p.HasDefaultValue, p.HasDefaultValue ? p.DefaultValue : null, acceptsNull);
        }

        public ValueTask<object?> InvokeAsync(object instance, RpcRequest request, IRpcEntitySerializer serializer, CancellationToken cancellationToken)
        {
            var values = BindArguments(request, serializer, cancellationToken);
            object? returned;
            try
            {
                returned = _method.Invoke(instance, BindingFlags.DoNotWrapExceptions, binder: null, values, culture: null);
            }
            catch (TargetInvocationException ex) when (ex.InnerException is not null)
            {
                ExceptionDispatchInfo.Throw(ex.InnerException);
                throw;
            }
            return _unwrap(returned);
        }

        private object?[] BindArguments(RpcRequest request, IRpcEntitySerializer serializer, CancellationToken cancellationToken)
        {
            var args = request.Args;
            var isObject = args.ValueKind == JsonValueKind.Object;
            if (!isObject && args.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null))
            {
                throw new RpcArgumentException($"{Name}() arguments must be a JSON object of keyword arguments, got a {Describe(args)}");
            }
            if (isObject)
            {
                foreach (var property in args.EnumerateObject())
                {
                    if (!IsParameter(property))
                    {
                        throw new RpcArgumentException($"{Name}() got an unexpected keyword argument '{property.Name}'");
                    }
                }
            }
            var values = new object?[_parameters.Length];
            List<string>? missing = null;
            for (var i = 0; i < _parameters.Length; i++)
            {
                var p = _parameters[i];
                switch (p.Kind)
                {
                    case ParameterKind.Context:
                        values[i] = request.Context;
                        continue;
                    case ParameterKind.Cancellation:
                        values[i] = cancellationToken;
                        continue;
                }
                if (isObject && args.TryGetProperty(p.WireName, out var value))
                {
                    values[i] = Convert(serializer, request.Context, p, value);
                }
                else if (p.Required)
                {
                    (missing ??= []).Add(p.WireName);
                }
                else
                {
                    values[i] = p.Default is DBNull ? null : p.Default;
                }
            }
            if (missing is not null)
            {
                throw new RpcArgumentException(MissingMessage(Name, missing));
            }
            return values;
        }

        private bool IsParameter(JsonProperty property)
        {
            foreach (var p in _parameters)
            {
                if (p.Kind == ParameterKind.Argument && property.NameEquals(p.WireName))
                {
                    return true;
                }
            }
            return false;
        }

        private object? Convert(IRpcEntitySerializer serializer, RequestContext context, ParameterBinding p, JsonElement value)
        {
            if (value.ValueKind == JsonValueKind.Null && !p.AcceptsNull)
            {
                throw new RpcArgumentException($"{Name}() argument '{p.WireName}' must not be None");
            }
            try
            {
                return serializer.Deserialize(context, value, p.Type);
            }
            catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException or NotSupportedException or InvalidCastException)
            {
                throw new RpcArgumentException($"{Name}() argument '{p.WireName}' must be {TypeName(p.Type)}, got {Describe(value)}");
            }
        }

        private static string MissingMessage(string method, List<string> missing)
        {
            var quoted = missing.Select(m => $"'{m}'").ToList();
            var list = quoted.Count switch
            {
                1 => quoted[0],
                2 => $"{quoted[0]} and {quoted[1]}",
                _ => string.Join(", ", quoted.Take(quoted.Count - 1)) + ", and " + quoted[^1],
            };
            return $"{method}() missing {missing.Count} required positional argument{(missing.Count == 1 ? "" : "s")}: {list}";
        }

        private static string Describe(JsonElement value) => value.ValueKind switch
        {
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            JsonValueKind.Array => "a list",
            JsonValueKind.Object => "a dict",
            JsonValueKind.Null => "None",
            _ => value.ValueKind.ToString(),
        };

        private static string TypeName(Type type)
        {
            type = Nullable.GetUnderlyingType(type) ?? type;
            if (type == typeof(string))
            {
                return "a string";
            }
            if (type == typeof(bool))
            {
                return "a boolean";
            }
            if (type.IsPrimitive || type == typeof(decimal))
            {
                return type == typeof(double) || type == typeof(float) || type == typeof(decimal) ? "a number" : "an integer";
            }
            if (type.IsArray || (type.IsGenericType && typeof(System.Collections.IEnumerable).IsAssignableFrom(type) && !typeof(System.Collections.IDictionary).IsAssignableFrom(type)))
            {
                return "a list";
            }
            return $"a {type.Name}";
        }

        private static Func<object?, ValueTask<object?>> Unwrapper(MethodInfo method)
        {
            var returnType = method.ReturnType;
            if (returnType == typeof(void))
            {
                return static _ => ValueTask.FromResult<object?>(null);
            }
            if (returnType == typeof(Task))
            {
                return static async r => { await ((Task)r!).ConfigureAwait(false); return null; };
            }
            if (returnType == typeof(ValueTask))
            {
                return static async r => { await ((ValueTask)r!).ConfigureAwait(false); return null; };
            }
            if (returnType.IsGenericType)
            {
                var definition = returnType.GetGenericTypeDefinition();
                var isTask = definition == typeof(Task<>);
                if (isTask || definition == typeof(ValueTask<>))
                {
                    var result = returnType.GetGenericArguments()[0];
                    if (!result.IsValueType)
                    {
                        return ReferenceUnwrapper(isTask ? nameof(AwaitTask) : nameof(AwaitValueTask), result);
                    }
                    return ValueResults.TryGetValue(result, out var unwrap)
                        ? isTask ? unwrap.Task : unwrap.ValueTask
                        : throw new ArgumentException($"{method.DeclaringType?.FullName}.{method.Name}: an RPC method may return {definition.Name[..^2]}<T> " +
                            $"of a class or of {string.Join(", ", ValueResults.Keys.Select(t => t.Name))}, not of {result.Name}; return the value boxed as object instead");
                }
            }
            return static r => ValueTask.FromResult(r);
        }

        /// <summary>
        /// Task&lt;T&gt; and ValueTask&lt;T&gt; results of these value types. Each instantiation is
        /// written out so that it is compiled ahead of time: Native AOT cannot make
        /// AwaitTask&lt;int&gt; at run time.
        /// </summary>
        private static readonly Dictionary<Type, (Func<object?, ValueTask<object?>> Task, Func<object?, ValueTask<object?>> ValueTask)> ValueResults = new()
        {
            [typeof(bool)] = Unwrappers<bool>(),
            [typeof(int)] = Unwrappers<int>(),
            [typeof(long)] = Unwrappers<long>(),
            [typeof(double)] = Unwrappers<double>(),
            [typeof(JsonElement)] = Unwrappers<JsonElement>(),
            [typeof(bool?)] = Unwrappers<bool?>(),
            [typeof(int?)] = Unwrappers<int?>(),
            [typeof(long?)] = Unwrappers<long?>(),
            [typeof(double?)] = Unwrappers<double?>(),
        };

        private static (Func<object?, ValueTask<object?>> Task, Func<object?, ValueTask<object?>> ValueTask) Unwrappers<T>() =>
            (AwaitTask<T>, AwaitValueTask<T>);

        // Why MakeGenericMethod is safe here under Native AOT: it is only ever called with a
        // reference type (the value types are the ValueResults table), and an instantiation over
        // reference types runs the one shared canonical body (AwaitTask<__Canon>), which ILC
        // compiles because the helpers are reflection targets (GetMethod on typeof(BoundMethod) keeps them).
        // Only value-type instantiations need code made for them, and those never get here.
        [UnconditionalSuppressMessage("AOT", "IL3050:RequiresDynamicCode",
            Justification = "Reference-type instantiations share the precompiled canonical code; value types are routed to the ValueResults table.")]
        [UnconditionalSuppressMessage("Trimming", "IL2060:MakeGenericMethod",
            Justification = "AwaitTask<T> and AwaitValueTask<T> place no DynamicallyAccessedMembers requirement on T: nothing for the trimmer to keep.")]
        private static Func<object?, ValueTask<object?>> ReferenceUnwrapper(string helper, Type result) =>
            typeof(BoundMethod).GetMethod(helper, BindingFlags.NonPublic | BindingFlags.Static)!
                .MakeGenericMethod(result)
                .CreateDelegate<Func<object?, ValueTask<object?>>>();

        private static async ValueTask<object?> AwaitTask<T>(object? task) => await ((Task<T>)task!).ConfigureAwait(false);

        private static async ValueTask<object?> AwaitValueTask<T>(object? task) => await ((ValueTask<T>)task!).ConfigureAwait(false);
    }
}
