namespace NovaCompute.Messaging.Rpc;

/// <summary>
/// For the systemd watchdog: the listener is wedged when deliveries wait for a worker and no
/// worker has started or finished anything for twice <c>rpc_response_timeout</c> (at least 2 min):
/// every caller times out by then. Busy workers or an unreachable broker (the connection keeper
/// reconnects) are not wedged.
/// </summary>
internal sealed class RpcWorkerWatchdog(RpcIntake intake, RpcServerSettings settings) : Systemd.IWatchdogCheck
{
    private readonly TimeSpan _limit = TimeSpan.FromSeconds(Math.Max(120, 2 * settings.RpcResponseTimeout.TotalSeconds));

    public string Name => "rpc listener";

    public string? Problem(DateTimeOffset now)
    {
        var waiting = intake.WaitingForWorker;
        if (waiting == 0)
        {
            return null;
        }
        var stalled = intake.SinceProgress;
        return stalled > _limit
            ? $"{waiting} request(s) waiting for a worker and all {settings.ExecutorThreadPoolSize} busy without progress for {stalled.TotalSeconds:0} s"
            : null;
    }
}
