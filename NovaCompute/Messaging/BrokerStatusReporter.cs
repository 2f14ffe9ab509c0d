using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace NovaCompute.Messaging;

/// <summary>
/// The one observer of the broker connection's state: it samples the consume connection (whose loss
/// is what stops the service from receiving work) every few seconds, sets the broker's piece of
/// systemd's STATUS= line ("broker connected" / "broker unreachable, retrying"), and answers the
/// status document. The connection keeper itself logs every loss and recovery.
/// </summary>
public sealed partial class BrokerStatusReporter(RabbitTransport transport, Systemd.IServiceStatus status, TimeProvider time, ILogger<BrokerStatusReporter> logger)
    : BackgroundService, IBrokerConnectionStatus
{
    internal static readonly TimeSpan SamplePeriod = TimeSpan.FromSeconds(5);

    private readonly object _gate = new();
    private bool? _connected;
    private DateTimeOffset? _since;

    /// <summary>Live, not the last sample: the status document should never lag the connection.</summary>
    public bool IsConnected => transport.ConsumeConnection.IsOpen;

    public string? Detail => $"{transport.Settings.TransportUrl} ({(IsConnected ? "connected" : "unreachable, retrying")})";

    /// <summary>When the sampled state last changed (within one sample period).</summary>
    public DateTimeOffset? Since
    {
        get
        {
            lock (_gate)
            {
                return _since;
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(SamplePeriod, time);
        do
        {
            var open = IsConnected;
            lock (_gate)
            {
                if (open == _connected)
                {
                    continue;
                }
                _connected = open;
                _since = time.GetUtcNow();
            }
            status.Set("broker", open ? "broker connected" : "broker unreachable, retrying");
            Log.BrokerState(logger, open ? "connected" : "unreachable", transport.Settings.TransportUrl.ToString());
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4901, Level = LogLevel.Debug, Message = "Broker {State} ({TransportUrl})")]
        public static partial void BrokerState(ILogger logger, string state, string transportUrl);
    }
}
