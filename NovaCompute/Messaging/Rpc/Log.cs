using Microsoft.Extensions.Logging;

namespace NovaCompute.Messaging.Rpc;

/// <summary>
/// Log events of the RPC server and client (event ids 4100–4199). Texts follow oslo.messaging's
/// where one exists, so operators' searches keep working.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(4100, LogLevel.Information,
        "RPC server listening on exchange {Exchange}: queues {Topic}, {Topic}.{Server} and {FanoutQueue} (workers {Workers}, prefetch {Prefetch})")]
    public static partial void Listening(ILogger logger, string exchange, string topic, string server, string fanoutQueue, int workers, int prefetch);

    [LoggerMessage(4101, LogLevel.Information, "RPC server {Topic}.{Server} consuming again after the connection was recovered")]
    public static partial void ConsumingAgain(ILogger logger, string topic, string server);

    [LoggerMessage(4102, LogLevel.Information, "RPC server {Topic}.{Server} stopping: waiting up to {Timeout} seconds for {InFlight} running request(s)")]
    public static partial void Stopping(ILogger logger, string topic, string server, double timeout, int inFlight);

    [LoggerMessage(4103, LogLevel.Warning, "RPC server {Topic}.{Server} stopped with {Abandoned} request(s) still running after graceful_shutdown_timeout; they were cancelled and will not be answered")]
    public static partial void Abandoned(ILogger logger, string topic, string server, int abandoned);

    [LoggerMessage(4104, LogLevel.Information, "RPC server {Topic}.{Server} stopped")]
    public static partial void Stopped(ILogger logger, string topic, string server);

    [LoggerMessage(4105, LogLevel.Error, "Failed to process message ... skipping it. {Problem} (queue {Queue}, {Bytes} bytes)")]
    public static partial void BadMessage(ILogger logger, string problem, string queue, int bytes);

    // ERROR, as oslo: amqpdriver.py AMQPListener.__call__ logs DuplicateMessageError with
    // LOG.exception("ignoring duplicate message %s", ctxt.msg_id) (oslo.messaging 14.0.3, line 315).
    // A redelivery after a broker node fails (the ack was lost with it) is what this guards against;
    // the request ran once, and the line says a broker lost an ack.
    [LoggerMessage(4106, LogLevel.Error, "ignoring duplicate message {MsgId} (unique id {UniqueId})")]
    public static partial void Duplicate(ILogger logger, string? msgId, string uniqueId);

    [LoggerMessage(4107, LogLevel.Debug, "received message msg_id: {MsgId} reply to {ReplyQueue}")]
    public static partial void ReceivedCall(ILogger logger, string msgId, string replyQueue);

    [LoggerMessage(4108, LogLevel.Debug, "received message with unique_id: {UniqueId}")]
    public static partial void ReceivedCast(ILogger logger, string? uniqueId);

    [LoggerMessage(4109, LogLevel.Error, "Exception during message handling")]
    public static partial void DispatchFailed(ILogger logger, Exception exception);

    [LoggerMessage(4110, LogLevel.Debug, "Expected exception during message handling ({Error})")]
    public static partial void ExpectedException(ILogger logger, string error);

    [LoggerMessage(4111, LogLevel.Debug, "sending reply msg_id: {MsgId} reply queue: {ReplyQueue} time elapsed: {Elapsed}s")]
    public static partial void SendingReply(ILogger logger, string msgId, string replyQueue, double elapsed);

    [LoggerMessage(4112, LogLevel.Debug, "The reply {MsgId} could not be sent due to a missing queue ({ReplyQueue}). Retrying...")]
    public static partial void ReplyQueueMissing(ILogger logger, string msgId, string replyQueue);

    [LoggerMessage(4113, LogLevel.Error, "The reply {MsgId} failed to send after {Duration} seconds due to a missing queue ({ReplyQueue}). Abandoning...")]
    public static partial void ReplyAbandoned(ILogger logger, string msgId, int duration, string replyQueue);

    [LoggerMessage(4114, LogLevel.Warning, "{ReplyQueue} doesn't exist, drop reply to {MsgId}")]
    public static partial void ReplyDropped(ILogger logger, string replyQueue, string msgId);

    [LoggerMessage(4115, LogLevel.Error, "Can not send reply for message {MsgId}")]
    public static partial void ReplyFailed(ILogger logger, Exception exception, string msgId);

    [LoggerMessage(4116, LogLevel.Warning, "Client provided an invalid timeout value of {Timeout}")]
    public static partial void InvalidClientTimeout(ILogger logger, double timeout);

    [LoggerMessage(4117, LogLevel.Debug, "Sending call-monitor heartbeat for active call to {Method} (interval={Interval})")]
    public static partial void SendingHeartbeat(ILogger logger, string method, int interval);

    [LoggerMessage(4118, LogLevel.Debug, "Call-monitor heartbeat failed: {Error}")]
    public static partial void HeartbeatFailed(ILogger logger, string error);

    [LoggerMessage(4119, LogLevel.Warning, "Discarding RPC request due to failed acknowledge: {Error}")]
    public static partial void AckFailed(ILogger logger, string error);

    [LoggerMessage(4120, LogLevel.Error, "Unexpected error while handling an RPC message; the listener keeps consuming")]
    public static partial void ProcessingCrashed(ILogger logger, Exception exception);

    [LoggerMessage(4121, LogLevel.Warning, "RPC server {Topic}.{Server}: consumer {ConsumerTag} was cancelled by the broker ({Queue}); it is declared and subscribed again")]
    public static partial void ConsumerCancelled(ILogger logger, string topic, string server, string consumerTag, string queue);

    [LoggerMessage(4122, LogLevel.Error, "RPC server {Topic}.{Server}: re-subscribing to {Queue} failed; retrying in {RetryIn} seconds")]
    public static partial void ResubscribeFailed(ILogger logger, Exception exception, string topic, string server, string queue, double retryIn);

    [LoggerMessage(4123, LogLevel.Warning, "Dropping the reply {MsgId} to {ReplyQueue}, which waited for its reply queue: the retry queue holds at most {Limit} replies and {ByteLimit} bytes")]
    public static partial void ReplyRetryOverflow(ILogger logger, string msgId, string replyQueue, int limit, long byteLimit);

    [LoggerMessage(4124, LogLevel.Warning, "Dropping the reply {MsgId} to {ReplyQueue} at shutdown: its reply queue still does not exist")]
    public static partial void ReplyDroppedAtStop(ILogger logger, string msgId, string replyQueue);

    [LoggerMessage(4125, LogLevel.Information, "Collected the memory of refused oversized messages: working set {BeforeMb} MB before, {AfterMb} MB after")]
    public static partial void MemoryReclaimed(ILogger logger, long beforeMb, long afterMb);

    [LoggerMessage(4130, LogLevel.Information, "No calling threads waiting for msg_id : {MsgId}")]
    public static partial void NoWaiter(ILogger logger, string msgId);

    [LoggerMessage(4131, LogLevel.Error, "Failed to process reply ... skipping it. {Problem}")]
    public static partial void BadReply(ILogger logger, string problem);

    [LoggerMessage(4132, LogLevel.Information, "RPC reply queue {ReplyQueue} declared and consumed")]
    public static partial void ReplyQueueReady(ILogger logger, string replyQueue);

    [LoggerMessage(4133, LogLevel.Warning, "RPC reply queue {ReplyQueue} consumer cancelled by the broker; {Pending} waiting call(s) failed, the queue is declared again on the next call")]
    public static partial void ReplyQueueLost(ILogger logger, string replyQueue, int pending);

    [LoggerMessage(4134, LogLevel.Debug, "Call-monitor heartbeat received for msg_id {MsgId}")]
    public static partial void HeartbeatReceived(ILogger logger, string msgId);

    [LoggerMessage(4126, LogLevel.Warning, "The reply {MsgId} to {ReplyQueue} is not sent again: {Problem}. A second copy would answer the call twice; if this one was lost, the caller times out")]
    public static partial void ReplyUnconfirmed(ILogger logger, string msgId, string replyQueue, string problem);
}
