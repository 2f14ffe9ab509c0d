using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace NovaCompute.Messaging;

/// <summary>What happened to a published message once the broker confirmed it.</summary>
public enum PublishOutcome
{
    /// <summary>Routed to at least one queue (or not mandatory).</summary>
    Routed,

    /// <summary>Mandatory and unroutable: the broker returned it (no queue bound for the key).</summary>
    Returned,
}

/// <summary>An exchange the publisher declares (once per channel) before its first publish to it, as oslo does.</summary>
public sealed record ExchangeDeclaration(string Name, string Type, bool Durable, bool AutoDelete);

/// <summary>One message to publish with oslo's AMQP properties.</summary>
public readonly record struct OutgoingMessage(
    string Exchange,
    string RoutingKey,
    ReadOnlyMemory<byte> Body,
    bool Mandatory = false,
    string? Expiration = null,
    ExchangeDeclaration? Declare = null,
    bool RetryUnconfirmed = true);

/// <summary>
/// Publishes on the transport's publish connection with publisher confirms (oslo publishes with
/// <c>confirm_publish</c>), so a completed publish means the broker has the message. Confirms are
/// tracked here rather than by RabbitMQ.Client, whose tracking adds an <c>x-dotnet-pub-seq-no</c>
/// header to every message; oslo sends an empty header table and so do we. The library's tracking
/// was built and measured against this one: no faster, a little more broker CPU for the header
/// (docs/performance.md, "Broker cost"). Without that header a basic.return carries no sequence
/// number, so returns of mandatory messages are matched to their publish by exchange, routing key
/// and body: exact, and run only for returned messages. Publishes are retried
/// across connection loss until the caller's token fires; nothing here blocks other publishers
/// beyond the few microseconds one frame write takes (unlike oslo's pool of 30 connections).
/// </summary>
public sealed class ConfirmingPublisher : IAsyncDisposable
{
    private static readonly TimeSpan ConfirmTimeout = TimeSpan.FromSeconds(30);
    private readonly RabbitConnectionKeeper _connection;
    private readonly RabbitSettings _settings;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lane[] _lanes;
    private int _next;

    public ConfirmingPublisher(RabbitConnectionKeeper connection, RabbitSettings settings, ILogger logger, TimeProvider time, int channels = 2)
    {
        _connection = connection;
        _settings = settings;
        _logger = logger;
        _time = time;
        _lanes = Enumerable.Range(0, Math.Max(1, channels)).Select(_ => new Lane(this)).ToArray();
        // A confirm that never comes (its channel was replaced mid-publish) must not hang the
        // caller; one sweep for all publishes is far cheaper than a timer per publish.
        _sweeper = time.CreateTimer(static state => ((ConfirmingPublisher)state!).Sweep(), this, ConfirmTimeout / 3, ConfirmTimeout / 3);
    }

    private readonly ITimer _sweeper;

    private void Sweep()
    {
        var now = _time.GetTimestamp();
        foreach (var lane in _lanes)
        {
            lane.FailOlderThan(now, ConfirmTimeout);
        }
    }

    /// <summary>
    /// Publishes and waits for the broker's confirm; retries through connection loss until
    /// <paramref name="cancellationToken"/> fires, except a message already written whose confirm
    /// was lost when <see cref="OutgoingMessage.RetryUnconfirmed"/> is false
    /// (<see cref="PublishUnconfirmedException"/>).
    /// </summary>
    public async ValueTask<PublishOutcome> PublishAsync(OutgoingMessage message, CancellationToken cancellationToken)
    {
        var lane = _lanes[(uint)Interlocked.Increment(ref _next) % (uint)_lanes.Length];
        var delay = TimeSpan.FromSeconds(Math.Max(1, _settings.RabbitRetryInterval));
        var maxDelay = TimeSpan.FromSeconds(Math.Max(_settings.RabbitIntervalMax, 1));
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                return await lane.PublishAsync(message, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsTransient(ex) && !cancellationToken.IsCancellationRequested)
            {
                Log.PublishFailed(_logger, message.Exchange, message.RoutingKey, ex.Message, delay.TotalSeconds);
            }
            await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            delay = delay + delay > maxDelay ? maxDelay : delay + delay;
        }
    }

    private static bool IsTransient(Exception ex) => ex switch
    {
        // 403/404/406 on a declare or publish are configuration problems: retrying cannot help.
        OperationInterruptedException { ShutdownReason.ReplyCode: 403 or 404 or 406 } => false,
        OperationCanceledException => false,
        AlreadyClosedException or OperationInterruptedException or PublishNackedException or TimeoutException
            or IOException or BrokerUnreachableException => true,
        _ => false,
    };

    public async ValueTask DisposeAsync()
    {
        await _sweeper.DisposeAsync().ConfigureAwait(false);
        foreach (var lane in _lanes)
        {
            await lane.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>One channel with its own publish lock and confirm table.</summary>
    private sealed class Lane(ConfirmingPublisher owner) : IAsyncDisposable
    {
        private readonly SemaphoreSlim _channelGate = new(1, 1);
        private readonly SemaphoreSlim _publishGate = new(1, 1);
        private readonly Lock _pendingLock = new();
        private readonly Dictionary<ulong, Pending> _pending = [];
        private readonly HashSet<string> _declared = new(StringComparer.Ordinal);
        private IChannel? _channel;

        public async ValueTask<PublishOutcome> PublishAsync(OutgoingMessage message, CancellationToken cancellationToken)
        {
            var channel = await GetChannelAsync(cancellationToken).ConfigureAwait(false);
            if (message.Declare is { } declare && !IsDeclared(declare.Name))
            {
                await channel.ExchangeDeclareAsync(declare.Name, declare.Type, declare.Durable, declare.AutoDelete,
                    arguments: null, cancellationToken: cancellationToken).ConfigureAwait(false);
                lock (_pendingLock)
                {
                    _declared.Add(declare.Name);
                }
            }

            var properties = new BasicProperties
            {
                ContentType = "application/json",
                ContentEncoding = "utf-8",
                DeliveryMode = DeliveryModes.Persistent,
                Priority = 0,
                Expiration = message.Expiration,
                Headers = new Dictionary<string, object?>(),
            };
            var pending = new Pending(message, owner._time.GetTimestamp());
            ulong sequence;
            await _publishGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                sequence = await channel.GetNextPublishSequenceNumberAsync(cancellationToken).ConfigureAwait(false);
                lock (_pendingLock)
                {
                    _pending[sequence] = pending;
                }
                try
                {
                    await channel.BasicPublishAsync(message.Exchange, message.RoutingKey, message.Mandatory, properties,
                        message.Body, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    lock (_pendingLock)
                    {
                        _pending.Remove(sequence);
                    }
                    throw;
                }
            }
            finally
            {
                _publishGate.Release();
            }

            try
            {
                await pending.Confirmed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!message.RetryUnconfirmed && ex is AlreadyClosedException or TimeoutException)
            {
                // Written, but whether the broker routed it is unknown: publishing it again could deliver it twice.
                throw new PublishUnconfirmedException(ex);
            }
            finally
            {
                lock (_pendingLock)
                {
                    if (_pending.TryGetValue(sequence, out var current) && ReferenceEquals(current, pending))
                    {
                        _pending.Remove(sequence);
                    }
                }
            }
            return pending.Returned ? PublishOutcome.Returned : PublishOutcome.Routed;
        }

        private bool IsDeclared(string exchange)
        {
            lock (_pendingLock)
            {
                return _declared.Contains(exchange);
            }
        }

        private async ValueTask<IChannel> GetChannelAsync(CancellationToken cancellationToken)
        {
            if (_channel is { IsOpen: true } open)
            {
                return open;
            }
            var connection = await owner._connection.GetAsync(cancellationToken).ConfigureAwait(false);
            await _channelGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (_channel is { IsOpen: true } raced)
                {
                    return raced;
                }
                if (!connection.IsOpen)
                {
                    // The client is recovering the connection (and will recover this channel with it).
                    throw new AlreadyClosedException(connection.CloseReason!);
                }
                if (_channel is { } closed)
                {
                    // Closed by a channel-level error (404/406...): such channels are not recovered.
                    await closed.DisposeAsync().ConfigureAwait(false);
                }
                lock (_pendingLock)
                {
                    _declared.Clear();
                }
                // Opened by whichever publish comes first, used by all: no request's context in its loops.
                var channel = await ExecutionContextFree.Run(() => connection.CreateChannelAsync(
                    new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: false),
                    cancellationToken)).ConfigureAwait(false);
                channel.BasicAcksAsync += (_, args) =>
                {
                    Complete(args.DeliveryTag, args.Multiple, nack: false);
                    return Task.CompletedTask;
                };
                channel.BasicNacksAsync += (_, args) =>
                {
                    Complete(args.DeliveryTag, args.Multiple, nack: true);
                    return Task.CompletedTask;
                };
                channel.BasicReturnAsync += (_, args) =>
                {
                    OnReturn(args);
                    return Task.CompletedTask;
                };
                channel.ChannelShutdownAsync += (_, args) =>
                {
                    FailAll(args);
                    return Task.CompletedTask;
                };
                _channel = channel;
                return channel;
            }
            finally
            {
                _channelGate.Release();
            }
        }

        private void Complete(ulong tag, bool multiple, bool nack)
        {
            List<Pending>? done = null;
            lock (_pendingLock)
            {
                if (!multiple)
                {
                    if (_pending.Remove(tag, out var one))
                    {
                        (done = []).Add(one);
                    }
                }
                else
                {
                    foreach (var (sequence, pending) in _pending)
                    {
                        if (sequence <= tag)
                        {
                            (done ??= []).Add(pending);
                        }
                    }
                    if (done is not null)
                    {
                        foreach (var key in _pending.Where(p => p.Key <= tag).Select(p => p.Key).ToList())
                        {
                            _pending.Remove(key);
                        }
                    }
                }
            }
            if (done is null)
            {
                return;
            }
            foreach (var pending in done)
            {
                if (nack)
                {
                    pending.Confirmed.TrySetException(new PublishNackedException());
                }
                else
                {
                    pending.Confirmed.TrySetResult();
                }
            }
        }

        private void OnReturn(BasicReturnEventArgs args)
        {
            // The broker sends basic.return before the confirm of the same message, on the same
            // channel, so marking it here is seen by the publisher when the confirm completes it.
            lock (_pendingLock)
            {
                foreach (var pending in _pending.Values)
                {
                    if (!pending.Returned && pending.Message.RoutingKey == args.RoutingKey &&
                        pending.Message.Exchange == args.Exchange && pending.Message.Body.Span.SequenceEqual(args.Body.Span))
                    {
                        pending.Returned = true;
                        return;
                    }
                }
            }
        }

        public void FailOlderThan(long now, TimeSpan age)
        {
            List<Pending>? stale = null;
            lock (_pendingLock)
            {
                foreach (var (sequence, pending) in _pending)
                {
                    if (owner._time.GetElapsedTime(pending.Started, now) >= age)
                    {
                        (stale ??= []).Add(pending);
                    }
                }
                if (stale is not null)
                {
                    foreach (var key in _pending.Where(p => stale.Contains(p.Value)).Select(p => p.Key).ToList())
                    {
                        _pending.Remove(key);
                    }
                }
            }
            foreach (var pending in stale ?? [])
            {
                pending.Confirmed.TrySetException(new TimeoutException($"No publisher confirm within {age.TotalSeconds} seconds"));
            }
        }

        private void FailAll(ShutdownEventArgs reason)
        {
            List<Pending> failed;
            lock (_pendingLock)
            {
                failed = [.. _pending.Values];
                _pending.Clear();
                _declared.Clear();
            }
            if (failed.Count > 0)
            {
                Log.PublisherChannelClosed(owner._logger, $"{reason.ReplyCode} {reason.ReplyText}");
            }
            foreach (var pending in failed)
            {
                pending.Confirmed.TrySetException(new AlreadyClosedException(reason));
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_channel is { } channel)
            {
                _channel = null;
                try
                {
                    await channel.CloseAsync().ConfigureAwait(false);
                }
                catch (Exception ex) when (BrokerError.IsGone(ex))
                {
                    // Already gone with its connection.
                }
                await channel.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private sealed class Pending(OutgoingMessage message, long started)
    {
        public OutgoingMessage Message { get; } = message;
        public long Started { get; } = started;
        public TaskCompletionSource Confirmed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public bool Returned { get; set; }
    }
}

/// <summary>
/// A message with <see cref="OutgoingMessage.RetryUnconfirmed"/> false was written, but its channel
/// closed (or no confirm came) before the broker confirmed it: it may or may not have been routed,
/// and it is not published again.
/// </summary>
public sealed class PublishUnconfirmedException(Exception inner)
    : Exception($"the broker did not confirm the message before its channel closed ({inner.Message}); it may have been delivered", inner);

/// <summary>The broker refused a message (basic.nack); it is published again.</summary>
public sealed class PublishNackedException() : Exception("The broker did not accept the message (basic.nack)");
