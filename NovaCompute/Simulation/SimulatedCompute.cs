using Microsoft.Extensions.Logging;
using NovaCompute.Compute;
using NovaCompute.Compute.Drivers;
using NovaCompute.Config;
using NovaCompute.Db;
using NovaCompute.Messaging;
using NovaCompute.Messaging.Rpc;
using NovaCompute.Periodic;
using NovaCompute.ServiceGroup;

namespace NovaCompute.Simulation;

/// <summary>
/// What the computes of one simulation share: the configuration, the stores (the same seams
/// <see cref="IServiceRepository"/> and <see cref="IComputeNodeRepository"/> the daemon uses, so a
/// conductor-backed store serves a simulation as it serves one daemon), the transport and its
/// shared consume channels, the one heartbeat loop and the clock.
/// </summary>
internal sealed record SimulationContext(
    IConfigMonitor Config,
    IServiceRepository Services,
    IComputeNodeRepository Nodes,
    RegistrationSettings Registration,
    StartWaveMinimumVersion MinimumVersion,
    RabbitTransport Transport,
    RpcChannelPool Channels,
    SharedHeartbeat Heartbeat,
    IRpcEntitySerializer Serializer,
    ILoggerFactory LoggerFactory,
    TimeProvider Time);

/// <summary>
/// One simulated compute: exactly the pieces one daemon runs, for host <see cref="Host"/>, started and
/// stopped in nova's <c>Service.start</c>/<c>stop</c> order (as <see cref="NovaService"/> and the
/// hosted services after it do): <c>init_host</c>, the service record, <c>pre_start_hook</c>
/// (the compute node), the RPC server on <c>compute.&lt;host&gt;</c> and its fanout queue,
/// <c>post_start_hook</c>, the periodic tasks. Its heartbeat is a member of the shared loop.
/// </summary>
internal sealed partial class SimulatedCompute : IAsyncDisposable
{
    private readonly SimulationContext _context;
    private readonly ComputeManager _manager;
    private readonly ResourceTracker _tracker;
    private readonly ServiceRegistrar _registrar;
    private readonly RpcServer _rpc;
    private readonly PeriodicTaskWorker _periodic;
    private readonly ILogger _logger;
    private HeartbeatMember? _member;
    private int _stage; // how many start steps completed, so a stop undoes exactly those

    public SimulatedCompute(string host, SimulationContext context)
    {
        _context = context;
        Identity = new ServiceIdentity(host, ServiceIdentity.ComputeBinary, ServiceIdentity.ComputeTopic);
        var config = context.Config.Current;
        var loggers = context.LoggerFactory;
        _logger = loggers.CreateLogger<SimulatedCompute>();
        var driver = ComputeDriverLoader.Load(config);
        _tracker = new ResourceTracker(driver, context.Nodes, context.Services, Identity, context.Config, loggers.CreateLogger<ResourceTracker>());
        _manager = new ComputeManager(driver, _tracker, context.Services, Identity, loggers.CreateLogger<ComputeManager>());
        _registrar = new ServiceRegistrar(context.Services, Identity, context.Registration, loggers.CreateLogger<ServiceRegistrar>(),
            context.MinimumVersion.GetAsync);

        // The endpoints in nova's order, as AddRpcServer composes them for the daemon.
        List<IRpcEndpoint> endpoints = [_manager, .. _manager.AdditionalEndpoints, new BaseRpcApi(Identity.Topic)];
        if (config.Get(MessagingOptions.RpcPingEnabled))
        {
            endpoints.Add(new OsloPingEndpoint());
        }
        var dispatcher = new RpcDispatcher(endpoints, context.Serializer, loggers.CreateLogger<RpcDispatcher>());
        var settings = MessagingSettingsFactory.RpcServer(config, Identity.Topic) with { Server = host };
        _rpc = new RpcServer(context.Transport, settings, dispatcher, loggers.CreateLogger<RpcServer>(), context.Time, context.Channels);
        _periodic = new PeriodicTaskWorker(PeriodicTask.Collect(_manager, OptionCatalog.All), context.Config, context.Time,
            loggers.CreateLogger<PeriodicTaskWorker>());
    }

    public ServiceIdentity Identity { get; }

    public string Host => Identity.Host;

    public Manager Manager => _manager;

    /// <summary>The service record as last written by the heartbeat (null before registration).</summary>
    public ServiceRecord? Record => _member?.Record;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        Log.Starting(_logger, Identity.Host, ServiceIdentity.Version);
        await _manager.InitHostAsync(cancellationToken).ConfigureAwait(false);
        var record = await _registrar.RegisterAsync(cancellationToken).ConfigureAwait(false);
        _member = _context.Heartbeat.Join(_registrar, record);
        _stage = 1;
        await _manager.PreStartHookAsync(cancellationToken).ConfigureAwait(false);
        await _rpc.StartAsync(cancellationToken).ConfigureAwait(false);
        _stage = 2;
        await _manager.PostStartHookAsync(cancellationToken).ConfigureAwait(false);
        await _periodic.StartAsync(cancellationToken).ConfigureAwait(false);
        _stage = 3;
    }

    /// <summary>Before the fleet closes the shared consume channels: the RPC server takes no more deliveries.</summary>
    public void BeginStop()
    {
        if (Volatile.Read(ref _stage) >= 2)
        {
            _rpc.BeginStop();
        }
    }

    /// <summary>The reverse: periodic tasks, the RPC server (drained), <c>cleanup_host</c>, the heartbeat.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var stage = Interlocked.Exchange(ref _stage, 0);
        if (stage >= 3)
        {
            await _periodic.StopAsync(cancellationToken).ConfigureAwait(false);
        }
        if (stage >= 2)
        {
            await _rpc.StopAsync(cancellationToken).ConfigureAwait(false);
        }
        if (stage >= 1)
        {
            try
            {
                await _manager.CleanupHostAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.CleanupFailed(_logger, ex, Identity.Host);
            }
            _context.Heartbeat.Leave(_member!);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _rpc.DisposeAsync().ConfigureAwait(false);
        _periodic.Dispose();
        _tracker.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3801, Level = LogLevel.Debug, Message = "Starting compute node {Host} (version {Version})")]
        public static partial void Starting(ILogger logger, string host, string version);

        [LoggerMessage(EventId = 3802, Level = LogLevel.Error, Message = "Service error occurred during cleanup_host of {Host}")]
        public static partial void CleanupFailed(ILogger logger, Exception exception, string host);
    }
}
