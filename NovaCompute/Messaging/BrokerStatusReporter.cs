using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace NovaCompute.Messaging;

/// <summary>
/// The broker's piece of systemd's STATUS= line ("broker connected" / "broker unreachable, retrying"),
/// sampled every few seconds from the consume connection, whose loss is what stops the service from
/// receiving work. The connection keeper itself logs every loss and recovery.
/// </summary>
public sealed partial class BrokerStatusReporter(RabbitTransport transport, Systemd.IServiceStatus status, TimeProvider time, ILogger<BrokerStatusReporter> logger)
    : BackgroundService
{
    internal static readonly TimeSpan SamplePeriod = TimeSpan.FromSeconds(5);

    /// <summary>Whether the consume connection was open at the last sample; null before the first.</summary>
    public bool? Connected { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(SamplePeriod, time);
        do
        {
            var open = transport.ConsumeConnection.IsOpen;
            if (open != Connected)
            {
                Connected = open;
                var url = transport.Settings.TransportUrl;
                status.Set("broker", open ? "broker connected" : "broker unreachable, retrying");
                Log.BrokerState(logger, open ? "connected" : "unreachable", url.ToString());
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4901, Level = LogLevel.Debug, Message = "Broker {State} ({TransportUrl})")]
        public static partial void BrokerState(ILogger logger, string state, string transportUrl);
    }
}
