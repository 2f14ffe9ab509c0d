using NovaCompute.Systemd;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Systemd;

public class SystemdNotifierTests
{
    [Test]
    public async Task Notify_PathSocket_SendsExactDatagram()
    {
        using var receiver = DatagramReceiver.BindPath();
        var notifier = new SystemdNotifier(receiver.Address);
        Assert.That(notifier.IsEnabled, Is.True);
        Assert.That(notifier.Notify("READY=1"), Is.True);
        Assert.That(await receiver.ReceiveAsync(), Is.EqualTo("READY=1"));
    }

    [Test]
    public async Task Notify_AbstractSocket_SendsToAbstractName()
    {
        using var receiver = DatagramReceiver.BindAbstract();
        var notifier = new SystemdNotifier(receiver.Address);
        notifier.Notify("STATUS=hello");
        notifier.Notify("RELOADING=1\nMONOTONIC_USEC=123");
        Assert.That(await receiver.ReceiveAsync(), Is.EqualTo("STATUS=hello"));
        Assert.That(await receiver.ReceiveAsync(), Is.EqualTo("RELOADING=1\nMONOTONIC_USEC=123"));
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase("relative/path")]
    public void Notify_NoUsableSocket_IsDisabledAndSendsNothing(string? address)
    {
        var notifier = new SystemdNotifier(address);
        Assert.That(notifier.IsEnabled, Is.False);
        Assert.That(notifier.Notify("READY=1"), Is.False);
    }

    [Test]
    public async Task Notify_ReceiverGoneThenBack_ReportsFailureThenRecovers()
    {
        var receiver = DatagramReceiver.BindPath();
        var address = receiver.Address;
        var notifier = new SystemdNotifier(address);
        Assert.That(notifier.Notify("A=1"), Is.True);
        await receiver.ReceiveAsync();
        receiver.Dispose();
        Assert.That(notifier.Notify("B=1"), Is.False);
        Directory.CreateDirectory(Path.GetDirectoryName(address)!);
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Unspecified);
        socket.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(address));
        Assert.That(notifier.Notify("C=1"), Is.True);
        var buffer = new byte[16];
        Assert.That(System.Text.Encoding.UTF8.GetString(buffer, 0, socket.Receive(buffer)), Is.EqualTo("C=1"));
        Directory.Delete(Path.GetDirectoryName(address)!, recursive: true);
    }

    [Test]
    public void Notify_AddressTooLongForSocket_ReportsFailureWithoutThrowing()
    {
        var notifier = new SystemdNotifier("/" + new string('x', 200));
        Assert.That(notifier.IsEnabled, Is.True);
        Assert.That(notifier.Notify("READY=1"), Is.False);
    }

    [Test]
    public void Constructor_ExplicitSocket_LeavesProcessEnvironmentAsItWas()
    {
        // The daemon clears NOTIFY_SOCKET so that children never notify in its name; creating a
        // notifier must not put it back.
        Assert.That(Environment.GetEnvironmentVariable("NOTIFY_SOCKET"), Is.Null);
        _ = new SystemdNotifier("/run/systemd/notify");
        Assert.That(Environment.GetEnvironmentVariable("NOTIFY_SOCKET"), Is.Null);
    }

    [Test]
    public void MonotonicMicroseconds_MatchesClockMonotonic()
    {
        var ours = SystemdNotifier.MonotonicMicroseconds();
        // /proc/uptime is CLOCK_BOOTTIME, which equals CLOCK_MONOTONIC unless the machine slept.
        var uptimeSeconds = double.Parse(File.ReadAllText("/proc/uptime").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(ours / 1e6, Is.EqualTo(uptimeSeconds).Within(5.0));
    }
}

public class SystemdEnvironmentTests
{
    [Test]
    public void Parse_WatchdogForThisProcess_GivesInterval()
    {
        var env = SystemdEnvironment.Parse("/run/notify", "30000000", "42", 42);
        Assert.That(env, Is.EqualTo(new SystemdEnvironment("/run/notify", TimeSpan.FromSeconds(30))));
    }

    [Test]
    public void Parse_WatchdogWithoutPid_GivesInterval() =>
        Assert.That(SystemdEnvironment.Parse("@x", "500000", null, 1).WatchdogInterval, Is.EqualTo(TimeSpan.FromMilliseconds(500)));

    [TestCase("30000000", "41")]
    [TestCase("0", null)]
    [TestCase("-5", null)]
    [TestCase("soon", null)]
    [TestCase(null, null)]
    public void Parse_WatchdogNotOurs_NoInterval(string? usec, string? pid) =>
        Assert.That(SystemdEnvironment.Parse("/run/notify", usec, pid, 42).WatchdogInterval, Is.Null);

    [Test]
    public void Parse_EmptySocket_IsNone() => Assert.That(SystemdEnvironment.Parse("", null, null, 1).NotifySocket, Is.Null);
}
