using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
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
/// in reverse.
/// </summary>
public sealed partial class NovaService(ServiceIdentity identity, IConfigMonitor config, ILogger<NovaService> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        Log.Starting(logger, identity.Topic, ServiceIdentity.Version);
        BasicConfigCheck();
        return Task.CompletedTask;
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
