using NovaCompute.Config;

namespace NovaCompute.Compute;

/// <summary>
/// nova's compute options this daemon honours (nova/conf/compute.py, netconf.py), with nova's names,
/// defaults and help. <c>update_resources_interval</c> is mutable here (nova reads it at import).
/// </summary>
public static class ComputeOptions
{
    public static readonly StrOpt ComputeDriver = new("compute_driver", null)
    {
        Choices = [.. Drivers.ComputeDriverLoader.Drivers.Select(d => new OptChoice(d.Name, d.Description))],
        Help = "Defines which driver to use for controlling virtualization. Required.",
    };

    public static readonly StrOpt InstancesPath = new("instances_path", "$state_path/instances")
    {
        SampleDefault = "$state_path/instances",
        Help = """
            Specifies where instances are stored on the hypervisor's disk.
            It can point to locally attached storage or a directory on NFS.

            Possible values:

            * $state_path/instances where state_path is a config option that specifies
              the top-level directory for maintaining nova's state. (default) or
              Any string representing directory path.
            """,
    };

    public static readonly IntOpt UpdateResourcesInterval = new("update_resources_interval", 0)
    {
        Mutable = true,
        Help = """
            Interval for updating compute resources.

            This option specifies how often the update_available_resource
            periodic task should run. A number less than 0 means to disable the
            task completely. Leaving this at the default of 0 will cause this to
            run at the default periodic interval. Setting it to any positive
            value will cause it to run at approximately that number of seconds.

            Possible values:

            * 0: Will run at the default periodic interval.
            * Any value < 0: Disables the option.
            * Any positive integer in seconds.
            """,
    };

    public static readonly StrOpt MyIp = new("my_ip", HostAddresses.DefaultIPv4())
    {
        SampleDefault = "<host_ipv4>",
        Help = """
            The IP address which the host is using to connect to the management network.

            Possible values:

            * String with valid IP address. Default is IPv4 address of this host.

            Related options:

            * my_block_storage_ip
            """,
    };

    public static readonly IntOpt ReservedHostDiskMb = new("reserved_host_disk_mb", 0)
    {
        Min = 0,
        Help = """
            Amount of disk resources in MB to make them always available to host. The
            disk usage gets reported back to the scheduler from nova-compute running
            on the compute nodes. To prevent the disk resources from being considered
            as available, this option can be used to reserve disk space for that host.

            Possible values:

            * Any positive integer representing amount of disk in MB to reserve
              for the host.
            """,
    };

    public static readonly IntOpt ReservedHostMemoryMb = new("reserved_host_memory_mb", 512)
    {
        Min = 0,
        Help = """
            Amount of memory in MB to reserve for the host so that it is always available
            to host processes. The host resources usage is reported back to the scheduler
            continuously from nova-compute running on the compute node. To prevent the host
            memory from being considered as available, this option is used to reserve
            memory for the host.

            Possible values:

            * Any positive integer representing amount of memory in MB to reserve
              for the host.
            """,
    };

    public static readonly IntOpt ReservedHostCpus = new("reserved_host_cpus", 0)
    {
        Min = 0,
        Help = """
            Number of host CPUs to reserve for host processes.

            The host resources usage is reported back to the scheduler continuously from
            nova-compute running on the compute node. This value is used to determine the
            ``reserved`` value reported to placement.

            Possible values:

            * Any positive integer representing number of physical CPUs to reserve
              for the host.
            """,
    };

    public static readonly FloatOpt InitialCpuAllocationRatio = new("initial_cpu_allocation_ratio", 16.0)
    {
        Min = 0.0,
        Help = """
            Initial virtual CPU to physical CPU allocation ratio.

            This is only used when initially creating the ``computes_nodes`` table record
            for a given nova-compute service.
            """,
    };

    public static readonly FloatOpt InitialRamAllocationRatio = new("initial_ram_allocation_ratio", 1.5)
    {
        Min = 0.0,
        Help = """
            Initial virtual RAM to physical RAM allocation ratio.

            This is only used when initially creating the ``computes_nodes`` table record
            for a given nova-compute service.
            """,
    };

    public static readonly FloatOpt InitialDiskAllocationRatio = new("initial_disk_allocation_ratio", 1.0)
    {
        Min = 0.0,
        Help = """
            Initial virtual disk to physical disk allocation ratio.

            This is only used when initially creating the ``computes_nodes`` table record
            for a given nova-compute service.
            """,
    };

    public static IReadOnlyList<Opt> All { get; } =
    [
        ComputeDriver, InstancesPath, UpdateResourcesInterval, MyIp, ReservedHostDiskMb, ReservedHostMemoryMb, ReservedHostCpus,
        InitialCpuAllocationRatio, InitialRamAllocationRatio, InitialDiskAllocationRatio,
    ];
}
