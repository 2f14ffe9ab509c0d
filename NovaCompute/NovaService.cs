using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NovaCompute.Compute;
using NovaCompute.Config;

namespace NovaCompute;

/// <summary>Identity of the service this process runs (nova's <c>Service.create</c> arguments).</summary>
public sealed record ServiceIdentity(string Host, string Binary, string Topic)
{
    public const string ComputeBinary = "nova-compute";
    public const string ComputeTopic = "compute";

    /// <summary>The version printed in "Starting compute node (version …)": nova's release this daemon matches.</summary>
    public static string Version { get; } =
        typeof(ServiceIdentity).Assembly.GetName().Version is { } v ? $"{v.Major}.{v.Minor}.{v.Build}" : "0.0.0";
}

/// <summary>
/// nova/service.py's <c>Service</c>: the start sequence in nova's order and the stop sequence in
/// reverse. Subsystems (registration, RPC server, heartbeat, periodic tasks) are hosted services of
/// their own, registered after this one, so the host starts them in nova's order and stops them
/// in reverse; the manager's hooks run at nova's points between them (nova/service.py <c>Service.start</c>/<c>stop</c>):
/// <list type="number">
/// <item><see cref="NovaService"/>: "Starting compute node", temp dir check, <c>init_host</c>.</item>
/// <item>schema migration, then the heartbeat writer, whose start creates or updates the record.</item>
/// <item><see cref="PreStartHookService"/>: <c>pre_start_hook</c>; on stop, <c>cleanup_host</c> (RPC is drained by then).</item>
/// <item>the RPC server.</item>
/// <item><see cref="PostStartHookService"/>: <c>post_start_hook</c>.</item>
/// <item>the periodic-task worker.</item>
/// </list>
/// </summary>
public sealed partial class NovaService(ServiceIdentity identity, IConfigMonitor config, Manager manager, ILogger<NovaService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        Log.Starting(logger, identity.Topic, ServiceIdentity.Version);
        BasicConfigCheck();
        await manager.InitHostAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Log.Stopped(logger, identity.Topic);
        return Task.CompletedTask;
    }

    /// <summary>nova's <c>basic_config_check</c>: the temporary directory must be usable.</summary>
    private void BasicConfigCheck()
    {
        var root = config.Current.Get(ServiceOptions.TempDir) ?? Path.GetTempPath();
        try
        {
            var probe = Directory.CreateDirectory(Path.Combine(root, "tmp" + Guid.NewGuid().ToString("N")[..8]));
            probe.Delete();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            Log.TempDirInvalid(logger, ex.Message);
            throw new InvalidOperationException($"Temporary directory is invalid: {ex.Message}", ex);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Starting {Topic} node (version {Version})")]
        public static partial void Starting(ILogger logger, string topic, string version);

        [LoggerMessage(EventId = 1002, Level = LogLevel.Error, Message = "Temporary directory is invalid: {Error}")]
        public static partial void TempDirInvalid(ILogger logger, string error);

        [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Stopped {Topic} node")]
        public static partial void Stopped(ILogger logger, string topic);
    }
}

/// <summary>
/// nova's <c>Service.start</c> step 9 (<c>pre_start_hook</c>, after the service record exists and
/// before RPC consumers do) and <c>Service.stop</c>'s <c>cleanup_host</c> (after the RPC server,
/// registered after this, stopped and drained). A failing cleanup is logged and the stop goes on.
/// </summary>
public sealed partial class PreStartHookService(ServiceIdentity identity, Manager manager, ILogger<PreStartHookService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await manager.PreStartHookAsync(cancellationToken).ConfigureAwait(false);
        Log.CreatingRpcServer(logger, identity.Topic);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await manager.CleanupHostAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.CleanupFailed(logger, ex);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1004, Level = LogLevel.Debug, Message = "Creating RPC server for service {Topic}")]
        public static partial void CreatingRpcServer(ILogger logger, string topic);

        [LoggerMessage(EventId = 1005, Level = LogLevel.Error, Message = "Service error occurred during cleanup_host")]
        public static partial void CleanupFailed(ILogger logger, Exception exception);
    }
}

/// <summary>nova's <c>Service.start</c> step 13: <c>post_start_hook</c>, right after the RPC server started.</summary>
public sealed class PostStartHookService(Manager manager) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => manager.PostStartHookAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
