namespace NovaCompute.Tests.Support;

/// <summary>Polls a condition until it holds, failing the test with what was awaited when it never does.</summary>
internal static class Eventually
{
    public static Task Until(Func<bool> condition, TimeSpan? timeout = null, Func<string>? what = null) =>
        Until(() => Task.FromResult(condition()), timeout, what, TimeSpan.FromMilliseconds(5));

    public static async Task Until(Func<Task<bool>> condition, TimeSpan? timeout = null, Func<string>? what = null, TimeSpan? poll = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(10);
        var deadline = DateTime.UtcNow + limit;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out after {limit.TotalSeconds:0.#} s waiting for {what?.Invoke() ?? "the condition"}");
            }
            await Task.Delay(poll ?? TimeSpan.FromMilliseconds(100));
        }
    }
}
