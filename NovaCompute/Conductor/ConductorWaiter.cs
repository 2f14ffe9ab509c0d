using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NovaCompute.Messaging.Rpc;
using NovaCompute.Systemd;

namespace NovaCompute.Conductor;

/// <summary>What <see cref="ConductorWaiter"/> needs from the configuration.</summary>
internal sealed record ConductorWaitSettings
{
    /// <summary><c>rpc_response_timeout</c>: the timeout of every attempt after the first ten.</summary>
    public TimeSpan RpcResponseTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>nova/conductor/api.py <c>wait_until_ready</c>: the first ten attempts wait 10 s each.</summary>
    public TimeSpan EarlyAttemptTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public int EarlyAttempts { get; init; } = 10;

    /// <summary>How often a topic nobody consumes yet is asked again within one attempt.</summary>
    public TimeSpan UndeliverableRetry { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// nova/conductor/api.py <c>API.wait_until_ready</c>, which nova's <c>Service.__init__</c> runs before
/// anything else when objects go through the conductor (nova/service.py): ping the conductor until it
/// answers, with nova's per-attempt timeouts and warning, without an overall deadline. It runs in
/// <see cref="StartAsync"/>, so the host (and READY=1) waits for it; systemd's STATUS says what it
/// waits for and each attempt extends the unit's start timeout. A stop request ends the wait at once.
/// </summary>
internal sealed class ConductorWaiter(ConductorApi conductor, ConductorWaitSettings settings, TimeProvider time,
    ILogger<ConductorWaiter> logger, IServiceStatus? status = null, ISystemdNotifier? notifier = null) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var timeouts = 0;
        for (var attempt = 1; ; attempt++)
        {
            var timeout = attempt <= settings.EarlyAttempts ? settings.EarlyAttemptTimeout : settings.RpcResponseTimeout;
            status?.Set("conductor", attempt == 1
                ? "Waiting for nova-conductor"
                : $"Waiting for nova-conductor (attempt {attempt.ToString(CultureInfo.InvariantCulture)}; is it running?)");
            if (notifier?.IsEnabled == true)
            {
                // sd_notify(3): a wait of unknown length must not run into TimeoutStartSec.
                var extend = (long)(timeout + TimeSpan.FromSeconds(30)).TotalMicroseconds;
                notifier.Notify("EXTEND_TIMEOUT_USEC=" + extend.ToString(CultureInfo.InvariantCulture));
            }
            if (await AttemptAsync(timeout, cancellationToken).ConfigureAwait(false))
            {
                if (timeouts > 0)
                {
                    Log.ConductorEstablished(logger);
                }
                status?.Set("conductor", null);
                return;
            }
            timeouts++;
            Log.ConductorTimedOut(logger);
        }
    }

    /// <summary>One of nova's attempts: true when the conductor answered within <paramref name="timeout"/>.</summary>
    private async Task<bool> AttemptAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + timeout;
        while (true)
        {
            var left = deadline - time.GetUtcNow();
            if (left <= TimeSpan.Zero)
            {
                return false;
            }
            try
            {
                await conductor.PingAsync(left, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (MessagingTimeoutException)
            {
                return false;
            }
            catch (MessageUndeliverableException)
            {
                // No queue for topic conductor at all (no conductor ever started on this vhost).
                // nova cannot tell and waits out the attempt; we know at once, so ask again soon
                // within the same attempt, and warn once per attempt as nova does.
                if (left <= settings.UndeliverableRetry)
                {
                    return false;
                }
                await Task.Delay(settings.UndeliverableRetry, time, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RemoteException or ConductorReplyException or IOException
                or RabbitMQ.Client.Exceptions.BrokerUnreachableException or RabbitMQ.Client.Exceptions.AlreadyClosedException)
            {
                // The broker is away or the conductor answered with an error: not ready, try again.
                Log.PingFailed(logger, ex.Message);
                if (left <= settings.UndeliverableRetry)
                {
                    return false;
                }
                await Task.Delay(settings.UndeliverableRetry, time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
