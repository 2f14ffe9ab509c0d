using NovaCompute.Messaging.Rpc;

namespace NovaCompute.Tests.Messaging.Rpc;

public class RpcVersionTests
{
    // The reference's examples for ComputeManager 6.1 and the V5 proxy 5.13.
    [TestCase("6.1", "6.0", true)]
    [TestCase("6.1", "6.1", true)]
    [TestCase("6.1", "6.2", false)]
    [TestCase("5.13", "5.13", true)]
    [TestCase("5.13", "5.14", false)]
    [TestCase("6.1", "4.22", false)]
    [TestCase("6.1", "7.0", false)]
    [TestCase("1.0", "1.0", true)]
    [TestCase("1.1", "1.1.1", false)]
    [TestCase("1.1.2", "1.1.1", true)]
    [TestCase("1.2", "1.1.9", true)]
    public void IsCompatible_OslosRule(string implemented, string requested, bool compatible)
    {
        Assert.That(RpcVersion.IsCompatible(RpcVersion.Parse(implemented), RpcVersion.Parse(requested)), Is.EqualTo(compatible));
    }

    [TestCase("1")]
    [TestCase("1.x")]
    [TestCase("1.2.3.4")]
    [TestCase("")]
    [TestCase("-1.0")]
    public void TryParse_NotMajorMinor_False(string text) => Assert.That(RpcVersion.TryParse(text, out _), Is.False);
}
