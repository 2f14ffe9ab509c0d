using NovaCompute.Messaging.Rpc;

namespace NovaCompute.Tests.Messaging.Rpc;

internal sealed class StartDeclarationsTests
{
    // NUnit runs every test of a fixture on one instance: fresh state for each.
    private StartDeclarations _declarations = null!;
    private int _declared;

    [SetUp]
    public void SetUp()
    {
        _declarations = new StartDeclarations();
        _declared = 0;
    }

    private Func<Task> Counted(Task? answer = null) => () =>
    {
        Interlocked.Increment(ref _declared);
        return answer ?? Task.CompletedTask;
    };

    [Test]
    public async Task OnceAsync_OutsideAScope_EveryServerDeclares()
    {
        for (var i = 0; i < 3; i++)
        {
            await _declarations.OnceAsync("queue compute", Counted());
        }

        Assert.That(_declared, Is.EqualTo(3));
    }

    [Test]
    public async Task OnceAsync_ManyServersStartingTogether_DeclareOnceAndAllWaitForTheAnswer()
    {
        var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var scope = _declarations.ShareDuring();

        var servers = Enumerable.Range(0, 20).Select(_ => Task.Run(() => _declarations.OnceAsync("queue compute", Counted(answer.Task)))).ToList();
        await Task.Delay(100);
        Assert.That(servers.Any(s => s.IsCompleted), Is.False, "none goes on to consume before the broker answered the declaration");
        answer.SetResult();
        await Task.WhenAll(servers);

        Assert.That(_declared, Is.EqualTo(1));
        await _declarations.OnceAsync("exchange nova", Counted());
        await _declarations.OnceAsync("exchange nova", Counted());
        Assert.That(_declared, Is.EqualTo(2), "each entity once");
    }

    [Test]
    public async Task OnceAsync_DeclarationFailed_NotKeptTheNextServerDeclaresAgain()
    {
        using var scope = _declarations.ShareDuring();

        Assert.ThrowsAsync<InvalidOperationException>(() =>
            _declarations.OnceAsync("queue compute", Counted(Task.FromException(new InvalidOperationException("channel closed")))));
        await _declarations.OnceAsync("queue compute", Counted());
        await _declarations.OnceAsync("queue compute", Counted());

        Assert.That(_declared, Is.EqualTo(2), "the failed one, then one kept");
    }

    [Test]
    public async Task OnceAsync_AfterTheScope_DeclaresAgain()
    {
        using (_declarations.ShareDuring())
        {
            await _declarations.OnceAsync("queue compute", Counted());
            await _declarations.OnceAsync("queue compute", Counted());
        }
        await _declarations.OnceAsync("queue compute", Counted());

        Assert.That(_declared, Is.EqualTo(2));
    }
}
