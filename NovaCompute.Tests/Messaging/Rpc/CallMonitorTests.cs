using Microsoft.Extensions.Logging.Abstractions;
using NovaCompute.Messaging.Rpc;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Messaging.Rpc;

public class CallMonitorTests
{
    [Test]
    public async Task Start_Timeout10_BeatsEvery5SecondsUntilDisposed()
    {
        var time = new FakeTimeProvider();
        var beats = 0;
        var monitor = CallMonitor.Start(10, _ => { Interlocked.Increment(ref beats); return ValueTask.FromResult(true); }, "slow", time, NullLogger.Instance)!;

        await time.WaitForTimersAsync();
        time.Advance(TimeSpan.FromSeconds(4.9));
        Assert.That(beats, Is.Zero);
        time.Advance(TimeSpan.FromSeconds(0.1));
        await Eventually.Until(() => beats == 1);
        time.Advance(TimeSpan.FromSeconds(5));
        await Eventually.Until(() => beats == 2);
        await monitor.DisposeAsync();
        time.Advance(TimeSpan.FromSeconds(60));

        Assert.That(beats, Is.EqualTo(2));
        Assert.That(time.ArmedTimers, Is.Zero);
    }

    [Test]
    public void Start_TimeoutBelowTwoOrAbsent_NoMonitor()
    {
        var logs = new LogCollector();
        using var factory = logs.CreateFactory();
        var logger = factory.CreateLogger("t");

        Assert.That(CallMonitor.Start(1.9, _ => ValueTask.FromResult(true), "m", TimeProvider.System, logger), Is.Null);
        Assert.That(CallMonitor.Start(null, _ => ValueTask.FromResult(true), "m", TimeProvider.System, logger), Is.Null);
        Assert.That(logs.Entries.Single().Message, Is.EqualTo("Client provided an invalid timeout value of 1.9"));
    }

    [Test]
    public async Task Heartbeat_ReplyQueueGone_MonitorStops()
    {
        var time = new FakeTimeProvider();
        var beats = 0;
        await using var monitor = CallMonitor.Start(2, _ => { Interlocked.Increment(ref beats); return ValueTask.FromResult(false); }, "m", time, NullLogger.Instance)!;

        await time.WaitForTimersAsync();
        time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.Until(() => beats == 1);
        await Eventually.Until(() => time.ArmedTimers == 0);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.That(beats, Is.EqualTo(1));
    }

}
