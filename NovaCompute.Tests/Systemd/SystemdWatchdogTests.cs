using Microsoft.Extensions.Logging;
using NovaCompute.Systemd;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Systemd;

public class SystemdWatchdogTests
{
    private sealed class SwitchableCheck : IWatchdogCheck
    {
        public string Name => "heartbeat";
        public string? CurrentProblem { get; set; }
        public string? Problem(DateTimeOffset now) => CurrentProblem;
    }

    [Test]
    public async Task Execute_HealthyThenWedgedThenHealthy_PetsOnlyWhileHealthy()
    {
        using var receiver = DatagramReceiver.BindPath();
        var notifier = new SystemdNotifier(receiver.Address);
        var time = new FakeTimeProvider();
        var check = new SwitchableCheck();
        var logs = new LogCollector();
        using var watchdog = new SystemdWatchdog(new SystemdEnvironment(receiver.Address, TimeSpan.FromSeconds(20)), notifier, [check], time, logs.CreateLogger<SystemdWatchdog>());

        await watchdog.StartAsync(CancellationToken.None);
        Assert.That(await receiver.ReceiveAsync(), Is.EqualTo("WATCHDOG=1"), "first keep-alive at once");

        await time.WaitForTimersAsync();
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.That(await receiver.ReceiveAsync(), Is.EqualTo("WATCHDOG=1"), "then every half interval");

        check.CurrentProblem = "overdue by 40 s";
        for (var i = 0; i < 3; i++)
        {
            await time.WaitForTimersAsync();
            time.Advance(TimeSpan.FromSeconds(10));
        }
        await Eventually.Until(() => logs.Messages(LogLevel.Error).Any());
        Assert.That(receiver.Drain(), Is.Empty, "no keep-alive while wedged");
        Assert.That(logs.Messages(LogLevel.Error).Single(), Is.EqualTo("Withholding the systemd watchdog keep-alive: heartbeat: overdue by 40 s"));

        check.CurrentProblem = null;
        await time.WaitForTimersAsync();
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.That(await receiver.ReceiveAsync(), Is.EqualTo("WATCHDOG=1"));
        await Eventually.Until(() => logs.Messages(LogLevel.Information).Any(m => m.Contains("resumed")));

        await watchdog.StopAsync(CancellationToken.None);
    }

    [Test]
    public async Task Execute_NoWatchdogRequested_SendsNothing()
    {
        using var receiver = DatagramReceiver.BindPath();
        var notifier = new SystemdNotifier(receiver.Address);
        using var watchdog = new SystemdWatchdog(new SystemdEnvironment(receiver.Address, null), notifier, [], new FakeTimeProvider(), new LogCollector().CreateLogger<SystemdWatchdog>());
        await watchdog.StartAsync(CancellationToken.None);
        await watchdog.ExecuteTask!;
        Assert.That(receiver.Drain(), Is.Empty);
    }

}
