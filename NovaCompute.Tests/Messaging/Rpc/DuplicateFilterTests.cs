using NovaCompute.Messaging.Rpc;

namespace NovaCompute.Tests.Messaging.Rpc;

public class DuplicateFilterTests
{
    [Test]
    public void TryAdd_SeenWithinWindow_False()
    {
        var filter = new DuplicateFilter(1000);
        for (var i = 0; i < 1000; i++)
        {
            Assert.That(filter.TryAdd($"id-{i}"), Is.True);
        }
        // oslo's 16-entry window would long have forgotten id-0.
        Assert.That(filter.TryAdd("id-0"), Is.False);
        Assert.That(filter.TryAdd("id-999"), Is.False);
    }

    [Test]
    public void TryAdd_OlderThanWindow_ForgottenFirstInFirstOut()
    {
        var filter = new DuplicateFilter(3);
        filter.TryAdd("a");
        filter.TryAdd("b");
        filter.TryAdd("c");
        filter.TryAdd("d");
        Assert.That(filter.TryAdd("a"), Is.True);
        Assert.That(filter.TryAdd("c"), Is.False);
    }
}
