using Microsoft.Extensions.Logging;

namespace NovaCompute.Messaging;

/// <summary>
/// The process's RabbitMQ transport: one publish connection (with its confirming channels) and one
/// consume connection, shared by the RPC server, the RPC client and anything else that talks AMQP.
/// Connections open on first use.
/// </summary>
public sealed class RabbitTransport : IAsyncDisposable
{
    public RabbitTransport(RabbitSettings settings, ILoggerFactory loggerFactory, TimeProvider time)
    {
        var errors = settings.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(Environment.NewLine, errors), nameof(settings));
        }
        Settings = settings;
        Time = time;
        var logger = loggerFactory.CreateLogger("NovaCompute.Messaging.RabbitTransport");
        _logger = logger;
        PublishConnection = new RabbitConnectionKeeper(settings, "publish", logger, time);
        ConsumeConnection = new RabbitConnectionKeeper(settings, "consume", logger, time);
        Publisher = new ConfirmingPublisher(PublishConnection, settings, logger, time);
    }

    private readonly ILogger _logger;

    public RabbitSettings Settings { get; }

    public TimeProvider Time { get; }

    public RabbitConnectionKeeper PublishConnection { get; }

    public RabbitConnectionKeeper ConsumeConnection { get; }

    public ConfirmingPublisher Publisher { get; }

    /// <summary>A connection beside the pair, for a short job of the caller's (which disposes it): logged as the pair's are.</summary>
    public RabbitConnectionKeeper ExtraConnection(string purpose) => new(Settings, purpose, _logger, Time);

    public async ValueTask DisposeAsync()
    {
        await Publisher.DisposeAsync().ConfigureAwait(false);
        await PublishConnection.DisposeAsync().ConfigureAwait(false);
        await ConsumeConnection.DisposeAsync().ConfigureAwait(false);
    }
}
