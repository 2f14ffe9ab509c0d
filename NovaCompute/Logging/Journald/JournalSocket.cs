using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace NovaCompute.Logging.Journald;

/// <summary>How one entry fared.</summary>
internal enum JournalSendResult
{
    Sent,
    /// <summary>Too large for a datagram; handed over as a sealed memfd instead.</summary>
    SentAsMemfd,
    /// <summary>No journal listens at the socket path (journald not running, or not a systemd host).</summary>
    Unavailable,
    Failed,
}

/// <summary>
/// The client side of journald's native socket: one <c>AF_UNIX</c>/<c>SOCK_DGRAM</c> socket, one
/// datagram per entry, sent to the path each time rather than connected once, so a restarted
/// journald (a new socket inode at the same path) is reached without reconnect logic. Not
/// thread-safe: <see cref="JournaldSink"/> drives it from its single writer thread.
/// </summary>
internal sealed class JournalSocket : IDisposable
{
    public const string DefaultPath = "/run/systemd/journal/socket";

    /// <summary>systemd's own client asks for 8 MiB; the kernel caps it at <c>net.core.wmem_max</c>.</summary>
    public const int DefaultSendBufferSize = 8 * 1024 * 1024;

    private readonly Socket _socket;
    private readonly SocketAddress _address;
    private readonly byte[] _nativeAddress;
    private readonly string _path;

    /// <param name="path">The journal socket (tests bind their own).</param>
    /// <param name="sendBufferSize">
    /// <c>SO_SNDBUF</c>; datagrams larger than this fail with <c>EMSGSIZE</c> and take the memfd
    /// route, so tests shrink it to exercise that route with modest entries.
    /// </param>
    public JournalSocket(string path = DefaultPath, int sendBufferSize = DefaultSendBufferSize)
    {
        _path = path;
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        try
        {
            _socket.SendBufferSize = sendBufferSize;
        }
        catch (SocketException)
        {
            // Keeping the kernel default only moves the point where entries take the memfd route.
        }
        _address = new UnixDomainSocketEndPoint(path).Serialize();
        _nativeAddress = BuildSockaddrUn(path);
    }

    public string Path => _path;

    /// <summary>Entries handed over through the memfd route so far.</summary>
    public long MemfdEntries { get; private set; }

    /// <summary>The last errno or socket error that made a send fail, for diagnostics.</summary>
    public string? LastError { get; private set; }

    public JournalSendResult Send(ReadOnlySpan<byte> entry)
    {
        try
        {
            _socket.SendTo(entry, SocketFlags.None, _address);
            return JournalSendResult.Sent;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.MessageSize or SocketError.NoBufferSpaceAvailable)
        {
            return SendAsMemfd(entry);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressNotAvailable or SocketError.ConnectionRefused
                                            or SocketError.AddressFamilyNotSupported)
        {
            LastError = $"{_path}: {e.SocketErrorCode} ({e.Message})";
            return JournalSendResult.Unavailable;
        }
        catch (SocketException e)
        {
            LastError = $"{_path}: {e.SocketErrorCode} ({e.Message})";
            return JournalSendResult.Failed;
        }
    }

    /// <summary>
    /// The large-entry route (systemd <c>journal-send.c</c>): the same bytes written to a sealed
    /// memfd, whose descriptor is sent alone — an empty datagram carrying exactly one fd in an
    /// <c>SCM_RIGHTS</c> message. journald ignores datagrams with both payload and fd.
    /// </summary>
    private unsafe JournalSendResult SendAsMemfd(ReadOnlySpan<byte> entry)
    {
        var fd = JournalNative.MemfdCreate("journal-entry", JournalNative.MfdCloexec | JournalNative.MfdAllowSealing);
        if (fd < 0)
        {
            return Fail("memfd_create");
        }
        try
        {
            fixed (byte* start = entry)
            {
                var written = 0;
                while (written < entry.Length)
                {
                    var n = JournalNative.Write(fd, start + written, entry.Length - written);
                    if (n < 0)
                    {
                        if (Marshal.GetLastPInvokeError() == JournalNative.Eintr)
                        {
                            continue;
                        }
                        return Fail("write(memfd)");
                    }
                    written += (int)n;
                }
            }
            const int allSeals = JournalNative.FSealSeal | JournalNative.FSealShrink | JournalNative.FSealGrow | JournalNative.FSealWrite;
            if (JournalNative.Fcntl(fd, JournalNative.FAddSeals, allSeals) < 0)
            {
                return Fail("fcntl(F_ADD_SEALS)");
            }

            var headerSize = Align(sizeof(JournalNative.ControlHeader));
            var controlSpace = headerSize + Align(sizeof(int));
            var control = stackalloc byte[controlSpace];
            new Span<byte>(control, controlSpace).Clear();
            var header = (JournalNative.ControlHeader*)control;
            header->Length = (nuint)(headerSize + sizeof(int));
            header->Level = JournalNative.SolSocket;
            header->Type = JournalNative.ScmRights;
            *(int*)(control + headerSize) = fd;

            fixed (byte* name = _nativeAddress)
            {
                var message = new JournalNative.MessageHeader
                {
                    Name = name,
                    NameLength = (uint)_nativeAddress.Length,
                    Control = control,
                    ControlLength = (nuint)controlSpace,
                };
                var added = false;
                try
                {
                    _socket.SafeHandle.DangerousAddRef(ref added);
                    while (JournalNative.SendMsg(_socket.SafeHandle.DangerousGetHandle(), &message, 0) < 0)
                    {
                        var errno = Marshal.GetLastPInvokeError();
                        if (errno == JournalNative.Eintr)
                        {
                            continue;
                        }
                        LastError = $"{_path}: sendmsg(SCM_RIGHTS): errno {errno}";
                        return errno is JournalNative.Enoent or JournalNative.Econnrefused
                            ? JournalSendResult.Unavailable
                            : JournalSendResult.Failed;
                    }
                }
                finally
                {
                    if (added)
                    {
                        _socket.SafeHandle.DangerousRelease();
                    }
                }
            }
            MemfdEntries++;
            return JournalSendResult.SentAsMemfd;
        }
        finally
        {
            // journald holds its own reference now (or never got one); ours must not leak.
            JournalNative.Close(fd);
        }
    }

    private JournalSendResult Fail(string call)
    {
        LastError = $"{call}: errno {Marshal.GetLastPInvokeError()}";
        return JournalSendResult.Failed;
    }

    private static int Align(int size) => (size + nint.Size - 1) & ~(nint.Size - 1);

    private static byte[] BuildSockaddrUn(string path)
    {
        var pathBytes = Encoding.UTF8.GetBytes(path);
        var address = new byte[sizeof(ushort) + pathBytes.Length + 1];
        BitConverter.TryWriteBytes(address, JournalNative.AfUnix);
        pathBytes.CopyTo(address, sizeof(ushort));
        return address;
    }

    public void Dispose() => _socket.Dispose();
}
