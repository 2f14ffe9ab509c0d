using Microsoft.Extensions.Logging;
using NovaCompute.Compute.Drivers;
using NovaCompute.Config;
using NovaCompute.Db;
using NovaCompute.Messaging.Rpc;
using NovaCompute.Periodic;

namespace NovaCompute.Compute;

/// <summary>
/// nova's <c>ComputeManager</c>: the RPC endpoint of topic <c>compute</c> (target version 6.1, with
/// <see cref="ComputeV5Proxy"/> answering 5.x callers) and the holder of the compute periodic tasks.
/// Only what this daemon really does is exposed: any other compute RPC method is absent, so a
/// caller gets oslo's <c>NoSuchMethod</c> instead of a pretend answer.
/// </summary>
[RpcEndpoint(Version = "6.1")]
internal sealed partial class ComputeManager : Manager, IRpcEndpoint
{
    private readonly IComputeDriver _driver;
    private readonly ResourceTracker _tracker;
    private readonly IServiceRepository _services;
    private readonly ServiceIdentity _identity;
    private readonly ILogger<ComputeManager> _logger;

    public ComputeManager(IComputeDriver driver, ResourceTracker tracker, IServiceRepository services, ServiceIdentity identity,
        ILogger<ComputeManager> logger)
        : base(identity.Host, ServiceIdentity.ComputeTopic)
    {
        _driver = driver;
        _tracker = tracker;
        _services = services;
        _identity = identity;
        _logger = logger;
        V5Proxy = new ComputeV5Proxy(this);
    }

    public IComputeDriver Driver => _driver;

    /// <summary>
    /// A manager that is never started, for listing its periodic tasks (<c>periodic list</c>): the
    /// task declarations belong to the class, not to a driver or a database.
    /// </summary>
    internal static ComputeManager ForTaskListing(NovaConfig config)
    {
        var identity = new ServiceIdentity("listing", ServiceIdentity.ComputeBinary, ServiceIdentity.ComputeTopic);
        var driver = new FakeDriver();
        // Never opened: the manager is only reflected upon.
        var factory = new DbConnectionFactory(DatabaseUrl.Parse("sqlite://"));
        var services = new ServiceRepository(factory);
        var monitor = new ConfigMonitor(config, new ConfigLoader(OptionCatalog.All).Load,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<ConfigMonitor>.Instance);
        var tracker = new ResourceTracker(driver, new ComputeNodeRepository(factory), services, identity, monitor,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<ResourceTracker>.Instance);
        return new ComputeManager(driver, tracker, services, identity, Microsoft.Extensions.Logging.Abstractions.NullLogger<ComputeManager>.Instance);
    }

    /// <summary>nova's <c>_ComputeV5Proxy</c>: 5.0–5.13 requests land here.</summary>
    public ComputeV5Proxy V5Proxy { get; }

    public override IReadOnlyList<IRpcEndpoint> AdditionalEndpoints => [V5Proxy];

    public override async Task InitHostAsync(CancellationToken cancellationToken)
    {
        Log.LoadingDriver(_logger, _driver.Name);
        await _driver.InitHostAsync(Host, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>nova: <c>update_available_resource(startup=True)</c>, so the node exists before RPC is served.</summary>
    public override Task PreStartHookAsync(CancellationToken cancellationToken) =>
        _tracker.UpdateAvailableResourceAsync(startup: true, cancellationToken);

    public override Task CleanupHostAsync(CancellationToken cancellationToken) => _driver.CleanupHostAsync(Host, cancellationToken);

    /// <summary>
    /// nova resets its compute RPC client here (the cached version cap). This daemon holds no
    /// compute RPC client; what it reads at run time (<c>update_resources_interval</c>, the
    /// reservations) is taken from the configuration on every use, so the reload already applies.
    /// </summary>
    public override Task ResetAsync(NovaConfig config, CancellationToken cancellationToken)
    {
        Log.Reloading(_logger);
        return Task.CompletedTask;
    }

    [PeriodicTask(SpacingOption = "update_resources_interval")]
    private Task UpdateAvailableResource(CancellationToken cancellationToken) =>
        _tracker.UpdateAvailableResourceAsync(startup: false, cancellationToken);

    /// <summary>The host's <c>uptime</c> line, as nova's libvirt driver returns it.</summary>
    [RpcMethod("get_host_uptime")]
    public Task<string> GetHostUptimeAsync(CancellationToken cancellationToken) => _driver.GetHostUptimeAsync(cancellationToken);

    /// <summary>
    /// Enables or disables this service's record (whether schedulers may pick this host) and
    /// answers <c>"enabled"</c> / <c>"disabled"</c> as nova does. A record disabled with a reason
    /// keeps it when disabled again.
    /// </summary>
    [RpcMethod("set_host_enabled")]
    public async Task<string> SetHostEnabledAsync(bool enabled, CancellationToken cancellationToken)
    {
        var record = await _services.GetByHostAndBinaryAsync(_identity.Host, _identity.Binary, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            Log.NoServiceRecord(_logger, _identity.Host);
        }
        else if (record.Disabled == enabled)
        {
            await _services.SetDisabledAsync(record.Id, !enabled, null, cancellationToken).ConfigureAwait(false);
            Log.HostEnabledChanged(_logger, _identity.Host, enabled ? "enabled" : "disabled");
        }
        try
        {
            return _driver.SetHostEnabled(enabled);
        }
        catch (NotImplementedException)
        {
            // nova: only xenapi implemented it; the RPC contract still answers the state.
            return enabled ? "enabled" : "disabled";
        }
    }

    [RpcMethod("host_maintenance_mode")]
    public string HostMaintenanceMode(string host, bool mode) => _driver.HostMaintenanceMode(host, mode);

    [RpcMethod("host_power_action")]
    public string HostPowerAction(string action) => _driver.HostPowerAction(action);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1811, Level = LogLevel.Information, Message = "Loading compute driver '{Driver}'")]
        public static partial void LoadingDriver(ILogger logger, string driver);

        [LoggerMessage(EventId = 1812, Level = LogLevel.Information, Message = "Reloading compute RPC API")]
        public static partial void Reloading(ILogger logger);

        [LoggerMessage(EventId = 1813, Level = LogLevel.Warning, Message = "Unable to set the host state: no nova-compute service record for host {Host}")]
        public static partial void NoServiceRecord(ILogger logger, string host);

        [LoggerMessage(EventId = 1814, Level = LogLevel.Information, Message = "Compute service on {Host} is now {State}")]
        public static partial void HostEnabledChanged(ILogger logger, string host, string state);
    }
}

/// <summary>
/// nova's <c>_ComputeV5Proxy</c> (target 5.13): accepts calls from 5.x clients. The methods this
/// daemon serves kept their signatures from 5.0 to 6.x, so each forwards to the manager unchanged.
/// </summary>
[RpcEndpoint(Version = "5.13")]
internal sealed class ComputeV5Proxy(ComputeManager manager) : IRpcEndpoint
{
    [RpcMethod("get_host_uptime")]
    public Task<string> GetHostUptimeAsync(CancellationToken cancellationToken) => manager.GetHostUptimeAsync(cancellationToken);

    [RpcMethod("set_host_enabled")]
    public Task<string> SetHostEnabledAsync(bool enabled, CancellationToken cancellationToken) => manager.SetHostEnabledAsync(enabled, cancellationToken);

    [RpcMethod("host_maintenance_mode")]
    public string HostMaintenanceMode(string host, bool mode) => manager.HostMaintenanceMode(host, mode);

    [RpcMethod("host_power_action")]
    public string HostPowerAction(string action) => manager.HostPowerAction(action);
}
