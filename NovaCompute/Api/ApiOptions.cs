using NovaCompute.Config;

namespace NovaCompute.Api;

/// <summary>
/// Options of the os-services API: nova's own (nova/conf/service.py, nova/conf/wsgi.py) with their
/// names, groups and meanings, plus <c>[api] admin_token</c>, which stands in for Keystone.
/// Only <c>admin_token</c> is mutable; the listener is built once at start.
/// </summary>
public static class ApiOptions
{
    public const string OsapiCompute = "osapi_compute";
    public const string Metadata = "metadata";
    private const string Wsgi = "wsgi";

    private static readonly IReadOnlyList<DeprecatedOpt> AlsoInDefault = [new(ConfigGroups.Default, null)];

    public static readonly ListOpt EnabledApis = new("enabled_apis", [])
    {
        ItemChoices = [OsapiCompute, Metadata],
        Help = """
            List of APIs to be enabled by default.

            Unlike nova-api, this daemon serves no API unless told to: add osapi_compute
            to serve the os-services part of the compute API (service list, enable,
            disable, force down, delete), the version documents, /healthcheck and the
            daemon status. metadata is accepted for compatibility with a shared nova.conf
            and ignored with a warning.
            """,
    };

    public static readonly ListOpt EnabledSslApis = new("enabled_ssl_apis", [])
    {
        Help = """
            List of APIs with enabled SSL.

            Nova provides SSL support for the API servers. enabled_ssl_apis option
            allows configuring the SSL support.
            """,
    };

    public static readonly HostAddressOpt OsapiComputeListen = new("osapi_compute_listen", "127.0.0.1")
    {
        Help = """
            IP address on which the OpenStack API will listen.

            The OpenStack API service listens on this IP address for incoming
            requests. Unlike nova-api (0.0.0.0), this daemon listens on the loopback
            address unless told otherwise.
            """,
    };

    public static readonly PortOpt OsapiComputeListenPort = new("osapi_compute_listen_port", 8774)
    {
        Help = """
            Port on which the OpenStack API will listen.

            The OpenStack API service listens on this port number for incoming
            requests.
            """,
    };

    public static readonly StrOpt WsgiLogFormat = new("wsgi_log_format",
        "%(client_ip)s \"%(request_line)s\" status: %(status_code)s len: %(body_length)s time: %(wall_seconds).7f")
    {
        Group = Wsgi,
        DeprecatedNames = AlsoInDefault,
        Help = """
            It represents a python format string that is used as the template to generate
            log lines. The following values can be formatted into it: client_ip,
            date_time, request_line, status_code, body_length, wall_seconds.

            Possible values:

            * '%(client_ip)s "%(request_line)s" status: %(status_code)s '
              'len: %(body_length)s time: %(wall_seconds).7f' (default)
            * Any formatted string formed by specific values.
            """,
        Validator = AccessLogFormat.Validate,
    };

    public static readonly StrOpt SslCaFile = new("ssl_ca_file", null)
    {
        Group = Wsgi,
        DeprecatedNames = AlsoInDefault,
        Help = """
            This option allows setting path to the CA certificate file that should be used
            to verify connecting clients.

            Possible values:

            * String representing path to the CA certificate file.

            Related options:

            * enabled_ssl_apis
            """,
    };

    public static readonly StrOpt SslCertFile = new("ssl_cert_file", null)
    {
        Group = Wsgi,
        DeprecatedNames = AlsoInDefault,
        Help = """
            This option allows setting path to the SSL certificate of API server.

            Possible values:

            * String representing path to the SSL certificate.

            Related options:

            * enabled_ssl_apis
            """,
    };

    public static readonly StrOpt SslKeyFile = new("ssl_key_file", null)
    {
        Group = Wsgi,
        DeprecatedNames = AlsoInDefault,
        Help = """
            This option specifies the path to the file where SSL private key of API
            server is stored when SSL is in effect.

            Possible values:

            * String representing path to the SSL private key.

            Related options:

            * enabled_ssl_apis
            """,
    };

    public static readonly IntOpt TcpKeepidle = new("tcp_keepidle", 600)
    {
        Group = Wsgi,
        Min = 0,
        DeprecatedNames = AlsoInDefault,
        Help = """
            This option sets the value of TCP_KEEPIDLE in seconds for each server socket.
            It specifies the duration of time to keep connection active. TCP generates a
            KEEPALIVE transmission for an application that requests to keep connection
            active. Not supported on OS X.

            Related options:

            * keep_alive
            """,
    };

    public static readonly IntOpt DefaultPoolSize = new("default_pool_size", 1000)
    {
        Group = Wsgi,
        Min = 0,
        DeprecatedNames = [new(ConfigGroups.Default, null), new(ConfigGroups.Default, "wsgi_default_pool_size")],
        Help = """
            This option specifies the size of the pool of greenthreads used by wsgi.
            It is possible to limit the number of concurrent connections using this
            option.

            In this daemon it is the number of requests handled at the same time
            (unlike nova, where it never takes effect); further requests wait for a
            free slot. 0 means no limit.
            """,
    };

    public static readonly IntOpt MaxHeaderLine = new("max_header_line", 16384)
    {
        Group = Wsgi,
        Min = 0,
        DeprecatedNames = AlsoInDefault,
        Help = """
            This option specifies the maximum line size of message headers to be accepted.
            max_header_line may need to be increased when using large tokens (typically
            those generated by the Keystone v3 API with big service catalogs).

            Since TCP is a stream based protocol, in order to reuse a connection, the HTTP
            has to have a way to indicate the end of the previous response and beginning
            of the next. Hence, in a keep_alive case, all messages must have a
            self-defined message length.
            """,
    };

    public static readonly BoolOpt KeepAlive = new("keep_alive", true)
    {
        Group = Wsgi,
        DeprecatedNames = [new(ConfigGroups.Default, null), new(ConfigGroups.Default, "wsgi_keep_alive")],
        Help = """
            This option allows using the same TCP connection to send and receive multiple
            HTTP requests/responses, as opposed to opening a new one for every single
            request/response pair. HTTP keep-alive indicates HTTP connection reuse.

            Possible values:

            * True : reuse HTTP connection.
            * False : closes the client socket connection explicitly.

            Related options:

            * tcp_keepidle
            """,
    };

    public static readonly IntOpt ClientSocketTimeout = new("client_socket_timeout", 900)
    {
        Group = Wsgi,
        Min = 0,
        DeprecatedNames = AlsoInDefault,
        Help = """
            This option specifies the timeout for client connections' socket operations.
            If an incoming connection is idle for this number of seconds it will be
            closed. It indicates timeout on individual read/writes on the socket
            connection. To wait forever set to 0.
            """,
    };

    public static readonly IntOpt MaxRequestBodySize = new("max_request_body_size", 114688)
    {
        Group = "oslo_middleware",
        Namespace = "oslo.middleware",
        DeprecatedNames = [new(ConfigGroups.Default, "osapi_max_request_body_size"), new(ConfigGroups.Default, "max_request_body_size")],
        Help = "The maximum body size for each  request, in bytes.",
    };

    public static readonly StrOpt AdminToken = new("admin_token", null)
    {
        Group = "api",
        Secret = true,
        Mutable = true,
        Help = """
            Secret that authorizes changes through the os-services API.

            There is no Keystone in front of this daemon: reading (service list,
            versions, /healthcheck, status) is open to whoever can reach
            osapi_compute_listen, while PUT and DELETE need an X-Auth-Token header equal
            to this value. When it is not set, every change is refused with 403.
            Use a long random value and keep the configuration file unreadable to others.
            """,
    };

    public static IReadOnlyList<Opt> All { get; } =
    [
        EnabledApis, EnabledSslApis, OsapiComputeListen, OsapiComputeListenPort,
        WsgiLogFormat, SslCaFile, SslCertFile, SslKeyFile, TcpKeepidle, DefaultPoolSize, MaxHeaderLine, KeepAlive,
        ClientSocketTimeout, MaxRequestBodySize, AdminToken,
    ];

    /// <summary>Whether the daemon serves the compute API at all.</summary>
    public static bool Enabled(NovaConfig config) => config.Get(EnabledApis).Contains(OsapiCompute);
}
