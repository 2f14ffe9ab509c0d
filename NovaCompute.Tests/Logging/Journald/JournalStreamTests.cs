using System.Diagnostics;
using System.Net.Sockets;
using NovaCompute.Logging.Journald;

namespace NovaCompute.Tests.Logging.Journald;

public class JournalStreamTests
{
    /// <summary>What coreutils' stat says about one of our fds: the same dev:ino systemd puts in JOURNAL_STREAM.</summary>
    private static string StatOfOwnFd(int fd)
    {
        var start = new ProcessStartInfo("stat", ["-L", "-c", "%d:%i", $"/proc/{Environment.ProcessId}/fd/{fd}"]) { RedirectStandardOutput = true };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        Assert.That(process.ExitCode, Is.Zero);
        return output;
    }

    [Test]
    public void IsConnected_StreamSocketNamedByJournalStream_IsTrue()
    {
        // A connected stream socket stands in for the one systemd hands a service as stdout.
        var directory = Directory.CreateTempSubdirectory("nova-stream-").FullName;
        try
        {
            var path = Path.Combine(directory, "stream.socket");
            using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen();
            using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            client.Connect(new UnixDomainSocketEndPoint(path));
            using var server = listener.Accept();
            var fd = (int)client.SafeHandle.DangerousGetHandle();
            var journalStream = StatOfOwnFd(fd);

            Assert.That(JournalStream.IsConnected(fd, journalStream), Is.True);
            Assert.That(JournalStream.IsConnected((int)server.SafeHandle.DangerousGetHandle(), journalStream), Is.False,
                "the other end is another inode: output was redirected elsewhere");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public void IsConnected_RegularFile_ComparesDeviceAndInode()
    {
        var path = Path.GetTempFileName();
        try
        {
            using var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
            var fd = (int)file.DangerousGetHandle();
            var identity = StatOfOwnFd(fd);
            var (device, inode) = (identity.Split(':')[0], ulong.Parse(identity.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture));

            Assert.Multiple(() =>
            {
                Assert.That(JournalStream.IsConnected(fd, identity), Is.True);
                Assert.That(JournalStream.IsConnected(fd, $"{device}:{inode + 1}"), Is.False);
                Assert.That(JournalStream.IsConnected(fd, $"999999:{inode}"), Is.False);
                Assert.That(JournalStream.IsConnected(fd, null), Is.False);
                Assert.That(JournalStream.IsConnected(fd, ""), Is.False);
                Assert.That(JournalStream.IsConnected(fd, "garbage"), Is.False);
            });
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void IsConnected_ClosedDescriptor_IsFalse()
    {
        Assert.That(JournalStream.IsConnected(987654, "8:12345"), Is.False);
    }

    [TestCase("8:12345", true, 8UL, 12345UL)]
    [TestCase("0:1", true, 0UL, 1UL)]
    [TestCase("8:", false, 0UL, 0UL)]
    [TestCase(":5", false, 0UL, 0UL)]
    [TestCase("-1:5", false, 0UL, 0UL)]
    [TestCase("8:12 ", false, 0UL, 0UL)]
    public void TryParse_DevColonIno(string text, bool ok, ulong device, ulong inode)
    {
        Assert.That(JournalStream.TryParse(text, out var d, out var i), Is.EqualTo(ok));
        if (ok)
        {
            Assert.That((d, i), Is.EqualTo((device, inode)));
        }
    }
}
