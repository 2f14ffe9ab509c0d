using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NovaCompute.Compute.Drivers;
using NovaCompute.Config;
using NovaCompute.Db;
using NovaCompute.Messaging.Rpc;
using NovaCompute.Periodic;

namespace NovaCompute.Compute;

/// <summary>Composition of the compute manager, its driver and its periodic tasks.</summary>
public static class ComputeServiceCollectionExtensions
{
    /// <summary>
    /// The driver named by <c>compute_driver</c>, the resource tracker, <see cref="ComputeManager"/>
    /// as <see cref="Manager"/> and as the RPC endpoints of topic <c>compute</c> (6.1 and the 5.x
    /// proxy), and SIGHUP reaching <c>manager.reset()</c>. No hosted service: the manager's hooks
    /// run from <see cref="NovaService"/>'s start sequence. Needs a record store registered
    /// (<see cref="IServiceRepository"/>, <see cref="IComputeNodeRepository"/>: the database's or the conductor's).
    /// </summary>
    public static IServiceCollection AddComputeManager(this IServiceCollection services, NovaConfig config)
    {
        services.TryAddSingleton(_ => ComputeDriverLoader.Load(config));
        services.TryAddSingleton<ResourceTracker>();
        services.TryAddSingleton<ComputeManager>();
        services.TryAddSingleton<Manager>(sp => sp.GetRequiredService<ComputeManager>());
        services.TryAddSingleton(sp => sp.GetRequiredService<ComputeManager>().V5Proxy);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IReloadable, ManagerReloadable>());
        services.AddRpcEndpoint<ComputeManager>();
        services.AddRpcEndpoint<ComputeV5Proxy>();
        return services;
    }

    /// <summary>
    /// The periodic-task worker running the <see cref="Manager"/>'s tasks (nova's periodic timer,
    /// the last step of <c>Service.start</c> in nova/service.py): register it last, so it starts after every other start step.
    /// <c>periodic_interval_max</c> stays unset, as nova-compute leaves it.
    /// </summary>
    public static IServiceCollection AddPeriodicTasks(this IServiceCollection services)
    {
        services.TryAddSingleton(sp => new PeriodicTaskWorker(
            PeriodicTask.Collect(sp.GetRequiredService<Manager>(), OptionCatalog.All),
            sp.GetRequiredService<IConfigMonitor>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<PeriodicTaskWorker>>()));
        services.TryAddSingleton<IPeriodicTaskStatus>(sp => sp.GetRequiredService<PeriodicTaskWorker>());
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<PeriodicTaskWorker>());
        return services;
    }
}
