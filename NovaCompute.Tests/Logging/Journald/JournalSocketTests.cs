using System.Buffers;
using System.Text;
using NovaCompute.Logging.Journald;

namespace NovaCompute.Tests.Logging.Journald;

public class JournalSocketTests
{
    private string _directory = "";

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("nova-journal-").FullName;

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_directory, recursive: true);

    private static byte[] Entry(string message)
    {
        var buffer = new ArrayBufferWriter<byte>();
        JournalEncoder.AppendField(buffer, "MESSAGE", message);
        JournalEncoder.AppendField(buffer, "PRIORITY", 6);
        return buffer.WrittenSpan.ToArray();
    }

    [Test]
    public void Send_SmallEntry_ArrivesAsOneDatagram()
    {
        using var receiver = new JournalReceiver(_directory);
        using var socket = new JournalSocket(receiver.Path);
        var entry = Entry("hello\nworld");

        Assert.That(socket.Send(entry), Is.EqualTo(JournalSendResult.Sent));

        var received = receiver.Receive(TimeSpan.FromSeconds(5));
        Assert.That(received, Is.Not.Null);
        Assert.That(received!.ViaMemfd, Is.False);
        Assert.That(received.Entry, Is.EqualTo(entry));
    }

    [Test]
    public void Send_EntryLargerThanSendBuffer_ArrivesWholeAsSealedMemfd()
    {
        using var receiver = new JournalReceiver(_directory);
        using var socket = new JournalSocket(receiver.Path, sendBufferSize: 16 * 1024);
        var entry = Entry(new string('x', 200_000) + "\nend");

        Assert.That(socket.Send(entry), Is.EqualTo(JournalSendResult.SentAsMemfd));

        var received = receiver.Receive(TimeSpan.FromSeconds(5));
        Assert.That(received, Is.Not.Null);
        Assert.Multiple(() =>
        {
            Assert.That(received!.ViaMemfd, Is.True);
            Assert.That(received.Entry, Is.EqualTo(entry));
            // F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE: journald maps only sealed memfds.
            Assert.That(received.Seals, Is.EqualTo(0xF));
            Assert.That(socket.MemfdEntries, Is.EqualTo(1));
        });
    }

    [Test]
    public void Send_MemfdRoute_DoesNotLeakDescriptors()
    {
        using var receiver = new JournalReceiver(_directory);
        using var socket = new JournalSocket(receiver.Path, sendBufferSize: 16 * 1024);
        var entry = Entry(new string('y', 100_000));
        socket.Send(entry);
        receiver.Receive(TimeSpan.FromSeconds(5));
        var before = Directory.GetFiles("/proc/self/fd").Length;

        for (var i = 0; i < 20; i++)
        {
            Assert.That(socket.Send(entry), Is.EqualTo(JournalSendResult.SentAsMemfd));
            Assert.That(receiver.Receive(TimeSpan.FromSeconds(5)), Is.Not.Null);
        }

        Assert.That(Directory.GetFiles("/proc/self/fd").Length, Is.LessThanOrEqualTo(before));
    }

    [Test]
    public void Send_NoSocketAtPath_ReportsUnavailable()
    {
        using var socket = new JournalSocket(Path.Combine(_directory, "missing.socket"));
        Assert.That(socket.Send(Entry("lost")), Is.EqualTo(JournalSendResult.Unavailable));
        Assert.That(socket.LastError, Does.Contain("missing.socket"));
    }

    [Test]
    public void Send_SocketFileWithoutListener_ReportsUnavailable()
    {
        // .NET unlinks the socket file it bound on Dispose; a hard link keeps the inode behind,
        // as a crashed journald leaves its socket file.
        var stale = Path.Combine(_directory, "stale.socket");
        using (var receiver = new JournalReceiver(_directory))
        {
            using var ln = System.Diagnostics.Process.Start("ln", [receiver.Path, stale])!;
            ln.WaitForExit();
            Assert.That(ln.ExitCode, Is.Zero);
        }

        using var socket = new JournalSocket(stale);
        Assert.That(socket.Send(Entry("lost")), Is.EqualTo(JournalSendResult.Unavailable));
    }

    [Test]
    public void Send_JournalRestartedAtSamePath_ReachesTheNewSocket()
    {
        var first = new JournalReceiver(_directory);
        using var socket = new JournalSocket(first.Path);
        Assert.That(socket.Send(Entry("one")), Is.EqualTo(JournalSendResult.Sent));
        first.Dispose();
        File.Delete(first.Path);

        using var second = new JournalReceiver(_directory);
        Assert.That(socket.Send(Entry("two")), Is.EqualTo(JournalSendResult.Sent));
        var fields = second.ReceiveFields();
        Assert.That(fields["MESSAGE"], Is.EqualTo("two"));
    }

    [Test]
    public void Send_NotASocket_ReportsFailureWithoutThrowing()
    {
        var path = Path.Combine(_directory, "plain-file");
        File.WriteAllText(path, "");
        using var socket = new JournalSocket(path);
        Assert.That(socket.Send(Encoding.ASCII.GetBytes("MESSAGE=x\n")), Is.Not.EqualTo(JournalSendResult.Sent));
    }
}
