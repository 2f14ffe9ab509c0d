using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using NovaCompute.Config;

namespace NovaCompute.Api;

/// <summary>
/// A configuration the API cannot start with (missing or unreadable TLS material): the daemon
/// exits with status 78, as for any other configuration error, so systemd does not restart it.
/// </summary>
public sealed class ApiConfigurationException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The server's settings, read once at start (none of them is mutable).</summary>
internal sealed record ApiSettings
{
    /// <summary>nova's name for the API (<c>WSGIService(name)</c>), used in its log lines.</summary>
    public const string Name = ApiOptions.OsapiCompute;

    public required string ListenHost { get; init; }
    public required int Port { get; init; }
    public bool UseSsl { get; init; }
    public string? SslCertFile { get; init; }
    public string? SslKeyFile { get; init; }
    public string? SslCaFile { get; init; }
    public int TcpKeepidle { get; init; } = 600;
    public int PoolSize { get; init; } = 1000;
    public int MaxHeaderLine { get; init; } = 16384;
    public bool KeepAlive { get; init; } = true;
    public int ClientSocketTimeout { get; init; } = 900;
    public int MaxRequestBodySize { get; init; } = 114688;
    public string LogFormat { get; init; } = ApiOptions.WsgiLogFormat.Default!;

    /// <summary>0 = wait for in-flight requests as long as they take.</summary>
    public int GracefulShutdownTimeout { get; init; } = 60;

    /// <summary>Certificates configured without enabled_ssl_apis naming osapi_compute: served in clear, as nova does.</summary>
    public bool SslFilesIgnored => !UseSsl && (SslCertFile is not null || SslKeyFile is not null);

    public static ApiSettings FromConfig(NovaConfig config) => new()
    {
        ListenHost = config.Get(ApiOptions.OsapiComputeListen) ?? "127.0.0.1",
        Port = config.Get(ApiOptions.OsapiComputeListenPort),
        UseSsl = config.Get(ApiOptions.EnabledSslApis).Contains(ApiOptions.OsapiCompute),
        SslCertFile = NullIfEmpty(config.Get(ApiOptions.SslCertFile)),
        SslKeyFile = NullIfEmpty(config.Get(ApiOptions.SslKeyFile)),
        SslCaFile = NullIfEmpty(config.Get(ApiOptions.SslCaFile)),
        TcpKeepidle = config.Get(ApiOptions.TcpKeepidle),
        PoolSize = config.Get(ApiOptions.DefaultPoolSize),
        MaxHeaderLine = config.Get(ApiOptions.MaxHeaderLine),
        KeepAlive = config.Get(ApiOptions.KeepAlive),
        ClientSocketTimeout = config.Get(ApiOptions.ClientSocketTimeout),
        MaxRequestBodySize = config.Get(ApiOptions.MaxRequestBodySize),
        LogFormat = config.Get(ApiOptions.WsgiLogFormat) ?? ApiOptions.WsgiLogFormat.Default!,
        GracefulShutdownTimeout = config.Get(ServiceOptions.GracefulShutdownTimeout),
    };

    /// <summary>
    /// What would stop the API from starting, for <see cref="ConfigValidator"/>: the TLS material,
    /// with nova's messages (the line <see cref="ApiServer"/> logs when it meets the same problem at start).
    /// </summary>
    public static IEnumerable<ConfigProblem> Validate(NovaConfig config)
    {
        if (!ApiOptions.Enabled(config))
        {
            return [];
        }
        var settings = FromConfig(config);
        try
        {
            settings.LoadTls()?.Certificate.Dispose();
            return [];
        }
        catch (ApiConfigurationException ex)
        {
            return [ConfigProblem.InGroup(ApiOptions.SslCertFile.Group, settings.SslFailure(ex.Message))];
        }
    }

    /// <summary>
    /// nova.wsgi.Server's error when TLS cannot be set up (nova/wsgi.py <c>Server.start</c>); <see cref="ApiServer"/>
    /// logs the same text (event 1703) if the files change between this check and the start.
    /// </summary>
    public string SslFailure(string problem) => $"{problem}. Failed to start {Name} on {ListenHost}:{Port} with SSL support";

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    /// <summary>The address to bind: an IP as given, or the first address a host name resolves to (nova's getaddrinfo()[0]).</summary>
    public IPEndPoint ResolveEndPoint()
    {
        if (IPAddress.TryParse(ListenHost, out var address))
        {
            return new IPEndPoint(address, Port);
        }
        var addresses = Dns.GetHostAddresses(ListenHost);
        if (addresses.Length == 0)
        {
            throw new ApiConfigurationException($"osapi_compute_listen {ListenHost} resolves to no address");
        }
        return new IPEndPoint(addresses[0], Port);
    }

    /// <summary>
    /// The server certificate and, with <c>ssl_ca_file</c>, the client-certificate check; null without TLS.
    /// The checks and their messages are nova's (<c>nova.wsgi.Server.start</c>), in nova's order;
    /// a file that exists but cannot be read or parsed is reported the same way.
    /// </summary>
    /// <exception cref="ApiConfigurationException">The TLS material is missing or unusable.</exception>
    public TlsMaterial? LoadTls()
    {
        if (!UseSsl)
        {
            return null;
        }
        if (SslCertFile is not null && !File.Exists(SslCertFile))
        {
            throw new ApiConfigurationException($"Unable to find cert_file : {SslCertFile}");
        }
        if (SslCaFile is not null && !File.Exists(SslCaFile))
        {
            throw new ApiConfigurationException($"Unable to find ca_file : {SslCaFile}");
        }
        if (SslKeyFile is not null && !File.Exists(SslKeyFile))
        {
            throw new ApiConfigurationException($"Unable to find key_file : {SslKeyFile}");
        }
        if (SslCertFile is null || SslKeyFile is null)
        {
            throw new ApiConfigurationException(
                "When running server in SSL mode, you must specify both a cert_file and key_file option value in your configuration file");
        }
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPemFile(SslCertFile, SslKeyFile);
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new ApiConfigurationException($"Unable to load cert_file {SslCertFile} with key_file {SslKeyFile}: {ex.Message}", ex);
        }
        X509Certificate2Collection? authorities = null;
        if (SslCaFile is not null)
        {
            authorities = [];
            try
            {
                authorities.ImportFromPemFile(SslCaFile);
            }
            catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
            {
                throw new ApiConfigurationException($"Unable to load ca_file {SslCaFile}: {ex.Message}", ex);
            }
            if (authorities.Count == 0)
            {
                throw new ApiConfigurationException($"Unable to load ca_file {SslCaFile}: it holds no PEM certificate");
            }
        }
        return new TlsMaterial(certificate, authorities);
    }
}

/// <summary>The server certificate and the authorities client certificates must chain to (null: none asked for).</summary>
internal sealed record TlsMaterial(X509Certificate2 Certificate, X509Certificate2Collection? ClientAuthorities)
{
    /// <summary>
    /// Python's <c>CERT_REQUIRED</c> with <c>ca_certs</c>: the client's certificate must chain to one
    /// of the configured authorities (and only to them: the system store is not consulted).
    /// </summary>
    public bool ValidateClient(X509Certificate2? certificate, SslPolicyErrors errors)
    {
        if (ClientAuthorities is null)
        {
            return true;
        }
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(ClientAuthorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }
}
