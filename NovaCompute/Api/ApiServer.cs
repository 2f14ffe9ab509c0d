using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace NovaCompute.Api;

/// <summary>
/// nova's <c>WSGIService("osapi_compute")</c> and <c>nova.wsgi.Server</c> on Kestrel (nova/service.py, nova/wsgi.py).
/// <para>
/// Why a <see cref="WebApplication"/> owned by this hosted service rather than Kestrel on the daemon's
/// own host: the daemon's host is a plain generic host (systemd lifetime, workers started in nova's
/// order); turning it into a web host would make every worker's life depend on ASP.NET's. A private
/// <see cref="WebApplication"/> built with <see cref="WebApplication.CreateEmptyBuilder"/> (no
/// appsettings, no ASPNETCORE_ variables, no default endpoints) carries only Kestrel, and logs through
/// the daemon's own logger factory. Starting it in <see cref="StartAsync"/> means READY=1 is sent only
/// once the socket listens; it is registered last so it is stopped first.
/// </para>
/// <para>
/// Stop, unlike nova's (which kills in-flight requests): the listening socket closes at once, so new
/// connections are refused; requests in flight run to their end and get their answer; idle
/// keep-alive connections are closed; whatever still runs when <c>graceful_shutdown_timeout</c> ends
/// is aborted and logged.
/// </para>
/// </summary>
internal sealed partial class ApiServer(ApiSettings settings, ApiPipeline pipeline, ILoggerFactory loggerFactory, ILogger<ApiServer> logger)
    : IHostedService, IAsyncDisposable
{
    private WebApplication? _app;

    /// <summary>Where the server listens once started (the real port when 0 was configured).</summary>
    public IPEndPoint? EndPoint { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var endPoint = settings.ResolveEndPoint();
        TlsMaterial? tls;
        try
        {
            tls = settings.LoadTls();
        }
        catch (ApiConfigurationException ex)
        {
            Log.SslFailed(logger, ex.Message, ApiSettings.Name, settings.ListenHost, settings.Port);
            throw;
        }
        if (settings.SslFilesIgnored)
        {
            Log.SslFilesIgnored(logger);
        }

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "nova-compute" });
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(kestrel => ConfigureKestrel(kestrel, endPoint, tls));
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new ForwardingLoggerProvider(loggerFactory));
        // Kestrel's own debug chatter (every connection) is noise next to the access log.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // The daemon's SignalLifetime owns the signals; the inner host must not react to SIGTERM itself.
        builder.Services.AddSingleton<IHostLifetime, OwnedLifetime>();
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = settings.GracefulShutdownTimeout > 0
            ? TimeSpan.FromSeconds(settings.GracefulShutdownTimeout)
            : Timeout.InfiniteTimeSpan);
        ApiPipeline.AddServices(builder.Services);
        var app = builder.Build();
        pipeline.Configure(app);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            Log.CouldNotBind(logger, ex, settings.ListenHost, settings.Port);
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        _app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        var port = address is not null && Uri.TryCreate(address, UriKind.Absolute, out var uri) ? uri.Port : endPoint.Port;
        EndPoint = new IPEndPoint(endPoint.Address, port);
        Log.Listening(logger, ApiSettings.Name, endPoint.Address.ToString(), port, tls is null ? "http" : "https",
            tls?.ClientAuthorities is null ? "" : ", client certificates required");
    }

    private void ConfigureKestrel(KestrelServerOptions kestrel, IPEndPoint endPoint, TlsMaterial? tls)
    {
        kestrel.AddServerHeader = false;
        var limits = kestrel.Limits;
        limits.MaxRequestBodySize = settings.MaxRequestBodySize;
        // eventlet's limits: 100 headers of at most max_header_line each (checked per line by the pipeline).
        limits.MaxRequestHeaderCount = 100;
        limits.MaxRequestHeadersTotalSize = Math.Max(32 * 1024, settings.MaxHeaderLine > 0 ? settings.MaxHeaderLine * 4 : 0);
        // client_socket_timeout: how long a connection may sit idle, between or inside requests; 0 is forever.
        var idle = settings.ClientSocketTimeout > 0 ? TimeSpan.FromSeconds(settings.ClientSocketTimeout) : TimeSpan.MaxValue;
        limits.KeepAliveTimeout = idle;
        limits.RequestHeadersTimeout = idle;
        kestrel.Listen(endPoint, listen =>
        {
            listen.Protocols = HttpProtocols.Http1;
            listen.Use(next => connection => OnConnectionAsync(next, connection));
            if (tls is not null)
            {
                listen.UseHttps(new HttpsConnectionAdapterOptions
                {
                    ServerCertificate = tls.Certificate,
                    ClientCertificateMode = tls.ClientAuthorities is null ? ClientCertificateMode.NoCertificate : ClientCertificateMode.RequireCertificate,
                    ClientCertificateValidation = (certificate, _, errors) => tls.ValidateClient(certificate, errors),
                    HandshakeTimeout = TimeSpan.FromSeconds(Math.Min(settings.ClientSocketTimeout > 0 ? settings.ClientSocketTimeout : 60, 60)),
                });
            }
        });
    }

    /// <summary>nova's socket options, on every accepted connection: SO_KEEPALIVE and TCP_KEEPIDLE = tcp_keepidle.</summary>
    private Task OnConnectionAsync(ConnectionDelegate next, ConnectionContext connection)
    {
        if (connection.Features.Get<IConnectionSocketFeature>()?.Socket is { } socket)
        {
            try
            {
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
                if (settings.TcpKeepidle > 0)
                {
                    socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, settings.TcpKeepidle);
                }
            }
            catch (SocketException ex)
            {
                Log.KeepAliveFailed(logger, ex.Message);
            }
        }
        return next(connection);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not { } app)
        {
            return;
        }
        Log.Stopping(logger, pipeline.InFlight);
        await app.StopAsync(cancellationToken).ConfigureAwait(false);
        if (pipeline.InFlight > 0)
        {
            Log.Abandoned(logger, pipeline.InFlight);
        }
        Log.Stopped(logger);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync().ConfigureAwait(false);
            _app = null;
        }
    }

    /// <summary>A lifetime that waits for nothing and listens to no signal: this service starts and stops the server.</summary>
    private sealed class OwnedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>Kestrel's categories logged through the daemon's factory (oslo format, journald, SIGHUP debug).</summary>
    private sealed class ForwardingLoggerProvider(ILoggerFactory factory) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => factory.CreateLogger(categoryName);

        public void Dispose()
        {
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1701, Level = LogLevel.Information, Message = "{Name} listening on {Host}:{Port} ({Scheme}{ClientCertificates})")]
        public static partial void Listening(ILogger logger, string name, string host, int port, string scheme, string clientCertificates);

        [LoggerMessage(EventId = 1702, Level = LogLevel.Error, Message = "Could not bind to {Host}:{Port}")]
        public static partial void CouldNotBind(ILogger logger, Exception exception, string host, int port);

        [LoggerMessage(EventId = 1703, Level = LogLevel.Error, Message = "{Problem}. Failed to start {Name} on {Host}:{Port} with SSL support")]
        public static partial void SslFailed(ILogger logger, string problem, string name, string host, int port);

        [LoggerMessage(EventId = 1704, Level = LogLevel.Warning,
            Message = "[wsgi] ssl_cert_file/ssl_key_file are set but enabled_ssl_apis does not include osapi_compute: the API is served without TLS")]
        public static partial void SslFilesIgnored(ILogger logger);

        [LoggerMessage(EventId = 1705, Level = LogLevel.Information, Message = "Stopping WSGI server. Refusing new connections; {InFlight} request(s) in flight")]
        public static partial void Stopping(ILogger logger, int inFlight);

        [LoggerMessage(EventId = 1706, Level = LogLevel.Information, Message = "WSGI server has stopped.")]
        public static partial void Stopped(ILogger logger);

        [LoggerMessage(EventId = 1707, Level = LogLevel.Warning, Message = "graceful_shutdown_timeout reached: {InFlight} request(s) still in flight were aborted")]
        public static partial void Abandoned(ILogger logger, int inFlight);

        [LoggerMessage(EventId = 1708, Level = LogLevel.Warning, Message = "Could not set TCP keepalive on a client connection: {Error}")]
        public static partial void KeepAliveFailed(ILogger logger, string error);
    }
}
