using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NovaCompute.Api;
using NovaCompute.Compute;
using NovaCompute.Conductor;
using NovaCompute.Config;
using NovaCompute.Db;
using NovaCompute.Logging;
using NovaCompute.Messaging;
using NovaCompute.Messaging.Rpc;
using NovaCompute.Objects;
using NovaCompute.Reports;
using NovaCompute.ServiceGroup;
using NovaCompute.Simulation;
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
    /// <param name="simulation">
    /// <c>nova-compute simulate</c>: run that many computes in this process instead of one
    /// (same configuration, same start and stop, one READY=1 once all serve).
    /// </param>
    public static async Task<int> RunAsync(ConfigArguments arguments, CancellationToken cancellationToken, SimulationSettings? simulation = null)
    {
        if (simulation?.Validate() is { Count: > 0 } simulationErrors)
        {
            foreach (var error in simulationErrors)
            {
                await Console.Error.WriteLineAsync("nova-compute: error: " + error);
            }
            return ExitCodes.Usage;
        }
        // 1. config.parse_args: every problem (the loader's, then the validator's) reported at once, before anything is touched.
        var loader = new ConfigLoader(OptionCatalog.All);
        var loaded = loader.Load(arguments);
        if (!loaded.Succeeded)
        {
            ConfigReport.WriteErrors(Console.Error, loaded);
            return ExitCodes.Config;
        }
        var config = loaded.Config!;
        if (ConfigValidator.Validate(config) is { Count: > 0 } problems)
        {
            ConfigReport.WriteErrors(Console.Error, problems);
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
        foreach (var warning in ConfigReport.Capped(loaded.Warnings))
        {
            Log.ConfigWarning(log, warning);
        }
        Log.DatabaseMode(log, DatabaseOptions.Describe(config));

        try
        {
            // 3. objects.register_all
            ObjectRegistry.RegisterAll();
            // 4. Service.create(binary='nova-compute', topic='compute')
            var identity = new ServiceIdentity(config.Get(ServiceOptions.Host)!, ServiceIdentity.ComputeBinary, ServiceIdentity.ComputeTopic);
            using var host = BuildHost(config, loader, identity, logging, simulation);

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
        catch (Exception ex) when (DatabaseError.IsDatabaseError(ex))
        {
            // The database refused the start (full disk, read-only file, bad credentials): one line
            // naming the database and the cause, which "disk I/O error" and a stack trace did not.
            Log.DatabaseUnusable(log, DatabaseError.Describe(ex, DatabaseOptions.Url(config)), ex);
            return ExitCodes.Failure;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.Unhandled(log, ex);
            return ExitCodes.Failure;
        }
    }

    internal static IHost BuildHost(NovaConfig config, ConfigLoader loader, ServiceIdentity identity, NovaLogging logging,
        SimulationSettings? simulation = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings
        {
            ApplicationName = identity.Binary,
            DisableDefaults = true,
        });
        // Serilog.Extensions.Hosting: the host's ILoggerFactory becomes Serilog's, so levels are
        // Serilog's alone (debug, default_log_levels). dispose: false because the logger outlives
        // the host: RunAsync's caller disposes (flushes) it after the host has logged its last line.
        builder.Services.AddSerilog(logging.Logger, dispose: false);
        if (simulation is null)
        {
            builder.Services.AddNovaCompute(config, loader, identity);
        }
        else
        {
            builder.Services.AddComputeSimulation(config, loader, identity, simulation);
        }
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IReloadable>(new LoggingReloadable(logging)));
        return builder.Build();
    }

    /// <summary>
    /// Everything the daemon runs, registered in nova's start order (the host starts hosted services
    /// in registration order and stops them in reverse). <c>TryAdd</c> lets tests swap a piece.
    /// </summary>
    public static IServiceCollection AddNovaCompute(this IServiceCollection services, NovaConfig config, ConfigLoader loader, ServiceIdentity identity)
    {
        services.AddProcessLifetime(config, loader, identity);

        // Where records live: nova-conductor (nova-compute's own way; the wait for the conductor
        // starts here, before init_host, as in nova's Service.__init__) or a database of our own
        // (AddServiceGroup below registers it, with its migration, after init_host).
        if (DatabaseOptions.Mode(config) == DatabaseMode.Conductor)
        {
            services.AddConductor(config);
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
        services.AddBrokerStatus();

        services.AddHostedService<PostStartHookService>();
        services.AddPeriodicTasks();
        // Last: listening before READY=1, stopped (drained) first.
        services.AddComputeApi(config);
        return services;
    }

    /// <summary>The broker's piece of the status line and status document.</summary>
    internal static IServiceCollection AddBrokerStatus(this IServiceCollection services)
    {
        services.TryAddSingleton<BrokerStatusReporter>();
        services.TryAddSingleton<IBrokerConnectionStatus>(sp => sp.GetRequiredService<BrokerStatusReporter>());
        services.AddHostedService(sp => sp.GetRequiredService<BrokerStatusReporter>());
        return services;
    }

    /// <summary>
    /// What any run of the daemon has, whatever it serves: configuration and SIGHUP, the host's
    /// stop timeout, the signal lifetime, systemd notification and watchdog (started first, so
    /// the watchdog runs while the rest starts and READY=1 is sent once all have).
    /// </summary>
    internal static IServiceCollection AddProcessLifetime(this IServiceCollection services, NovaConfig config, ConfigLoader loader, ServiceIdentity identity)
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
                // oslo: a file_event_handler replaces the signal trigger.
                OnReport = string.IsNullOrEmpty(config.Get(ReportOptions.FileEventHandler))
                    ? sp.GetRequiredService<GuruMeditation>().WriteAsync
                    : null,
            };
        });
        services.TryAddSingleton<GuruMeditation>();
        if (config.Get(ReportOptions.FileEventHandler) is { Length: > 0 } reportTrigger)
        {
            services.AddHostedService(sp => new GuruMeditationFileWatcher(reportTrigger,
                TimeSpan.FromSeconds(Math.Max(1, config.Get(ReportOptions.FileEventHandlerInterval))),
                sp.GetRequiredService<GuruMeditation>(), sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<GuruMeditationFileWatcher>>()));
        }
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
        return services;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1010, Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "{Problem}")]
        public static partial void ConfigWarning(Microsoft.Extensions.Logging.ILogger logger, string problem);

        [LoggerMessage(EventId = 1015, Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "Database access: {Mode}")]
        public static partial void DatabaseMode(Microsoft.Extensions.Logging.ILogger logger, string mode);

        [LoggerMessage(EventId = 1012, Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "Stopped during start-up")]
        public static partial void StoppedDuringStart(Microsoft.Extensions.Logging.ILogger logger);

        [LoggerMessage(EventId = 1013, Level = Microsoft.Extensions.Logging.LogLevel.Critical, Message = "Cannot start: {Problem}")]
        private static partial void DatabaseUnusableLine(Microsoft.Extensions.Logging.ILogger logger, string problem);

        [LoggerMessage(EventId = 1014, Level = Microsoft.Extensions.Logging.LogLevel.Debug, Message = "The start-up database error in full")]
        private static partial void DatabaseUnusableDetail(Microsoft.Extensions.Logging.ILogger logger, Exception exception);

        public static void DatabaseUnusable(Microsoft.Extensions.Logging.ILogger logger, string problem, Exception exception)
        {
            DatabaseUnusableLine(logger, problem);
            DatabaseUnusableDetail(logger, exception);
        }

        [LoggerMessage(EventId = 1011, Level = Microsoft.Extensions.Logging.LogLevel.Critical, Message = "Unhandled error")]
        public static partial void Unhandled(Microsoft.Extensions.Logging.ILogger logger, Exception exception);
    }
}
