using System.Text.Json;
using System.Text.Json.Nodes;
using NovaCompute.Messaging.Rpc;

namespace NovaCompute.Conductor;

/// <summary>
/// nova's <c>conductor/rpcapi.py</c> <c>ConductorAPI</c> as nova-compute uses it through the object
/// indirection API (nova/objects/base.py <c>NovaObject.indirection_api</c>): <c>object_class_action_versions</c> and <c>object_action</c> on
/// topic <c>conductor</c>, RPC version 3.0, plus <c>baserpc</c>'s <c>ping</c> (namespace <c>baseapi</c>,
/// version 1.0) for <c>wait_until_ready</c>. Every call carries the one admin context this process
/// made at start, as nova's service keeps the context of its start for every heartbeat.
/// </summary>
internal sealed class ConductorApi
{
    public const string Topic = "conductor";

    /// <summary>nova/conductor/rpcapi.py <c>ConductorAPI.VERSION_ALIASES</c>: 3.0 since Liberty, the only major.</summary>
    public const string RpcVersion = "3.0";

    /// <summary>baserpc.py's ping argument: the string nova sends and the conductor echoes.</summary>
    public const string PingArgument = "1.21 GigaWatts";

    /// <summary>
    /// ovo's <c>obj_tree_get_versions('Service')</c> of nova 26 (Zed): what nova-compute sends as
    /// <c>object_versions</c> for every Service call (captured, reference/conductor/run2).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> ServiceVersions = new Dictionary<string, string>
    {
        ["Service"] = "1.22",
        ["ComputeNode"] = "1.19",
        ["HVSpec"] = "1.2",
        ["PciDevicePoolList"] = "1.1",
        ["PciDevicePool"] = "1.1",
    };

    /// <summary>The tree of <c>ServiceList</c> 1.19.</summary>
    public static readonly IReadOnlyDictionary<string, string> ServiceListVersions = new Dictionary<string, string>
    {
        ["ServiceList"] = "1.19",
        ["Service"] = "1.22",
        ["ComputeNode"] = "1.19",
        ["HVSpec"] = "1.2",
        ["PciDevicePoolList"] = "1.1",
        ["PciDevicePool"] = "1.1",
    };

    /// <summary>The tree of <c>ComputeNode</c> 1.19.</summary>
    public static readonly IReadOnlyDictionary<string, string> ComputeNodeVersions = new Dictionary<string, string>
    {
        ["ComputeNode"] = "1.19",
        ["HVSpec"] = "1.2",
        ["PciDevicePoolList"] = "1.1",
        ["PciDevicePool"] = "1.1",
    };

    /// <summary>The tree of <c>ComputeNodeList</c> 1.17.</summary>
    public static readonly IReadOnlyDictionary<string, string> ComputeNodeListVersions = new Dictionary<string, string>
    {
        ["ComputeNodeList"] = "1.17",
        ["ComputeNode"] = "1.19",
        ["HVSpec"] = "1.2",
        ["PciDevicePoolList"] = "1.1",
        ["PciDevicePool"] = "1.1",
    };

    private static readonly JsonObject NoKwargs = [];

    private readonly RpcClient _client;
    private readonly RpcClient _ping;

    /// <param name="client">A client for any target; it is re-aimed at topic <c>conductor</c>, version 3.0.</param>
    /// <param name="context">The context every call carries (nova: the admin context made at start).</param>
    public ConductorApi(RpcClient client, RequestContext context)
    {
        _client = client.Prepare(topic: Topic, version: RpcVersion);
        _ping = _client.Prepare(@namespace: "baseapi", version: "1.0");
        Context = context;
    }

    public RequestContext Context { get; }

    /// <summary><c>BaseAPI.ping</c> with a timeout of its own (wait_until_ready's attempts); the conductor's answer.</summary>
    /// <exception cref="MessagingTimeoutException">No answer within <paramref name="timeout"/>.</exception>
    /// <exception cref="MessageUndeliverableException">No queue takes topic <c>conductor</c>: no conductor ever ran on this vhost.</exception>
    public Task<JsonElement> PingAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        _ping.Prepare(timeout: timeout).CallAsync(Context, "ping", new Dictionary<string, object?> { ["arg"] = PingArgument }, cancellationToken);

    /// <summary>A remotable class method (nova's <c>object_class_action_versions</c>); the raw result.</summary>
    /// <exception cref="RemoteException">The method failed in the conductor (class and module as nova sent them).</exception>
    public Task<JsonElement> ObjectClassActionAsync(string objectName, string method, IReadOnlyDictionary<string, string> objectVersions,
        IReadOnlyList<object?> args, CancellationToken cancellationToken)
    {
        var versions = new JsonObject();
        foreach (var (name, version) in objectVersions)
        {
            versions[name] = version;
        }
        return _client.CallAsync(Context, "object_class_action_versions", new Dictionary<string, object?>
        {
            ["objname"] = objectName,
            ["objmethod"] = method,
            ["object_versions"] = versions,
            ["args"] = new JsonArray([.. args.Select(Argument)]),
            ["kwargs"] = NoKwargs.DeepClone(),
        }, cancellationToken);
    }

    /// <summary>
    /// A remotable instance method (nova's <c>object_action</c>): the object's primitive with its
    /// pending changes goes, <c>[updates, result]</c> comes back; <c>updates</c> holds every field
    /// that changed during the call (and <c>obj_what_changed</c>).
    /// </summary>
    /// <exception cref="RemoteException">The method failed in the conductor.</exception>
    /// <exception cref="ConductorReplyException">The reply is not <c>[updates, result]</c>.</exception>
    public async Task<(JsonObject Updates, JsonElement Result)> ObjectActionAsync(JsonObject instance, string method, CancellationToken cancellationToken)
    {
        var reply = await _client.CallAsync(Context, "object_action", new Dictionary<string, object?>
        {
            ["objinst"] = instance,
            ["objmethod"] = method,
            ["args"] = new JsonArray(),
            ["kwargs"] = NoKwargs.DeepClone(),
        }, cancellationToken).ConfigureAwait(false);
        if (reply.ValueKind != JsonValueKind.Array || reply.GetArrayLength() != 2 || reply[0].ValueKind != JsonValueKind.Object)
        {
            throw new ConductorReplyException($"object_action {method} answered {Abbreviate(reply.GetRawText())}, not [updates, result]");
        }
        return (JsonNode.Parse(reply[0].GetRawText())!.AsObject(), reply[1]);
    }

    private static JsonNode? Argument(object? value) => value switch
    {
        null => null,
        string s => JsonValue.Create(s),
        int i => JsonValue.Create(i),
        bool b => JsonValue.Create(b),
        JsonNode node => node.DeepClone(),
        _ => throw new ArgumentException($"a {value.GetType().Name} cannot be a conductor call argument"),
    };

    internal static string Abbreviate(string text) => text.Length <= 200 ? text : text[..200] + "...";
}

/// <summary>The conductor answered something this daemon cannot use (a shape or an object version it does not know).</summary>
internal sealed class ConductorReplyException(string message) : Exception(message);
