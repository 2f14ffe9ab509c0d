using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace NovaCompute.Messaging;

/// <summary>
/// Opens the broker connections while the database is migrated and the service record written,
/// instead of after: nova's start order (record first, then the RPC server's queues and consumers,
/// reference §2.4) is about what the broker is *asked*, and a connection asks it nothing. Start-up
/// used to pay the schema migration and the AMQP handshakes one after the other; now they overlap
/// (docs/performance.md). The RPC server and the publisher find the connection open, or wait for
/// this connect (the keeper's gate) exactly as they would have waited for their own; a broker that
/// is down is retried here with the keeper's usual back-off and log lines.
/// </summary>
public sealed partial class BrokerPreconnect(RabbitTransport transport, IHostApplicationLifetime lifetime, ILogger<BrokerPreconnect> logger)
    : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stop = CancellationTokenSource.CreateLinkedTokenSource(lifetime.ApplicationStopping);
    private Task _connecting = Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Not awaited: the point is that the host goes on starting the services registered after this one.
        _connecting = Task.WhenAll(ConnectAsync(transport.ConsumeConnection), ConnectAsync(transport.PublishConnection));
        return Task.CompletedTask;
    }

    private async Task ConnectAsync(RabbitConnectionKeeper keeper)
    {
        try
        {
            await Task.Yield();
            await keeper.GetAsync(_stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Stopped while the broker was still unreachable.
        }
        catch (ObjectDisposedException)
        {
            // The transport was disposed under us (start-up failed elsewhere).
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Whoever needs the connection next connects (and reports) again.
            Log.PreconnectFailed(logger, ex, keeper.Purpose);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _connecting.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => _stop.Dispose();

    private static partial class Log
    {
        [LoggerMessage(EventId = 1340, Level = LogLevel.Warning, Message = "Opening the {Purpose} connection ahead of the RPC server failed")]
        public static partial void PreconnectFailed(ILogger logger, Exception exception, string purpose);
    }
}
