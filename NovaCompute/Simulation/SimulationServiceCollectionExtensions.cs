using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NovaCompute.Conductor;
using NovaCompute.Config;
using NovaCompute.Db;
using NovaCompute.Messaging;
using NovaCompute.Messaging.Rpc;
using NovaCompute.ServiceGroup;

namespace NovaCompute.Simulation;

/// <summary>Composition of <c>nova-compute simulate</c>.</summary>
public static class SimulationServiceCollectionExtensions
{
    /// <summary>
    /// The daemon's process pieces (configuration, SIGHUP, signals, systemd) around N computes that
    /// share one database pool, one transport (a publish and a consume connection, consume channels
    /// shared by <see cref="RpcChannelPool.ServersPerChannel"/> servers each, dealt round-robin), one heartbeat loop
    /// and the runtime's one timer queue. Start order: schema migration, the heartbeat loop, the
    /// broker status, the computes; stop in reverse.
    /// </summary>
    public static IServiceCollection AddComputeSimulation(this IServiceCollection services, NovaConfig config, ConfigLoader loader,
        ServiceIdentity identity, SimulationSettings settings)
    {
        services.AddProcessLifetime(config, loader, identity);
        if (DatabaseOptions.Mode(config) == DatabaseMode.Conductor)
        {
            services.AddConductor(config);
        }
        services.AddServiceGroupStore(config);
        services.TryAddSingleton<IComputeNodeRepository, ComputeNodeRepository>();
        services.TryAddSingleton<ServiceStatusQuery>();
        services.TryAddSingleton<SharedHeartbeat>();
        services.TryAddSingleton<IHeartbeatHealth>(sp => sp.GetRequiredService<SharedHeartbeat>().Health);
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<SharedHeartbeat>());
        services.AddSingleton<Systemd.IWatchdogCheck>(sp => sp.GetRequiredService<SharedHeartbeat>().Health);

        services.AddRabbitTransport(MessagingSettingsFactory.Rabbit(config));
        services.TryAddSingleton<IRpcEntitySerializer>(NovaObjectRpcSerializer.Instance);
        services.TryAddSingleton(sp => new RpcChannelPool(sp.GetRequiredService<RabbitTransport>(), expectedServers: settings.Count));
        services.AddBrokerStatus();

        services.TryAddSingleton(settings);
        services.TryAddSingleton(sp => new SimulationContext(
            sp.GetRequiredService<IConfigMonitor>(),
            sp.GetRequiredService<IServiceRepository>(),
            sp.GetRequiredService<IComputeNodeRepository>(),
            sp.GetRequiredService<RegistrationSettings>(),
            new StartWaveMinimumVersion(sp.GetRequiredService<IServiceRepository>()),
            sp.GetRequiredService<RabbitTransport>(),
            sp.GetRequiredService<RpcChannelPool>(),
            sp.GetRequiredService<SharedHeartbeat>(),
            sp.GetRequiredService<IRpcEntitySerializer>(),
            sp.GetRequiredService<ILoggerFactory>(),
            sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<ComputeFleet>();
        services.AddHostedService(sp => sp.GetRequiredService<ComputeFleet>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IReloadable, FleetReloadable>());
        return services;
    }

    private sealed class FleetReloadable(ComputeFleet fleet) : IReloadable
    {
        public Task ResetAsync(NovaConfig config, CancellationToken cancellationToken) => fleet.ResetAsync(config, cancellationToken);
    }
}
