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
    /// The connection factory and repository, then two hosted services in start order: the schema
    /// migration (<see cref="DatabaseStartup"/>) and the heartbeat writer, whose start registers
    /// the service record. Register after the service's own start step and before the RPC server,
    /// nova's order (<c>Service.start</c> in nova/service.py). Needs <see cref="ServiceIdentity"/>, <see cref="IConfigMonitor"/>
    /// and <see cref="TimeProvider"/> registered.
    /// </summary>
    public static IServiceCollection AddServiceGroup(this IServiceCollection services, NovaConfig config)
    {
        services.AddServiceDatabase(config);
        services.TryAddSingleton(new DatabaseStartupSettings(
            config.Get(DatabaseOptions.MaxRetries), config.Get(DatabaseOptions.RetryInterval)));
        services.AddHostedService<DatabaseStartup>();

        services.TryAddSingleton<IServiceGroupSettingsSource, ConfigServiceGroupSettings>();
        services.TryAddSingleton(new RegistrationSettings
        {
            EnableNewServices = config.Get(ServiceGroupOptions.EnableNewServices),
            DisableComputeServiceCheckForFfu = config.Get(ServiceGroupOptions.DisableComputeServiceCheckForFfu),
        });
        services.TryAddSingleton(Zones(config));
        services.TryAddSingleton<ServiceRegistrar>();
        services.TryAddSingleton<ServiceStatusQuery>();
        services.TryAddSingleton<HeartbeatWriter>();
        services.TryAddSingleton<IHeartbeatHealth>(sp => sp.GetRequiredService<HeartbeatWriter>());
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<HeartbeatWriter>());
        services.AddSingleton<Systemd.IWatchdogCheck>(sp => sp.GetRequiredService<HeartbeatWriter>());
        return services;
    }

    /// <summary>Only the database pieces (what the CLI subcommands need).</summary>
    public static IServiceCollection AddServiceDatabase(this IServiceCollection services, NovaConfig config)
    {
        services.TryAddSingleton(_ => new DbConnectionFactory(DatabaseOptions.Url(config), DatabaseOptions.Settings(config)));
        services.TryAddSingleton<IDbConnectionFactory>(sp => sp.GetRequiredService<DbConnectionFactory>());
        services.TryAddSingleton<IServiceRepository, ServiceRepository>();
        services.TryAddSingleton<SchemaMigrator>();
        return services;
    }

    internal static ZoneSettings Zones(NovaConfig config) => new(
        config.Get(ServiceGroupOptions.DefaultAvailabilityZone) ?? "nova",
        config.Get(ServiceGroupOptions.InternalServiceAvailabilityZone) ?? "internal");
}
