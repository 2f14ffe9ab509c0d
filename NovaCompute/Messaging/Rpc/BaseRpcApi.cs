namespace NovaCompute.Messaging.Rpc;

/// <summary>
/// nova's <c>BaseRPCAPI</c> (<c>nova/baserpc.py</c>), served by every nova service in namespace
/// <c>baseapi</c>: <c>ping</c> (conductor's readiness probe, also handy for operators) and
/// <c>get_backdoor_port</c>.
/// </summary>
[RpcEndpoint(Namespace = "baseapi", Version = "1.1")]
public sealed class BaseRpcApi(string serviceName, int? backdoorPort = null) : IRpcEndpoint
{
    /// <summary>Answers <c>{"service": &lt;service name&gt;, "arg": &lt;arg&gt;}</c>, echoing any JSON.</summary>
    [RpcMethod("ping")]
    public PingReply Ping(System.Text.Json.JsonElement arg) => new(serviceName, arg);

    /// <summary>The eventlet backdoor port in nova; this daemon has no backdoor shell, so null unless configured.</summary>
    [RpcMethod("get_backdoor_port")]
    public int? GetBackdoorPort() => backdoorPort;

    public sealed record PingReply(string Service, System.Text.Json.JsonElement Arg);
}

/// <summary>oslo's optional ping endpoint (<c>rpc_ping_enabled</c>): <c>oslo_rpc_server_ping</c> answers <c>pong</c>.</summary>
[RpcEndpoint]
public sealed class OsloPingEndpoint : IRpcEndpoint
{
    [RpcMethod("oslo_rpc_server_ping")]
    public string Ping() => "pong";
}
