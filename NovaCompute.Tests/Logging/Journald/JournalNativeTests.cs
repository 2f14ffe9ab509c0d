using System.Diagnostics;
using NovaCompute.Logging.Journald;

namespace NovaCompute.Tests.Logging.Journald;

public class JournalNativeTests
{
    [Test]
    public void TryGetIdentity_Path_MatchesCoreutilsStat()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "12345");
            var start = new ProcessStartInfo("stat", ["-c", "%d %i %s", path]) { RedirectStandardOutput = true };
            using var process = Process.Start(start)!;
            var expected = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();

            Assert.That(JournalNative.TryGetIdentity(path, out var identity), Is.True);
            Assert.That($"{identity.Device} {identity.Inode} {identity.Size}", Is.EqualTo(expected));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void TryGetIdentity_MissingPath_IsFalse()
    {
        Assert.That(JournalNative.TryGetIdentity("/nonexistent/nova/file", out _), Is.False);
    }

    [TestCase(8u, 1u, 2049UL)]
    [TestCase(0u, 8u, 8UL)]
    [TestCase(259u, 0u, 66304UL)]
    [TestCase(0u, 256u, 1048576UL)]
    public void MakeDev_MatchesGlibc(uint major, uint minor, ulong expected)
    {
        Assert.That(JournalNative.MakeDev(major, minor), Is.EqualTo(expected));
    }
}
