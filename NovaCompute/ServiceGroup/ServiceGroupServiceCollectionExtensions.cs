using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using NovaCompute.Config;
using NovaCompute.Db;

namespace NovaCompute.ServiceGroup;

/// <summary>Composition of the services database and the service group.</summary>
public static class ServiceGroupServiceCollectionExtensions
{
    /// <summary>
    /// The heartbeat writer as a hosted service, whose start registers the service record, after the
    /// schema migration (<see cref="DatabaseStartup"/>) when this process has a database of its own.
    /// Register after the service's own start step and before the RPC server, nova's order
    /// (<c>Service.start</c> in nova/service.py). Needs an <see cref="IServiceRepository"/> (the database's or the conductor's),
    /// <see cref="ServiceIdentity"/>, <see cref="IConfigMonitor"/> and <see cref="TimeProvider"/> registered.
    /// </summary>
    public static IServiceCollection AddServiceGroup(this IServiceCollection services, NovaConfig config)
    {
        services.AddServiceGroupStore(config);
        services.TryAddSingleton<ServiceStatusQuery>();
        services.TryAddSingleton<HeartbeatWriter>();
        services.TryAddSingleton<IHeartbeatHealth>(sp => sp.GetRequiredService<HeartbeatWriter>().Health);
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<HeartbeatWriter>());
        services.AddSingleton<Systemd.IWatchdogCheck>(sp => sp.GetRequiredService<HeartbeatWriter>().Health);
        return services;
    }

    /// <summary>
    /// What registering and reporting need, whoever reports (one <see cref="HeartbeatWriter"/> or a
    /// <see cref="SharedHeartbeat"/> for many): in direct mode the database with its start-up
    /// migration (a hosted service); the service group's settings and the registration settings.
    /// In conductor mode the caller has registered the conductor's stores (Conductor/).
    /// </summary>
    public static IServiceCollection AddServiceGroupStore(this IServiceCollection services, NovaConfig config)
    {
        if (DatabaseOptions.Mode(config) == DatabaseMode.Direct)
        {
            services.AddServiceDatabase(config);
            services.TryAddSingleton(new DatabaseStartupSettings(
                config.Get(DatabaseOptions.MaxRetries), config.Get(DatabaseOptions.RetryInterval)));
            services.AddHostedService<DatabaseStartup>();
        }

        services.TryAddSingleton<IServiceGroupSettingsSource, ConfigServiceGroupSettings>();
        services.TryAddSingleton(new RegistrationSettings
        {
            EnableNewServices = config.Get(ServiceGroupOptions.EnableNewServices),
            DisableComputeServiceCheckForFfu = config.Get(ServiceGroupOptions.DisableComputeServiceCheckForFfu),
        });
        services.TryAddSingleton(Zones(config));
        services.TryAddSingleton<ServiceRegistrar>();
        return services;
    }

    /// <summary>Direct mode's record store: the connection factory and the repositories over it.</summary>
    public static IServiceCollection AddServiceDatabase(this IServiceCollection services, NovaConfig config)
    {
        services.TryAddSingleton(_ => new DbConnectionFactory(DatabaseOptions.Url(config), DatabaseOptions.Settings(config)));
        services.TryAddSingleton<IDbConnectionFactory>(sp => sp.GetRequiredService<DbConnectionFactory>());
        services.TryAddSingleton<IServiceRepository, ServiceRepository>();
        services.TryAddSingleton<IComputeNodeRepository, ComputeNodeRepository>();
        services.TryAddSingleton<SchemaMigrator>();
        return services;
    }

    internal static ZoneSettings Zones(NovaConfig config) => new(
        config.Get(ServiceGroupOptions.DefaultAvailabilityZone) ?? "nova",
        config.Get(ServiceGroupOptions.InternalServiceAvailabilityZone) ?? "internal");
}
