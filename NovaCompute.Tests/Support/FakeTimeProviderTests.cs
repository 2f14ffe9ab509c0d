namespace NovaCompute.Tests.Support;

public class FakeTimeProviderTests
{
    [Test]
    public async Task Delay_ClockAdvancedPastDueTime_Completes()
    {
        var time = new FakeTimeProvider();
        var delay = Task.Delay(TimeSpan.FromSeconds(5), time);
        time.Advance(TimeSpan.FromSeconds(4));
        Assert.That(delay.IsCompleted, Is.False);
        time.Advance(TimeSpan.FromSeconds(1));
        await delay.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Test]
    public async Task PeriodicTimer_AdvancedThreePeriods_TicksEachPeriod()
    {
        var time = new FakeTimeProvider();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(10), time);
        var start = time.GetUtcNow();
        for (var i = 1; i <= 3; i++)
        {
            var tick = timer.WaitForNextTickAsync().AsTask();
            time.Advance(TimeSpan.FromSeconds(10));
            Assert.That(await tick.WaitAsync(TimeSpan.FromSeconds(5)), Is.True);
            Assert.That(time.GetUtcNow() - start, Is.EqualTo(TimeSpan.FromSeconds(10 * i)));
        }
    }
}
