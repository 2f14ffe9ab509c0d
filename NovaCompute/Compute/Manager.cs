using NovaCompute.Config;
using NovaCompute.Messaging.Rpc;
using NovaCompute.Periodic;

namespace NovaCompute.Compute;

/// <summary>
/// nova's <c>nova.manager.Manager</c>: the object a service serves over RPC and whose periodic tasks
/// it runs, with the hooks <see cref="NovaService"/> calls in nova's order (nova/service.py,
/// nova/manager.py):
/// <see cref="InitHostAsync"/> before the service record is looked up, <see cref="PreStartHookAsync"/>
/// once it exists and before RPC consumers do, <see cref="PostStartHookAsync"/> right after the RPC
/// server started, <see cref="CleanupHostAsync"/> on stop once RPC is drained, and
/// <see cref="ResetAsync"/> on SIGHUP. Every hook does nothing unless overridden.
/// </summary>
public abstract class Manager(string host, string serviceName) : PeriodicTasks
{
    public string Host { get; } = host;

    /// <summary>The name <c>BaseRPCAPI.ping</c> answers with (<c>compute</c>).</summary>
    public string ServiceName { get; } = serviceName;

    /// <summary>Endpoints served after the manager and <c>BaseRPCAPI</c>, in this order.</summary>
    public virtual IReadOnlyList<IRpcEndpoint> AdditionalEndpoints => [];

    public virtual Task InitHostAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public virtual Task PreStartHookAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public virtual Task PostStartHookAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public virtual Task CleanupHostAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Re-reads what may change at run time; <paramref name="config"/> is the reloaded configuration.</summary>
    public virtual Task ResetAsync(NovaConfig config, CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>SIGHUP reaches the manager: nova's <c>Service.reset()</c> → <c>manager.reset()</c>.</summary>
internal sealed class ManagerReloadable(Manager manager) : IReloadable
{
    public Task ResetAsync(NovaConfig config, CancellationToken cancellationToken) => manager.ResetAsync(config, cancellationToken);
}
