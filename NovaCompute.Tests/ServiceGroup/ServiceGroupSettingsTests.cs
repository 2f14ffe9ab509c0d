using Microsoft.Extensions.Logging;
using NovaCompute.Config;
using NovaCompute.ServiceGroup;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.ServiceGroup;

public class ServiceGroupSettingsTests
{
    [TestCase(10, 60, 60)]
    [TestCase(60, 50, 150)]
    [TestCase(10, 10, 25)]
    [TestCase(7, 5, 17)]
    [TestCase(50, 55, 55)]
    public void Create_NovasRule_CorrectsOnlyWhenDownTimeIsNotAboveTheInterval(int reportInterval, int serviceDownTime, int expected)
    {
        var logs = new LogCollector();
        var settings = ServiceGroupSettings.Create(reportInterval, serviceDownTime, logs.CreateLogger("test"));
        Assert.That(settings.ServiceDownTime, Is.EqualTo(expected));
        Assert.That(logs.Messages(LogLevel.Warning).Count(), Is.EqualTo(expected == serviceDownTime ? 0 : 1));
    }

    [Test]
    public void Create_Corrected_LogsNovasWarningText()
    {
        var logs = new LogCollector();
        ServiceGroupSettings.Create(60, 50, logs.CreateLogger("test"));
        Assert.That(logs.Messages(LogLevel.Warning).Single(), Is.EqualTo(
            "Report interval must be less than service down time. Current config: <service_down_time: 50, report_interval: 60>. Setting service_down_time to: 150"));
    }

    [Test]
    public void Create_ReportIntervalZero_DisablesHeartbeatsLoudly()
    {
        var logs = new LogCollector();
        var settings = ServiceGroupSettings.Create(0, 60, logs.CreateLogger("test"));
        Assert.That(settings.HeartbeatsEnabled, Is.False);
        Assert.That(logs.Messages(LogLevel.Warning).Single(), Does.StartWith("report_interval is 0: this service will NOT report its state."));
    }

    [Test]
    public void ConfigServiceGroupSettings_ReloadChangesInterval_RecomputesAndSignals()
    {
        var options = ServiceGroupOptions.All;
        var monitor = new Monitor(NovaConfig.FromValues(options));
        using var source = new ConfigServiceGroupSettings(monitor, new LogCollector().CreateLogger<ConfigServiceGroupSettings>());
        var signalled = 0;
        source.Changed += () => signalled++;
        Assert.That(source.Current.ReportIntervalSeconds, Is.EqualTo(10));

        monitor.Raise(NovaConfig.FromValues(options, new Dictionary<Opt, string> { [ServiceGroupOptions.ReportInterval] = "30" }), [ServiceGroupOptions.ReportInterval]);

        Assert.That(source.Current.ReportIntervalSeconds, Is.EqualTo(30));
        Assert.That(source.Current.ServiceDownTime, Is.EqualTo(60));
        Assert.That(signalled, Is.EqualTo(1));

        monitor.Raise(NovaConfig.FromValues(options), [LoggingOptionsStandIn]);
        Assert.That(signalled, Is.EqualTo(1), "other options do not concern the heartbeat");
    }

    private static readonly Opt LoggingOptionsStandIn = new BoolOpt("debug", false);

    private sealed class Monitor(NovaConfig initial) : IConfigMonitor
    {
        public NovaConfig Current { get; private set; } = initial;

        public event Action<NovaConfig, IReadOnlyList<Opt>>? Changed;

        public void Raise(NovaConfig config, IReadOnlyList<Opt> changed)
        {
            Current = config;
            Changed?.Invoke(config, changed);
        }
    }
}
