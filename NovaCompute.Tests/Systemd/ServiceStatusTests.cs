using NovaCompute.Systemd;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Systemd;

public class ServiceStatusTests
{
    [Test]
    public async Task Set_Components_SendsJoinedLineOnlyWhenChanged()
    {
        using var receiver = DatagramReceiver.BindPath();
        var notifier = new SystemdNotifier(receiver.Address);
        var status = new ServiceStatus(notifier);

        status.Set("state", "Registered as node1");
        status.Set("heartbeat", "reporting every 10 s");
        status.Set("heartbeat", "reporting every 10 s");
        status.Set("state", "Running\nas node1");
        status.Set("heartbeat", null);

        Assert.That(await receiver.ReceiveAsync(), Is.EqualTo("STATUS=Registered as node1"));
        Assert.That(await receiver.ReceiveAsync(), Is.EqualTo("STATUS=Registered as node1; reporting every 10 s"));
        Assert.That(await receiver.ReceiveAsync(), Is.EqualTo("STATUS=Running as node1; reporting every 10 s"));
        Assert.That(await receiver.ReceiveAsync(), Is.EqualTo("STATUS=Running as node1"));
        Assert.That(receiver.Drain(), Is.Empty);
        Assert.That(status.Current, Is.EqualTo("Running as node1"));
    }
}
