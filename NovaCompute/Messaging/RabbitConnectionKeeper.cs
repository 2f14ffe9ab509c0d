using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;

namespace NovaCompute.Messaging;

/// <summary>
/// One AMQP connection, created lazily under a lock, as oslo keeps "send" and "listen" connections
/// apart (a blocked publisher must never stall consumers). RabbitMQ.Client's automatic recovery only
/// starts after a first successful connect, so that first connect is retried here, forever, with
/// oslo's back-off (<c>rabbit_retry_interval</c> growing by <c>rabbit_retry_backoff</c>, capped at
/// <c>rabbit_interval_max</c> — without kombu's overshoot past the cap). After that, the client
/// re-opens the connection, its channels, the declared topology and the consumers by itself; this
/// class only says so in the log.
/// </summary>
public sealed class RabbitConnectionKeeper : IAsyncDisposable
{
    private readonly RabbitSettings _settings;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile IConnection? _connection;
    private bool _disposed;

    public RabbitConnectionKeeper(RabbitSettings settings, string purpose, ILogger logger, TimeProvider time)
    {
        _settings = settings;
        _logger = logger;
        _time = time;
        Purpose = purpose;
        ConnectionId = Guid.NewGuid().ToString("N");
        ConnectionName = $"{settings.ConnectionNamePrefix}:{Environment.ProcessId}:{ConnectionId}";
    }

    /// <summary><c>publish</c> or <c>consume</c>.</summary>
    public string Purpose { get; }

    /// <summary>The uuid oslo prints in brackets in its connection log lines.</summary>
    public string ConnectionId { get; }

    /// <summary>The client-provided connection name the broker shows (<c>rabbitmqctl list_connections name</c>).</summary>
    public string ConnectionName { get; }

    private readonly HashSet<Func<Task>> _recovered = [];

    /// <summary>
    /// Raised after the client re-opened the connection and recovered channels, topology and
    /// consumers. A set rather than a multicast delegate: a simulation's ten thousand RPC servers
    /// each subscribe and unsubscribe, which would copy the whole invocation list every time.
    /// </summary>
    public event Func<Task>? Recovered
    {
        add
        {
            ArgumentNullException.ThrowIfNull(value);
            lock (_recovered)
            {
                _recovered.Add(value);
            }
        }
        remove
        {
            ArgumentNullException.ThrowIfNull(value);
            lock (_recovered)
            {
                _recovered.Remove(value);
            }
        }
    }

    public bool IsOpen => _connection?.IsOpen == true;

    /// <summary>The connection, connecting first (with retries until <paramref name="cancellationToken"/> fires) if needed.</summary>
    public async ValueTask<IConnection> GetAsync(CancellationToken cancellationToken)
    {
        if (_connection is { } existing)
        {
            return existing;
        }
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            // The connection outlives the call that happens to open it: its recovery loop and event
            // handlers must not capture that call's ExecutionContext (its logging scope), or every
            // reconnect line minutes later carries that request's id and user.
            return _connection ??= await ExecutionContextFree.Run(() => ConnectWithRetryAsync(cancellationToken)).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<IConnection> ConnectWithRetryAsync(CancellationToken cancellationToken)
    {
        var factory = CreateFactory();
        // The sockets of the attempt under way, so that an attempt given up on can be cut off
        // (recovery's later sockets are not tracked: no attempt is under way then).
        factory.SocketFactory = family =>
        {
            var client = ConnectionFactoryBase.DefaultSocketFactory(family);
            Volatile.Read(ref _attemptSockets)?.Add(client);
            return client;
        };
        var endpoints = Endpoints();
        var brokers = string.Join(", ", endpoints.Select(e => $"{e.HostName}:{e.Port}"));
        if (_settings.TransportUrl.HostsWithAndWithoutCredentials is var (with, without))
        {
            Log.MixedCredentials(_logger, string.Join(", ", with), string.Join(", ", without));
        }
        var delay = TimeSpan.FromSeconds(Math.Max(0, _settings.RabbitRetryInterval));
        var step = TimeSpan.FromSeconds(Math.Max(0, _settings.RabbitRetryBackoff));
        var max = TimeSpan.FromSeconds(Math.Max(_settings.RabbitIntervalMax, _settings.RabbitRetryInterval));
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var connection = await OpenAsync(factory, endpoints, cancellationToken).ConfigureAwait(false);
                Subscribe(connection);
                Log.Connected(_logger, ConnectionId, connection.Endpoint.HostName, connection.Endpoint.Port, Purpose, connection.LocalPort);
                return connection;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is not OutOfMemoryException)
            {
                Log.ConnectFailed(_logger, ConnectionId, brokers, Describe(ex), delay.TotalSeconds);
            }
            await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            delay = delay + step > max ? max : delay + step;
        }
    }

    /// <summary>
    /// One connect attempt, ended by <paramref name="cancellationToken"/> or by
    /// <see cref="AttemptTimeout"/>, whichever comes first. RabbitMQ.Client 7 watches neither its
    /// token nor its handshake timeout while it waits for the broker's <c>connection.start</c>: a
    /// SIGTERM during a connect to a slow broker waited seconds, and a peer that accepts TCP but
    /// never speaks AMQP (a stopped broker node still completes TCP handshakes from its listen
    /// backlog) held the first connect for ever, never trying again or another node. Given up on,
    /// the attempt's sockets are closed, so that it ends at once, and what it opened is closed.
    /// </summary>
    private async Task<IConnection> OpenAsync(ConnectionFactory factory, IReadOnlyList<AmqpTcpEndpoint> endpoints, CancellationToken cancellationToken)
    {
        var sockets = new AttemptSockets();
        Volatile.Write(ref _attemptSockets, sockets);
        var timeout = AttemptTimeout(factory, endpoints.Count);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var attempt = factory.CreateConnectionAsync(endpoints, ConnectionName, deadline.Token);
        try
        {
            return await attempt.WaitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            // Also when the attempt finished in the meantime: a connection nobody will use must not
            // stay open (with its recovery loop), and a failure must be observed.
            sockets.CloseAll();
            _ = CloseAbandonedAsync(attempt);
            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException(
                $"no AMQP handshake within {timeout.TotalSeconds:0} s (the broker accepted the TCP connection but did not answer)");
        }
        finally
        {
            Interlocked.CompareExchange(ref _attemptSockets, null, sockets);
        }
    }

    private AttemptSockets? _attemptSockets;

    /// <summary>The client's TCP connect timeout and its handshake timeout, for each broker of the URL it may try in turn.</summary>
    internal static TimeSpan AttemptTimeout(ConnectionFactory factory, int endpoints) =>
        (factory.RequestedConnectionTimeout + factory.HandshakeContinuationTimeout) * Math.Max(1, endpoints);

    private sealed class AttemptSockets
    {
        private readonly List<ITcpClient> _clients = [];
        private bool _closed;

        public void Add(ITcpClient client)
        {
            lock (_clients)
            {
                if (!_closed)
                {
                    _clients.Add(client);
                    return;
                }
            }
            client.Close();
        }

        public void CloseAll()
        {
            lock (_clients)
            {
                _closed = true;
                foreach (var client in _clients)
                {
                    client.Close();
                }
                _clients.Clear();
            }
        }
    }

    private async Task CloseAbandonedAsync(Task<IConnection> attempt)
    {
        IConnection connection;
        try
        {
            connection = await attempt.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Cancelled or failed after all: there is nothing to close.
            Log.AbandonedConnectEnded(_logger, ConnectionId, ex.Message);
            return;
        }
        if (await CloseAndDisposeAsync(connection).ConfigureAwait(false))
        {
            Log.AbandonedConnectEnded(_logger, ConnectionId, "connected, closed unused");
        }
    }

    /// <summary>Closes (5 s at most) and disposes; a failed close is logged. True when the close went through.</summary>
    private async Task<bool> CloseAndDisposeAsync(IConnection connection)
    {
        await using (connection.ConfigureAwait(false))
        {
            try
            {
                await connection.CloseAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
                return true;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Log.CloseFailed(_logger, ex, ConnectionId);
                return false;
            }
        }
    }

    private static string Describe(Exception ex)
    {
        // BrokerUnreachableException wraps the interesting reason (refused, auth, TLS).
        var inner = ex;
        while (inner.InnerException is not null && inner is RabbitMQ.Client.Exceptions.BrokerUnreachableException or AggregateException)
        {
            inner = inner.InnerException;
        }
        return inner.Message;
    }

    private void Subscribe(IConnection connection)
    {
        connection.ConnectionShutdownAsync += (_, args) =>
        {
            if (args.Initiator != ShutdownInitiator.Application)
            {
                Log.ConnectionLost(_logger, ConnectionId, connection.Endpoint.HostName, connection.Endpoint.Port,
                    $"{args.ReplyCode} {args.ReplyText}".Trim(), _settings.RabbitRetryInterval);
            }
            return Task.CompletedTask;
        };
        connection.RecoverySucceededAsync += async (_, _) =>
        {
            Log.Reconnected(_logger, ConnectionId, connection.Endpoint.HostName, connection.Endpoint.Port, Purpose, connection.LocalPort);
            Func<Task>[] handlers;
            lock (_recovered)
            {
                handlers = [.. _recovered];
            }
            foreach (var handler in handlers)
            {
                try
                {
                    await handler().ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    Log.CallbackFailed(_logger, ex, ConnectionId);
                }
            }
        };
        connection.ConnectionRecoveryErrorAsync += (_, args) =>
        {
            Log.ReconnectFailed(_logger, ConnectionId, connection.Endpoint.HostName, connection.Endpoint.Port,
                Describe(args.Exception), _settings.RabbitRetryInterval);
            return Task.CompletedTask;
        };
        connection.ConnectionBlockedAsync += (_, args) =>
        {
            Log.Blocked(_logger, args.Reason);
            return Task.CompletedTask;
        };
        connection.ConnectionUnblockedAsync += (_, _) =>
        {
            Log.Unblocked(_logger);
            return Task.CompletedTask;
        };
        connection.CallbackExceptionAsync += (_, args) =>
        {
            Log.CallbackFailed(_logger, args.Exception, ConnectionId);
            return Task.CompletedTask;
        };
    }

    internal ConnectionFactory CreateFactory()
    {
        var url = _settings.TransportUrl;
        var credentials = url.Hosts.FirstOrDefault(h => h.UserName is not null);
        var factory = new ConnectionFactory
        {
            UserName = credentials?.UserName ?? "guest",
            Password = credentials?.Password ?? "guest",
            VirtualHost = url.EffectiveVirtualHost,
            RequestedHeartbeat = TimeSpan.FromSeconds(Math.Max(0, _settings.HeartbeatTimeoutThreshold)),
            AutomaticRecoveryEnabled = true,
            TopologyRecoveryEnabled = true,
            NetworkRecoveryInterval = TimeSpan.FromSeconds(Math.Max(1, _settings.RabbitRetryInterval) + _settings.KombuReconnectDelay),
            // rabbit_max_message_size is enforced by the RPC server, not here: a body over the
            // client's limit is a frame error that closes the whole connection before the message
            // could be acknowledged, so the broker redelivers it after the reconnect and it closes
            // the connection again, for ever, while every other call waits (the same for a limit
            // per channel: the message stays unacknowledged). The broker's max_message_size (512 MiB
            // at most) refuses larger bodies at publish; this ceiling just never undercuts it.
            MaxInboundMessageBodySize = 512 * 1024 * 1024,
            ClientProperties = new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["product"] = "nova-compute",
                ["platform"] = ".NET",
                ["information"] = "oslo.messaging-compatible RPC (NovaCompute)",
            },
        };
        // RabbitMQ.Client speaks PLAIN and EXTERNAL; AMQPLAIN (oslo's default) carries the same
        // user and password, and every RabbitMQ accepts PLAIN, so PLAIN stands in for it.
        factory.AuthMechanisms = _settings.RabbitLoginMethod == "EXTERNAL"
            ? [new ExternalMechanismFactory()]
            : [new PlainMechanismFactory()];
        return factory;
    }

    internal IReadOnlyList<AmqpTcpEndpoint> Endpoints()
    {
        var hosts = _settings.TransportUrl.Hosts.Count == 0
            ? [new TransportHost("localhost", null, null, null)]
            : _settings.TransportUrl.Hosts;
        // The client's default resolver shuffles the list on every (re)connect, which is what oslo
        // does for both of its failover strategies when the connection object is created.
        return hosts.Select(h => new AmqpTcpEndpoint(h.Host, h.Port ?? _settings.DefaultPort, TlsOption(h.Host))).ToList();
    }

    private SslOption TlsOption(string host)
    {
        if (!_settings.Ssl)
        {
            return new SslOption { Enabled = false };
        }
        var option = new SslOption
        {
            Enabled = true,
            ServerName = host,
            Version = _settings.SslVersion.ToLowerInvariant().Replace('.', '_') switch
            {
                "tlsv1_2" => SslProtocols.Tls12,
                "tlsv1_3" => SslProtocols.Tls13,
                _ => SslProtocols.None,
            },
        };
        if (_settings.SslCertFile.Length > 0)
        {
            option.Certs = [X509Certificate2.CreateFromPemFile(_settings.SslCertFile, _settings.SslKeyFile)];
        }
        if (_settings.SslCaFile.Length == 0)
        {
            // oslo without ssl_ca_file does not verify the broker at all (CERT_NONE).
            option.AcceptablePolicyErrors = SslPolicyErrors.RemoteCertificateChainErrors |
                SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable;
            return option;
        }
        var ca = X509CertificateLoader.LoadCertificateFromFile(_settings.SslCaFile);
        var enforceHostname = _settings.SslEnforceHostnameVerification;
        option.CertificateValidationCallback = (_, certificate, _, errors) =>
        {
            if (certificate is null)
            {
                return false;
            }
            if (enforceHostname && errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
            {
                return false;
            }
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
        };
        return option;
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            _disposed = true;
            if (_connection is { } connection)
            {
                _connection = null;
                await CloseAndDisposeAsync(connection).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }
}
