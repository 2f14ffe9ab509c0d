using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using NovaCompute.Config;
using NovaCompute.Db;
using NovaCompute.Messaging;
using NovaCompute.Messaging.Rpc;

namespace NovaCompute.Conductor;

/// <summary>Composition of conductor mode.</summary>
public static class ConductorServiceCollectionExtensions
{
    /// <summary>
    /// nova/cmd/compute.py's <c>indirection_api = conductor_rpcapi.ConductorAPI()</c>: the conductor
    /// client behind the record seams (<see cref="IServiceRepository"/>, <see cref="IComputeNodeRepository"/>),
    /// and <see cref="ConductorWaiter"/> as a hosted service. Register it before the service's own
    /// start step: nova waits for the conductor in <c>Service.__init__</c>, before <c>init_host</c>.
    /// </summary>
    public static IServiceCollection AddConductor(this IServiceCollection services, NovaConfig config)
    {
        services.AddRabbitTransport(MessagingSettingsFactory.Rabbit(config));
        services.AddRpcClient(MessagingSettingsFactory.RpcClient(config));
        services.TryAddSingleton(sp => new ConductorApi(
            sp.CreateRpcClient(new RpcTarget { Topic = ConductorApi.Topic, Version = ConductorApi.RpcVersion }),
            RequestContext.AdminContext(sp.GetRequiredService<TimeProvider>())));
        services.TryAddSingleton<IServiceRepository, ConductorServiceRepository>();
        services.TryAddSingleton<IComputeNodeRepository, ConductorComputeNodeRepository>();
        services.TryAddSingleton(new ConductorWaitSettings
        {
            RpcResponseTimeout = TimeSpan.FromSeconds(config.Get(MessagingOptions.RpcResponseTimeout)),
        });
        services.AddHostedService<ConductorWaiter>();
        return services;
    }
}
