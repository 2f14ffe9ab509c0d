using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace NovaCompute.Messaging.Rpc;

/// <summary>One RPC endpoint to serve, in dispatch order.</summary>
public sealed record RpcEndpointRegistration(Func<IServiceProvider, IRpcEndpoint> Resolve);

/// <summary>Composition of the transport, the RPC server and the RPC client.</summary>
public static class RpcServiceCollectionExtensions
{
    /// <summary>The process's <see cref="RabbitTransport"/> (connections open on first use).</summary>
    public static IServiceCollection AddRabbitTransport(this IServiceCollection services, RabbitSettings settings)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(settings);
        services.TryAddSingleton(sp => new RabbitTransport(
            sp.GetRequiredService<RabbitSettings>(), sp.GetRequiredService<ILoggerFactory>(), sp.GetRequiredService<TimeProvider>()));
        return services;
    }

    /// <summary>
    /// The RPC listener as a hosted service (topology declared and consumers subscribed in
    /// <c>StartAsync</c>), dispatching to the endpoints added with <see cref="AddRpcEndpoint{T}(IServiceCollection)"/>
    /// in the order they were added. <see cref="BaseRpcApi"/> is served too (nova's <c>baseapi</c>),
    /// and oslo's ping endpoint when <paramref name="rpcPingEnabled"/>.
    /// </summary>
    public static IServiceCollection AddRpcServer(this IServiceCollection services, RpcServerSettings settings,
        string serviceName = "compute", int? backdoorPort = null, bool rpcPingEnabled = false)
    {
        services.TryAddSingleton(settings);
        services.TryAddSingleton<IRpcEntitySerializer>(NovaObjectRpcSerializer.Instance);
        services.TryAddSingleton(_ => new BaseRpcApi(serviceName, backdoorPort));
        services.TryAddSingleton(sp =>
        {
            var endpoints = sp.GetServices<RpcEndpointRegistration>().Select(r => r.Resolve(sp)).ToList();
            // nova's order: the manager's endpoints first, then BaseRPCAPI.
            endpoints.Add(sp.GetRequiredService<BaseRpcApi>());
            if (rpcPingEnabled)
            {
                endpoints.Add(new OsloPingEndpoint());
            }
            return new RpcDispatcher(endpoints, sp.GetRequiredService<IRpcEntitySerializer>(), sp.GetRequiredService<ILogger<RpcDispatcher>>());
        });
        services.TryAddSingleton(sp => new RpcServer(sp.GetRequiredService<RabbitTransport>(), sp.GetRequiredService<RpcServerSettings>(),
            sp.GetRequiredService<RpcDispatcher>(), sp.GetRequiredService<ILogger<RpcServer>>(), sp.GetRequiredService<TimeProvider>()));
        services.AddHostedService(sp => sp.GetRequiredService<RpcServer>());
        services.AddSingleton<Systemd.IWatchdogCheck>(sp => sp.GetRequiredService<RpcServer>().Watchdog);
        return services;
    }

    /// <summary>Serves <typeparamref name="T"/> (a singleton marked <see cref="RpcEndpointAttribute"/>).</summary>
    public static IServiceCollection AddRpcEndpoint<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] T>(
        this IServiceCollection services) where T : class, IRpcEndpoint
    {
        services.TryAddSingleton<T>();
        services.AddSingleton(new RpcEndpointRegistration(sp => sp.GetRequiredService<T>()));
        return services;
    }

    /// <summary>The shared reply queue and client settings; build clients with <see cref="CreateRpcClient"/>.</summary>
    public static IServiceCollection AddRpcClient(this IServiceCollection services, RpcClientSettings settings)
    {
        services.TryAddSingleton(settings);
        services.TryAddSingleton<IRpcEntitySerializer>(NovaObjectRpcSerializer.Instance);
        services.TryAddSingleton(sp => new RpcReplyWaiter(sp.GetRequiredService<RabbitTransport>(), sp.GetRequiredService<ILogger<RpcReplyWaiter>>()));
        return services;
    }

    /// <summary>A client for <paramref name="target"/> sharing the process's connections and reply queue.</summary>
    public static RpcClient CreateRpcClient(this IServiceProvider services, RpcTarget target, string? versionCap = null) =>
        new(services.GetRequiredService<RpcReplyWaiter>(), target, services.GetRequiredService<RpcClientSettings>(),
            services.GetRequiredService<IRpcEntitySerializer>(), versionCap: versionCap);
}
