using Microsoft.Extensions.Logging;

namespace NovaCompute.Messaging.Rpc;

/// <summary>
/// What a worker does with one request: open the envelope, read and check the request, drop a
/// redelivered duplicate, dispatch it under a call monitor, and answer a call — with the result,
/// the endpoint's failure, or (for a request that cannot be handled) a problem naming what was
/// wrong. oslo_messaging/rpc/server.py <c>_process_incoming</c> and amqpdriver.py <c>reply</c>.
/// </summary>
internal sealed class RpcRequestHandler : IAsyncDisposable
{
    private readonly RpcDispatcher _dispatcher;
    private readonly RpcReplySender _replies;
    private readonly DuplicateFilter _duplicates;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _abandon = new();

    public RpcRequestHandler(RabbitTransport transport, RpcServerSettings settings, RpcDispatcher dispatcher, ILogger logger, TimeProvider time)
    {
        _dispatcher = dispatcher;
        _logger = logger;
        _time = time;
        _duplicates = new DuplicateFilter(settings.DuplicateWindow);
        _replies = new RpcReplySender(transport.Publisher, TimeSpan.FromSeconds(transport.Settings.KombuMissingConsumerRetryTimeout),
            settings.ReplyRetryLimit, settings.ReplyRetryBytes, logger, time);
    }

    /// <summary>A request refused before it was decoded, and where to say so.</summary>
    public sealed record Refusal(RpcMessageProblem Problem, ReplyAddress? ReplyTo);

    /// <summary>Replies waiting in the retry queue for their reply queue to appear.</summary>
    public int RepliesWaitingForQueue => _replies.Pending;

    /// <summary>Handles one delivery's body; never throws (but for running out of memory).</summary>
    public async Task ProcessAsync(string queue, byte[] body)
    {
        OpenedMessage? message = null;
        try
        {
            if (!RpcEnvelope.TryOpen(body, out message, out var envelopeProblem))
            {
                // An unwrapped or unsupported-version message may still say where to answer.
                await RejectAsync(queue, body.Length, envelopeProblem!, message is null ? null : ReplyAddress.Of(message.Root)).ConfigureAwait(false);
                return;
            }
            if (!RpcRequestReader.TryRead(message!.Root, out var request, out var problem))
            {
                await RejectAsync(queue, body.Length, problem!, ReplyAddress.Of(message.Root)).ConfigureAwait(false);
                return;
            }
            await HandleAsync(request!).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.ProcessingCrashed(_logger, ex);
        }
        finally
        {
            message?.Dispose();
        }
    }

    /// <summary>Answers a refused request (already logged when it arrived); never throws (but for running out of memory).</summary>
    public async Task RefuseAsync(Refusal refusal)
    {
        try
        {
            if (refusal.ReplyTo is { } replyTo)
            {
                await ReplyAsync(replyTo, null, FailureText(refusal.Problem), null).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.ProcessingCrashed(_logger, ex);
        }
    }

    /// <summary>Requests still running when a stop ran out of time are cancelled and not answered.</summary>
    public Task AbandonAsync() => _abandon.CancelAsync();

    private async Task HandleAsync(IncomingRequest incoming)
    {
        var replyTo = incoming.ReplyTo;
        if (incoming.UniqueId is { } uniqueId && !_duplicates.TryAdd(uniqueId))
        {
            Log.Duplicate(_logger, incoming.MsgId, uniqueId);
            return;
        }
        var request = incoming.Request;
        using var scope = _logger.BeginScope(request.Context.LogScope());
        if (replyTo is { } address)
        {
            Log.ReceivedCall(_logger, address.MsgId, address.ReplyQueue);
        }
        else
        {
            Log.ReceivedCast(_logger, incoming.UniqueId);
        }

        var started = _time.GetTimestamp();
        var monitor = replyTo is { } heartbeatTo
            ? CallMonitor.Start(incoming.Timeout, ct => _replies.SendHeartbeatAsync(heartbeatTo.MsgId, heartbeatTo.ReplyQueue, ct), request.Method, _time, _logger)
            : null;
        object? result = null;
        string? failure = null;
        try
        {
            result = await _dispatcher.DispatchInScopeAsync(request, _abandon.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_abandon.IsCancellationRequested)
        {
            return; // cut short by a stop that ran out of time; counted in the "abandoned" warning
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogFailure(ex);
            failure = RpcFailure.Serialize(ex, _dispatcher.Serializer, request.Context);
        }
        finally
        {
            if (monitor is not null)
            {
                await monitor.DisposeAsync().ConfigureAwait(false);
            }
        }

        if (replyTo is { } to && !_abandon.IsCancellationRequested)
        {
            Log.SendingReply(_logger, to.MsgId, to.ReplyQueue, _time.GetElapsedTime(started).TotalSeconds);
            await ReplyAsync(to, result, failure, request.Context).ConfigureAwait(false);
        }
    }

    private void LogFailure(Exception ex)
    {
        if (ex is RemoteException remote and not (NoSuchMethodException or UnsupportedVersionException or RpcArgumentException))
        {
            // Thrown on purpose by the endpoint: oslo's expected_exceptions.
            Log.ExpectedException(_logger, $"{remote.QualifiedName}: {remote.Message}");
        }
        else
        {
            Log.DispatchFailed(_logger, ex);
        }
    }

    /// <summary>Logs a request that cannot be handled and, when it says where, answers the caller with the problem.</summary>
    private async Task RejectAsync(string queue, int size, RpcMessageProblem problem, ReplyAddress? replyTo)
    {
        Log.BadMessage(_logger, problem.Description, queue, size);
        if (replyTo is { } to)
        {
            await ReplyAsync(to, null, FailureText(problem), null).ConfigureAwait(false);
        }
    }

    private string FailureText(RpcMessageProblem problem) => RpcFailure.Serialize(problem.ToRemoteException(), _dispatcher.Serializer, null);

    private async Task ReplyAsync(ReplyAddress to, object? result, string? failure, RequestContext? context)
    {
        byte[] body;
        try
        {
            body = RpcMessages.Reply(to.MsgId, result, failure, ending: true, _dispatcher.Serializer, context);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The result could not be serialized: the caller gets that error instead of a timeout.
            Log.DispatchFailed(_logger, ex);
            body = RpcMessages.Reply(to.MsgId, null, RpcFailure.Serialize(ex, _dispatcher.Serializer, context), ending: true, _dispatcher.Serializer, context);
        }
        await _replies.SendAsync(to.MsgId, to.ReplyQueue, body, _abandon.Token).ConfigureAwait(false);
    }

    /// <summary>
    /// At stop: replies still waiting for a reply queue are dropped, each logged. Waiting up to a
    /// minute for a client that may never come back would hold up every stop.
    /// </summary>
    public ValueTask DropWaitingRepliesAsync() => _replies.DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        await _replies.DisposeAsync().ConfigureAwait(false);
        _abandon.Dispose();
    }
}
