namespace NovaCompute.Messaging.Rpc;

/// <summary>
/// An RPC server for oslo's <c>Target(topic=Topic, server=Server)</c> on the transport's control
/// exchange. Built from configuration in one place (<see cref="MessagingSettingsFactory"/>).
/// </summary>
public sealed record RpcServerSettings
{
    /// <summary>nova-compute's topic.</summary>
    public string Topic { get; init; } = "compute";

    /// <summary><c>[DEFAULT]host</c>: the server part of <c>compute.&lt;host&gt;</c>.</summary>
    public required string Server { get; init; }

    /// <summary><c>executor_thread_pool_size</c>: requests handled at once; also bounds how many the broker hands us ahead.</summary>
    public int ExecutorThreadPoolSize { get; init; } = 64;

    /// <summary><c>graceful_shutdown_timeout</c>: how long a stop waits for running requests (0 = as long as they take).</summary>
    public TimeSpan GracefulShutdownTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary><c>rpc_response_timeout</c>: callers give up after this; the watchdog judges a stalled listener by it.</summary>
    public TimeSpan RpcResponseTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Bodies above this size are refused without being decoded (nova's largest messages are far smaller).</summary>
    public int MaxMessageBytes { get; init; } = 32 * 1024 * 1024;

    /// <summary>Replies waiting in the retry queue for a missing reply queue, at most (the oldest are dropped first).</summary>
    public int ReplyRetryLimit { get; init; } = 1000;

    /// <summary>Bytes of replies waiting in the retry queue, at most.</summary>
    public long ReplyRetryBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>How many recent <c>_unique_id</c>s are remembered to drop redelivered duplicates (oslo: 16).</summary>
    public int DuplicateWindow { get; init; } = 16384;

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(Topic))
        {
            errors.Add("RPC topic must not be empty");
        }
        if (string.IsNullOrWhiteSpace(Server))
        {
            errors.Add("host must not be empty (it names the compute.<host> queue)");
        }
        if (ExecutorThreadPoolSize is < 1 or > ushort.MaxValue)
        {
            errors.Add($"executor_thread_pool_size must be between 1 and {ushort.MaxValue}");
        }
        if (GracefulShutdownTimeout < TimeSpan.Zero)
        {
            errors.Add("graceful_shutdown_timeout must not be negative");
        }
        if (ReplyRetryLimit < 1 || ReplyRetryBytes < 1)
        {
            errors.Add("the reply retry queue must hold at least one reply and one byte");
        }
        if (DuplicateWindow < 1)
        {
            errors.Add("the duplicate window must hold at least one id");
        }
        return errors;
    }
}
