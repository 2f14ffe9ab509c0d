using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace NovaCompute.Tests.Logging.Journald;

/// <summary>
/// Stands in for journald's native socket: a real AF_UNIX datagram socket bound in a temporary
/// directory. Receives with <c>recvmsg</c> so an entry handed over as a memfd (empty datagram +
/// SCM_RIGHTS) is read back too, exactly as journald would read it.
/// </summary>
internal sealed class JournalReceiver : IDisposable
{
    private const int MsgDontwait = 0x40;
    private const int FGetSeals = 1034;

    private readonly Socket _socket;

    public JournalReceiver(string directory, string name = "journal.socket")
    {
        Path = System.IO.Path.Combine(directory, name);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        _socket.Bind(new UnixDomainSocketEndPoint(Path));
    }

    public string Path { get; }

    /// <summary>One received entry: its bytes, and how they came.</summary>
    public sealed record Received(byte[] Entry, bool ViaMemfd, int Seals);

    /// <summary>The next entry, or null when none arrives within <paramref name="timeout"/>.</summary>
    public Received? Receive(TimeSpan timeout)
    {
        if (!_socket.Poll(timeout, SelectMode.SelectRead))
        {
            return null;
        }
        const int dataSize = 4 * 1024 * 1024;
        const int controlSize = 64;
        var data = Marshal.AllocHGlobal(dataSize);
        var control = Marshal.AllocHGlobal(controlSize);
        var iov = Marshal.AllocHGlobal(Marshal.SizeOf<IoVec>());
        try
        {
            Marshal.StructureToPtr(new IoVec { Base = data, Length = dataSize }, iov, false);
            var message = new MessageHeader { Iov = iov, IovLength = 1, Control = control, ControlLength = controlSize };
            var n = RecvMsg(_socket.SafeHandle.DangerousGetHandle(), ref message, MsgDontwait);
            Assert.That((long)n, Is.GreaterThanOrEqualTo(0L), $"recvmsg failed: errno {Marshal.GetLastPInvokeError()}");
            var headerSize = (nint.Size + 8 + nint.Size - 1) & ~(nint.Size - 1);
            if (message.ControlLength >= (nuint)(headerSize + sizeof(int))
                && Marshal.ReadInt32(control, nint.Size) == 1 && Marshal.ReadInt32(control, nint.Size + 4) == 1)
            {
                Assert.That((long)n, Is.Zero, "journald ignores a datagram carrying both payload and a descriptor");
                var fd = Marshal.ReadInt32(control, headerSize);
                using var handle = new SafeFileHandle(fd, ownsHandle: true);
                var seals = Fcntl(fd, FGetSeals, 0);
                var entry = new byte[RandomAccess.GetLength(handle)];
                var read = 0;
                while (read < entry.Length)
                {
                    read += RandomAccess.Read(handle, entry.AsSpan(read), read);
                }
                return new Received(entry, ViaMemfd: true, seals);
            }
            var bytes = new byte[n];
            Marshal.Copy(data, bytes, 0, (int)n);
            return new Received(bytes, ViaMemfd: false, Seals: 0);
        }
        finally
        {
            Marshal.FreeHGlobal(data);
            Marshal.FreeHGlobal(control);
            Marshal.FreeHGlobal(iov);
        }
    }

    /// <summary>The next entry, decoded; fails the test when none arrives.</summary>
    public Dictionary<string, string> ReceiveFields(TimeSpan? timeout = null)
    {
        var received = Receive(timeout ?? TimeSpan.FromSeconds(10));
        Assert.That(received, Is.Not.Null, "no journal entry arrived");
        return JournalEntry.DecodeToDictionary(received!.Entry);
    }

    public void Dispose() => _socket.Dispose();

    [StructLayout(LayoutKind.Sequential)]
    private struct MessageHeader
    {
        public nint Name;
        public uint NameLength;
        public nint Iov;
        public nuint IovLength;
        public nint Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public nint Base;
        public nuint Length;
    }

    [DllImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    private static extern nint RecvMsg(nint socket, ref MessageHeader message, int flags);

    [DllImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static extern int Fcntl(int fd, int command, int argument);
}
