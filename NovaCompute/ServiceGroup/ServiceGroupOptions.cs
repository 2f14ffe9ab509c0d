using NovaCompute.Config;

namespace NovaCompute.ServiceGroup;

/// <summary>
/// Options of the service group (nova/conf/service.py, availability_zone.py, workarounds.py).
/// Unlike nova, <c>report_interval</c> and <c>service_down_time</c> are mutable: a SIGHUP changes
/// the heartbeat cadence from the next beat on.
/// </summary>
public static class ServiceGroupOptions
{
    // nova declares no minimum for either (nova/conf/service.py); a negative interval or down time
    // has no meaning (0 disables heartbeats / is auto-corrected), so it is refused with file and line.
    public static readonly IntOpt ReportInterval = new("report_interval", 10)
    {
        Min = 0,
        Mutable = true,
        Help = """
            Number of seconds indicating how frequently the state of services on a
            given hypervisor is reported. Nova needs to know this to determine the
            overall health of the deployment.

            Related Options:

            * service_down_time
              report_interval should be less than service_down_time. If service_down_time
              is less than report_interval, services will routinely be considered down,
              because they report in too rarely.
            """,
    };

    public static readonly IntOpt ServiceDownTime = new("service_down_time", 60)
    {
        Min = 0,
        Mutable = true,
        Help = """
            Maximum time in seconds since last check-in for up service

            Each compute node periodically updates their database status based on the
            specified report interval. If the compute node hasn't updated the status
            for more than service_down_time, then the compute node is considered down.

            Related Options:

            * report_interval (service_down_time should not be less than report_interval)
            """,
    };

    public static readonly BoolOpt EnableNewServices = new("enable_new_services", true)
    {
        Help = """
            Enable new nova-compute services on this host automatically.

            When a new nova-compute service starts up, it gets
            registered in the database as an enabled service. Sometimes it can be useful
            to register new compute services in disabled state and then enabled them at a
            later point in time. This option only sets this behavior for nova-compute
            services, it does not auto-disable other services like nova-conductor,
            nova-scheduler, or nova-osapi_compute.

            Possible values:

            * ``True``: Each new compute service is enabled as soon as it registers itself.
            * ``False``: Compute services must be enabled via an os-services REST API call
              or with the CLI with ``nova service-enable <hostname> <binary>``, otherwise
              they are not ready to use.
            """,
    };

    public static readonly StrOpt DefaultAvailabilityZone = new("default_availability_zone", "nova")
    {
        Help = """
            Default availability zone for compute services.

            This option determines the default availability zone for 'nova-compute'
            services, which will be used if the service(s) do not belong to aggregates with
            availability zone metadata.

            Possible values:

            * Any string representing an existing availability zone name.
            """,
    };

    public static readonly StrOpt InternalServiceAvailabilityZone = new("internal_service_availability_zone", "internal")
    {
        Help = """
            Availability zone for internal services.

            This option determines the availability zone for the various internal nova
            services, such as 'nova-scheduler', 'nova-conductor', etc.

            Possible values:

            * Any string representing an existing availability zone name.
            """,
    };

    public static readonly BoolOpt DisableComputeServiceCheckForFfu = new("disable_compute_service_check_for_ffu", false)
    {
        Group = "workarounds",
        Help = """
            If this is set, the normal safety check for old compute services will be
            treated as a warning instead of an error. This is only to be enabled to
            facilitate a Fast-Forward upgrade where new control services are being started
            before compute nodes have been able to update their service record. In an FFU,
            the service records in the database will be more than one version old until
            the compute nodes start up, but control services need to be online first.
            """,
    };

    public static IReadOnlyList<Opt> All { get; } =
    [
        ReportInterval, ServiceDownTime, EnableNewServices, DefaultAvailabilityZone, InternalServiceAvailabilityZone,
        DisableComputeServiceCheckForFfu,
    ];
}
