namespace NovaCompute.Tests;

public class SmokeTests
{
    [Test]
    public void Main_NoArguments_ReturnsZero() => Assert.That(Program.Main([]), Is.Zero);
}
