using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NovaCompute.Api;
using NovaCompute.Cli;
using NovaCompute.Compute;
using NovaCompute.Conductor;
using NovaCompute.Config;
using NovaCompute.Db;
using NovaCompute.Logging;
using NovaCompute.Messaging;
using NovaCompute.Messaging.Rpc;
using NovaCompute.Objects;
using NovaCompute.ServiceGroup;
using NovaCompute.Systemd;
using Serilog;
using Serilog.Extensions.Logging;

namespace NovaCompute;

/// <summary>
/// nova/cmd/compute.py's <c>main()</c>, step for step: parse config, set up logging, register
/// objects, create the service, serve, wait. Unlike nova, the exit status tells systemd what
/// happened: 0 after a clean stop, 78 for bad configuration, 1 when start-up or a worker failed.
/// </summary>
public static partial class Daemon
{
    public static async Task<int> RunAsync(ConfigArguments arguments, CancellationToken cancellationToken)
    {
        // 1. config.parse_args: every problem reported at once, before anything is touched.
        var loader = new ConfigLoader(OptionCatalog.All);
        var loaded = loader.Load(arguments);
        if (!loaded.Succeeded)
        {
            ConfigReport.WriteErrors(Console.Error, loaded);
            return ExitCodes.Config;
        }
        var config = loaded.Config!;
        if (ConfigCommands.CrossOptionProblems(config) is { Count: > 0 } problems)
        {
            foreach (var problem in problems)
            {
                await Console.Error.WriteLineAsync("nova-compute: configuration error: " + problem);
            }
            return ExitCodes.Config;
        }

        // 2. logging.setup: a log file that cannot be opened is a configuration error too.
        NovaLogging logging;
        try
        {
            logging = LoggingSetup.CreateLogger(LoggingOptions.ToSettings(config), LoggingEnvironment.FromProcess());
        }
        catch (Exception ex) when (ex is LoggingConfigurationException or IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync("nova-compute: configuration error: " + ex.Message);
            return ExitCodes.Config;
        }
        using var loggingLifetime = logging;
        using var loggerFactory = new SerilogLoggerFactory(logging.Logger);
        var log = loggerFactory.CreateLogger("NovaCompute.Daemon");
        foreach (var warning in loaded.Warnings)
        {
            Log.ConfigWarning(log, warning.ToString());
        }
        Log.DatabaseMode(log, DatabaseOptions.Describe(config));

        try
        {
            // 3. objects.register_all
            ObjectRegistry.RegisterAll();
            // 4. Service.create(binary='nova-compute', topic='compute')
            var identity = new ServiceIdentity(config.Get(ServiceOptions.Host)!, ServiceIdentity.ComputeBinary, ServiceIdentity.ComputeTopic);
            using var host = BuildHost(config, loader, identity, logging);

            // 5. serve, 6. wait
            if (config.Get(ServiceOptions.LogOptions))
            {
                OptionDump.Log(log, config);
            }
            // Looked up before the run: RunAsync disposes the host's service provider.
            var workers = host.Services.GetServices<IHostedService>().OfType<BackgroundService>().ToList();
            var stopping = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
            try
            {
                await host.RunAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                // SIGTERM while starting (systemctl stop during a slow start): a requested stop, not a failure.
                Log.StoppedDuringStart(log);
                return ExitCodes.Ok;
            }
            catch (ApiConfigurationException)
            {
                // Already logged with nova's message; restarting cannot help.
                return ExitCodes.Config;
            }
            return workers.Any(w => w.ExecuteTask is { IsFaulted: true }) ? ExitCodes.Failure : ExitCodes.Ok;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.Unhandled(log, ex);
            return ExitCodes.Failure;
        }
    }

    internal static IHost BuildHost(NovaConfig config, ConfigLoader loader, ServiceIdentity identity, NovaLogging logging)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings
        {
            ApplicationName = identity.Binary,
            DisableDefaults = true,
        });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.Trace);
        // Disposed (flushed) by RunAsync's caller, after the host has logged its last line.
        builder.Logging.AddSerilog(logging.Logger, dispose: false);
        builder.Services.AddNovaCompute(config, loader, identity);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IReloadable>(new LoggingReloadable(logging)));
        return builder.Build();
    }

    /// <summary>
    /// Everything the daemon runs, registered in nova's start order (the host starts hosted services
    /// in registration order and stops them in reverse). <c>TryAdd</c> lets tests swap a piece.
    /// </summary>
    public static IServiceCollection AddNovaCompute(this IServiceCollection services, NovaConfig config, ConfigLoader loader, ServiceIdentity identity)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(identity);
        services.TryAddSingleton(sp => new ConfigMonitor(config, loader.Load, sp.GetRequiredService<ILogger<ConfigMonitor>>()));
        services.TryAddSingleton<IConfigMonitor>(sp => sp.GetRequiredService<ConfigMonitor>());
        services.TryAddSingleton<Reloader>();

        var timeout = config.Get(ServiceOptions.GracefulShutdownTimeout);
        services.Configure<HostOptions>(o =>
        {
            // 0 means "wait forever", as oslo's graceful_shutdown_timeout.
            o.ShutdownTimeout = timeout > 0 ? TimeSpan.FromSeconds(timeout) : Timeout.InfiniteTimeSpan;
            o.ServicesStartConcurrently = false;
            o.ServicesStopConcurrently = false;
            o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.StopHost;
        });
        services.TryAddSingleton(sp =>
        {
            var lifecycle = sp.GetRequiredService<SystemdLifecycle>();
            var reloader = sp.GetRequiredService<Reloader>();
            return new SignalLifetimeOptions
            {
                // A little past the host's own timeout, so the host can log what it abandoned first.
                GracefulShutdownTimeout = timeout > 0 ? TimeSpan.FromSeconds(timeout + 5) : null,
                OnReload = ct => lifecycle.ReloadAsync(reloader.ReloadAsync, ct),
            };
        });
        // The host registers ConsoleLifetime itself; ours replaces it (SIGHUP must not terminate).
        services.RemoveAll<IHostLifetime>();
        services.AddSingleton<IHostLifetime, SignalLifetime>();

        // systemd first: its watchdog must run while the others start, and READY=1 is sent once all have.
        services.TryAddSingleton(_ => SystemdEnvironment.TakeFromProcess());
        services.TryAddSingleton<ISystemdNotifier>(sp => new SystemdNotifier(sp.GetRequiredService<SystemdEnvironment>().NotifySocket));
        services.TryAddSingleton<IServiceStatus, ServiceStatus>();
        services.TryAddSingleton<SystemdLifecycle>();
        services.AddHostedService(sp => sp.GetRequiredService<SystemdLifecycle>());
        services.AddHostedService<SystemdWatchdog>();

        // Where records live: nova-conductor (nova-compute's own way; the wait for the conductor
        // starts here, before init_host, as in nova's Service.__init__) or a database of our own.
        if (DatabaseOptions.Mode(config) == DatabaseMode.Conductor)
        {
            services.AddConductor(config);
        }
        else
        {
            services.AddServiceDatabase(config);
        }
        services.AddComputeManager(config);
        // nova's Service.start order (NovaService documents it): init_host, then schema migration
        // and the heartbeat writer (whose start registers the service record), pre_start_hook,
        // the RPC server, post_start_hook, the periodic tasks. Stop runs in reverse.
        services.AddHostedService<NovaService>();
        services.AddServiceGroup(config);
        services.AddHostedService<PreStartHookService>();

        // The RPC listener: topic exchange, compute and compute.<host> queues, the fanout queue,
        // consumers subscribed before READY=1, between pre_start_hook and post_start_hook as nova.
        services.AddRabbitTransport(MessagingSettingsFactory.Rabbit(config));
        services.AddRpcServer(MessagingSettingsFactory.RpcServer(config, identity.Topic), serviceName: identity.Topic,
            rpcPingEnabled: config.Get(MessagingOptions.RpcPingEnabled));
        services.TryAddSingleton<BrokerStatusReporter>();
        services.TryAddSingleton<IBrokerConnectionStatus>(sp => sp.GetRequiredService<BrokerStatusReporter>());
        services.AddHostedService(sp => sp.GetRequiredService<BrokerStatusReporter>());

        services.AddHostedService<PostStartHookService>();
        services.AddPeriodicTasks();
        // Last: listening before READY=1, stopped (drained) first.
        services.AddComputeApi(config);
        return services;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1010, Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "{Problem}")]
        public static partial void ConfigWarning(Microsoft.Extensions.Logging.ILogger logger, string problem);

        [LoggerMessage(EventId = 1013, Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "Database access: {Mode}")]
        public static partial void DatabaseMode(Microsoft.Extensions.Logging.ILogger logger, string mode);

        [LoggerMessage(EventId = 1012, Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "Stopped during start-up")]
        public static partial void StoppedDuringStart(Microsoft.Extensions.Logging.ILogger logger);

        [LoggerMessage(EventId = 1011, Level = Microsoft.Extensions.Logging.LogLevel.Critical, Message = "Unhandled error")]
        public static partial void Unhandled(Microsoft.Extensions.Logging.ILogger logger, Exception exception);
    }
}
