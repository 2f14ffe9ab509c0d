using NovaCompute.Config;

namespace NovaCompute;

/// <summary>Options read by the service itself (nova/conf/netconf.py, base.py; oslo.service).</summary>
public static class ServiceOptions
{
    public static readonly HostDomainOpt Host = new("host", DefaultHost())
    {
        SampleDefault = "<current_hostname>",
        Help = """
            Hostname, FQDN or IP address of this host.

            Used as:

            * the oslo.messaging queue name for nova-compute worker
            * we use this value for the binding_host sent to neutron. This means if you use
              a neutron agent, it should have the same value for host.
            * cinder host attachment information

            Must be valid within AMQP key.

            Possible values:

            * String with hostname, FQDN or IP address. Default is hostname of this host.
            """,
    };

    public static readonly StrOpt TempDir = new("tempdir", null)
    {
        Help = "Explicitly specify the temporary working directory.",
    };

    public static readonly IntOpt GracefulShutdownTimeout = new("graceful_shutdown_timeout", 60)
    {
        Namespace = "oslo.service.service",
        Help = "Specify a timeout after which a gracefully shutdown server will exit. Zero value means endless wait.",
    };

    public static readonly BoolOpt LogOptions = new("log_options", true)
    {
        Namespace = "oslo.service.service",
        Help = "Enables or disables logging values of all registered options when starting a service (at DEBUG level).",
    };

    public static IReadOnlyList<Opt> All { get; } = [Host, TempDir, GracefulShutdownTimeout, LogOptions];

    /// <summary>The OS host name, as Python's <c>socket.gethostname()</c> gives it (not the FQDN).</summary>
    private static string DefaultHost()
    {
        try
        {
            return System.Net.Dns.GetHostName();
        }
        catch (System.Net.Sockets.SocketException)
        {
            return "localhost";
        }
    }
}
