namespace NovaCompute.Messaging;

/// <summary>
/// Starts long-lived work (connections, channels, their loops and callbacks) without the caller's
/// <see cref="ExecutionContext"/>: AsyncLocals such as the logging scope of the request that
/// happened to trigger it must not flow into everything that work does later.
/// </summary>
internal static class ExecutionContextFree
{
    public static Task<T> Run<T>(Func<Task<T>> start)
    {
        if (ExecutionContext.IsFlowSuppressed())
        {
            return Task.Run(start);
        }
        using (ExecutionContext.SuppressFlow())
        {
            return Task.Run(start);
        }
    }
}
