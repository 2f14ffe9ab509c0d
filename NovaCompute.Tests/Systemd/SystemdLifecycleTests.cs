using NovaCompute.Systemd;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Systemd;

public class SystemdLifecycleTests
{
    [Test]
    public async Task Lifecycle_StartReloadStop_SendsReadyReloadingAndStopping()
    {
        using var receiver = DatagramReceiver.BindPath();
        var notifier = new SystemdNotifier(receiver.Address);
        var lifecycle = new SystemdLifecycle(notifier, new ServiceStatus(notifier), new LogCollector().CreateLogger<SystemdLifecycle>());

        await lifecycle.StartingAsync(CancellationToken.None);
        await lifecycle.StartedAsync(CancellationToken.None);
        var before = SystemdNotifier.MonotonicMicroseconds();
        await lifecycle.ReloadAsync(_ => Task.CompletedTask, CancellationToken.None);
        await lifecycle.StoppingAsync(CancellationToken.None);

        Assert.That(await receiver.ReceiveAsync(), Is.EqualTo("STATUS=Starting"));
        Assert.That(await receiver.ReceiveAsync(), Is.EqualTo("STATUS=Running"));
        Assert.That(await receiver.ReceiveAsync(), Is.EqualTo("READY=1"));
        var reloading = (await receiver.ReceiveAsync()).Split('\n');
        Assert.That(reloading[0], Is.EqualTo("RELOADING=1"));
        Assert.That(long.Parse(reloading[1]["MONOTONIC_USEC=".Length..], System.Globalization.CultureInfo.InvariantCulture), Is.GreaterThanOrEqualTo(before));
        Assert.That(await receiver.ReceiveAsync(), Is.EqualTo("READY=1"));
        Assert.That(await receiver.ReceiveAsync(), Is.EqualTo("STATUS=Stopping"));
        Assert.That(await receiver.ReceiveAsync(), Is.EqualTo("STOPPING=1"));
    }

    [Test]
    public async Task StoppingAsync_ServiceManagerGone_StopsCleanly()
    {
        var receiver = DatagramReceiver.BindPath();
        var notifier = new SystemdNotifier(receiver.Address);
        var status = new ServiceStatus(notifier);
        var lifecycle = new SystemdLifecycle(notifier, status, new LogCollector().CreateLogger<SystemdLifecycle>());
        await lifecycle.StartedAsync(CancellationToken.None);
        receiver.Dispose();

        // The library's notifier throws SocketException here; a stop must not become a failure.
        Assert.That(async () => await lifecycle.StoppingAsync(CancellationToken.None), Throws.Nothing);
        Assert.That(status.Current, Is.EqualTo("Stopping"));
    }
}
