using System.Text.Json;

namespace NovaCompute.Messaging.Rpc;

/// <summary>oslo's <c>Target</c> as a client addresses it.</summary>
public sealed record RpcTarget
{
    public required string Topic { get; init; }

    /// <summary>A specific server (queue <c>topic.server</c>); null for any server on the topic.</summary>
    public string? Server { get; init; }

    public string? Namespace { get; init; }

    /// <summary>The interface version requested (sent as <c>version</c>).</summary>
    public string? Version { get; init; }

    /// <summary>Casts go to every server's fanout queue.</summary>
    public bool Fanout { get; init; }

    /// <summary>The exchange; null for the transport's <c>control_exchange</c>.</summary>
    public string? Exchange { get; init; }
}

/// <summary>Client-side options (<c>rpc_response_timeout</c>).</summary>
public sealed record RpcClientSettings
{
    /// <summary><c>rpc_response_timeout</c>: how long a call waits for its reply unless prepared otherwise.</summary>
    public TimeSpan RpcResponseTimeout { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// oslo's <c>RPCClient</c>: <see cref="CallAsync{T}"/>, <see cref="CastAsync"/> and
/// <see cref="Prepare"/>. All clients of a process share one publish connection, its channels and
/// one reply queue with a correlation table, so thousands of calls can wait at once without ever
/// queueing for a connection. Calls are published mandatory: a call no queue would take fails at
/// once (<see cref="MessageUndeliverableException"/>) instead of after the whole timeout.
/// </summary>
public sealed class RpcClient
{
    private readonly RpcReplyWaiter _waiter;
    private readonly RpcClientSettings _settings;
    private readonly IRpcEntitySerializer _serializer;
    private readonly TimeProvider _time;

    public RpcClient(RpcReplyWaiter waiter, RpcTarget target, RpcClientSettings? settings = null, IRpcEntitySerializer? serializer = null,
        TimeSpan? timeout = null, TimeSpan? callMonitorTimeout = null, string? versionCap = null)
    {
        _waiter = waiter;
        Target = target;
        _settings = settings ?? new RpcClientSettings();
        _serializer = serializer ?? JsonRpcEntitySerializer.Instance;
        _time = waiter.Transport.Time;
        Timeout = timeout;
        CallMonitorTimeout = callMonitorTimeout;
        VersionCap = versionCap;
        if (target.Version is not null)
        {
            RpcVersion.Parse(target.Version);
        }
    }

    public RpcTarget Target { get; }

    /// <summary>This client's call timeout; null means <c>rpc_response_timeout</c>.</summary>
    public TimeSpan? Timeout { get; }

    /// <summary>When set, the server sends heartbeats and the call fails if none arrives within this time.</summary>
    public TimeSpan? CallMonitorTimeout { get; }

    /// <summary>Highest version this client may send (<c>[upgrade_levels]</c>).</summary>
    public string? VersionCap { get; }

    /// <summary>oslo's <c>prepare()</c>: a client for the same target with some parts overridden.</summary>
    public RpcClient Prepare(string? server = null, string? version = null, TimeSpan? timeout = null, string? @namespace = null,
        bool? fanout = null, TimeSpan? callMonitorTimeout = null, string? topic = null, string? exchange = null) =>
        new(_waiter, Target with
        {
            Server = server ?? Target.Server,
            Version = version ?? Target.Version,
            Namespace = @namespace ?? Target.Namespace,
            Fanout = fanout ?? Target.Fanout,
            Topic = topic ?? Target.Topic,
            Exchange = exchange ?? Target.Exchange,
        }, _settings, _serializer, timeout ?? Timeout, callMonitorTimeout ?? CallMonitorTimeout, VersionCap);

    /// <summary>Calls <paramref name="method"/> and returns its result as <typeparamref name="T"/>.</summary>
    /// <exception cref="MessagingTimeoutException">No reply in time.</exception>
    /// <exception cref="RemoteException">The method failed on the server (class and module as the server sent them).</exception>
    public async Task<T?> CallAsync<T>(RequestContext context, string method, IReadOnlyDictionary<string, object?>? args = null,
        CancellationToken cancellationToken = default)
    {
        using var reply = await CallCoreAsync(context, method, args, cancellationToken).ConfigureAwait(false);
        return (T?)_serializer.Deserialize(context, reply.View.Result.ValueKind == JsonValueKind.Undefined ? Null : reply.View.Result, typeof(T));
    }

    /// <summary>Calls <paramref name="method"/> and returns its result as detached JSON.</summary>
    public async Task<JsonElement> CallAsync(RequestContext context, string method, IReadOnlyDictionary<string, object?>? args = null,
        CancellationToken cancellationToken = default)
    {
        using var reply = await CallCoreAsync(context, method, args, cancellationToken).ConfigureAwait(false);
        return reply.View.Result.ValueKind == JsonValueKind.Undefined ? Null : reply.View.Result.Clone();
    }

    private static readonly JsonElement Null = JsonDocument.Parse("null").RootElement;

    private async Task<Reply> CallCoreAsync(RequestContext context, string method, IReadOnlyDictionary<string, object?>? args,
        CancellationToken cancellationToken)
    {
        if (Target.Fanout)
        {
            throw new InvalidOperationException($"A call cannot be used with fanout:{Describe(Target)}");
        }
        CheckVersionCap();
        var replyQueue = await _waiter.EnsureReplyQueueAsync(cancellationToken).ConfigureAwait(false);
        var msgId = RpcEnvelope.NewId();
        var timeout = Timeout ?? _settings.RpcResponseTimeout;
        var monitorTimeout = CallMonitorTimeout;

        using var overall = new CancellationTokenSource(timeout, _time);
        using var monitor = monitorTimeout is { } m ? new CancellationTokenSource(m, _time) : null;
        // Most calls have neither a caller token nor a call monitor: then the timeout alone ends the
        // wait, without a linked source (and its registrations) per call.
        using var linked = monitor is null
            ? cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, overall.Token) : null
            : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, overall.Token, monitor.Token);
        var callToken = linked?.Token ?? overall.Token;
        Action? onHeartbeat = monitor is null ? null : () =>
        {
            try
            {
                monitor.CancelAfter(monitorTimeout!.Value);
            }
            catch (ObjectDisposedException)
            {
                // The call already ended.
            }
        };
        var pending = _waiter.Register(msgId, onHeartbeat);
        try
        {
            var body = RpcMessages.Request(new RpcMessages.RequestDraft(method, args, Target.Namespace, Target.Version,
                new RpcMessages.CallFields(msgId, replyQueue, monitorTimeout is { } mt ? (int)Math.Ceiling(mt.TotalSeconds) : null),
                RpcEnvelope.NewId(), context, _serializer));
            var (exchange, routingKey, declare) = Address();
            var outcome = await _waiter.Transport.Publisher.PublishAsync(
                new OutgoingMessage(exchange, routingKey, body, Mandatory: true, Expiration: RpcMessages.Expiration(timeout), Declare: declare),
                callToken).ConfigureAwait(false);
            if (outcome == PublishOutcome.Returned)
            {
                throw new MessageUndeliverableException(exchange, routingKey);
            }
            var received = await pending.Reply.Task.WaitAsync(callToken).ConfigureAwait(false);
            if (received.View.Failure is { } failure)
            {
                received.Message.Dispose();
                throw RpcFailure.Deserialize(failure);
            }
            return new Reply(received);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new MessagingTimeoutException(msgId);
        }
        finally
        {
            _waiter.Unregister(msgId);
        }
    }

    /// <summary>Sends <paramref name="method"/> without waiting for (or getting) a result; to every server when the target is fanout.</summary>
    public async Task CastAsync(RequestContext context, string method, IReadOnlyDictionary<string, object?>? args = null,
        CancellationToken cancellationToken = default)
    {
        CheckVersionCap();
        var body = RpcMessages.Request(new RpcMessages.RequestDraft(method, args, Target.Namespace, Target.Version, null,
            RpcEnvelope.NewId(), context, _serializer));
        var (exchange, routingKey, declare) = Address();
        await _waiter.Transport.Publisher.PublishAsync(new OutgoingMessage(exchange, routingKey, body, Declare: declare), cancellationToken)
            .ConfigureAwait(false);
    }

    private (string Exchange, string RoutingKey, ExchangeDeclaration Declare) Address()
    {
        var rabbit = _waiter.Transport.Settings;
        if (Target.Fanout)
        {
            var fanout = $"{Target.Topic}_fanout";
            return (fanout, "", new ExchangeDeclaration(fanout, "fanout", Durable: false, AutoDelete: true));
        }
        var exchange = Target.Exchange ?? rabbit.ControlExchange;
        var key = Target.Server is null ? Target.Topic : $"{Target.Topic}.{Target.Server}";
        return (exchange, key, new ExchangeDeclaration(exchange, "topic", rabbit.TopicDurable, rabbit.AmqpAutoDelete));
    }

    private void CheckVersionCap()
    {
        if (VersionCap is null || Target.Version is null)
        {
            return;
        }
        if (!RpcVersion.IsCompatible(RpcVersion.Parse(VersionCap), RpcVersion.Parse(Target.Version)))
        {
            throw new InvalidOperationException(
                $"Requested message version, {Target.Version} is incompatible.  It needs to be equal in major version and less than or equal in minor version as the specified version cap {VersionCap}.");
        }
    }

    private static string Describe(RpcTarget t) =>
        $"<Target topic={t.Topic}{(t.Server is null ? "" : ", server=" + t.Server)}{(t.Namespace is null ? "" : ", namespace=" + t.Namespace)}{(t.Version is null ? "" : ", version=" + t.Version)}, fanout=True>";

    private sealed class Reply(RpcReplyWaiter.ReceivedReply received) : IDisposable
    {
        public RpcMessages.ReplyView View => received.View;

        public void Dispose() => received.Message.Dispose();
    }
}
