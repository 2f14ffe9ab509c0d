using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NovaCompute.Config;

namespace NovaCompute.Api;

/// <summary>Composition of the os-services API.</summary>
public static partial class ApiServiceCollectionExtensions
{
    /// <summary>
    /// The API server when <c>enabled_apis</c> includes <c>osapi_compute</c>. Register it last: the
    /// host starts hosted services in order (READY=1 then means listening, after the service
    /// record exists) and stops them in reverse (requests drain while the database is still there).
    /// Needs the service group's pieces and, for the broker part of the status document, the RPC transport (<see cref="ServiceGroup.ServiceGroupServiceCollectionExtensions.AddServiceGroup"/>).
    /// </summary>
    public static IServiceCollection AddComputeApi(this IServiceCollection services, NovaConfig config)
    {
        if (config.Get(ApiOptions.EnabledApis).Contains(ApiOptions.Metadata))
        {
            services.AddHostedService<MetadataNotServed>();
        }
        if (!ApiOptions.Enabled(config))
        {
            return services;
        }
        services.TryAddSingleton(ApiSettings.FromConfig(config));
        services.TryAddSingleton<ServicesApi>();
        services.TryAddSingleton<DaemonStatusApi>();
        services.TryAddSingleton<ApiPipeline>();
        services.TryAddSingleton<ApiServer>();
        services.AddHostedService(sp => sp.GetRequiredService<ApiServer>());
        return services;
    }

    /// <summary>nova-api would serve the metadata API; this daemon does not, and says so once.</summary>
    private sealed partial class MetadataNotServed(ILogger<MetadataNotServed> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            Log.Ignored(logger);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        private static partial class Log
        {
            [LoggerMessage(EventId = 1709, Level = LogLevel.Warning,
                Message = "enabled_apis includes metadata, which nova-compute does not serve (run nova-api-metadata for it); ignored")]
            public static partial void Ignored(ILogger logger);
        }
    }
}
