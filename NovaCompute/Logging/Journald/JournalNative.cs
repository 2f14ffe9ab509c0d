using System.Runtime.InteropServices;

namespace NovaCompute.Logging.Journald;

/// <summary>
/// The few libc calls .NET has no managed form for: the memfd + <c>SCM_RIGHTS</c> route for
/// entries too large for one datagram, <c>statx</c> (device and inode of an open fd, which
/// <c>JOURNAL_STREAM</c> detection and log-file rotation need), and <c>gettid</c> for journald's
/// <c>TID</c> field. Layouts are Linux's; <c>statx</c> is used instead of <c>fstat</c> because its
/// structure is the same on every architecture.
/// </summary>
internal static unsafe partial class JournalNative
{
    private const string Libc = "libc";

    public const uint MfdCloexec = 0x1;
    public const uint MfdAllowSealing = 0x2;
    public const int FAddSeals = 1033;
    public const int FSealSeal = 0x1;
    public const int FSealShrink = 0x2;
    public const int FSealGrow = 0x4;
    public const int FSealWrite = 0x8;
    public const int SolSocket = 1;
    public const int ScmRights = 1;
    public const ushort AfUnix = 1;
    public const int Eintr = 4;
    public const int Enoent = 2;
    public const int Econnrefused = 111;
    public const int Emsgsize = 90;
    public const int Enobufs = 105;
    public const int Eagain = 11;

    private const int AtEmptyPath = 0x1000;
    private const uint StatxIno = 0x100;
    private const uint StatxSize = 0x200;

    [LibraryImport(Libc, EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MemfdCreate(string name, uint flags);

    [LibraryImport(Libc, EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte* buffer, nint count);

    // fcntl is variadic in C; on the Linux ABIs we run on (x86-64, arm64) an int passed as a
    // fixed argument lands where the callee's va_arg reads it.
    [LibraryImport(Libc, EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport(Libc, EntryPoint = "sendmsg", SetLastError = true)]
    public static partial nint SendMsg(nint socket, MessageHeader* message, int flags);

    [LibraryImport(Libc, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Libc, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirfd, string path, int flags, uint mask, StatxBuffer* buffer);

    [LibraryImport(Libc, EntryPoint = "gettid")]
    public static partial int GetTid();

    /// <summary>Device (as a <c>dev_t</c> number, like <c>st_dev</c>) and inode of an open fd.</summary>
    public static bool TryGetIdentity(int fd, out FileIdentity identity) => TryStatx(fd, "", AtEmptyPath, out identity);

    /// <summary>Device, inode and size of the file at <paramref name="path"/> (following symlinks).</summary>
    public static bool TryGetIdentity(string path, out FileIdentity identity) => TryStatx(AtFdCwd, path, 0, out identity);

    private const int AtFdCwd = -100;

    private static bool TryStatx(int dirfd, string path, int flags, out FileIdentity identity)
    {
        StatxBuffer buffer;
        if (Statx(dirfd, path, flags, StatxIno | StatxSize, &buffer) != 0)
        {
            identity = default;
            return false;
        }
        identity = new FileIdentity(MakeDev(buffer.DevMajor, buffer.DevMinor), buffer.Ino, (long)buffer.Size);
        return true;
    }

    /// <summary>glibc's <c>makedev</c>: how <c>st_dev</c> (and so <c>JOURNAL_STREAM</c>) encodes a device.</summary>
    public static ulong MakeDev(uint major, uint minor) =>
        ((ulong)(major & 0x00000fffu) << 8) | ((ulong)(major & 0xfffff000u) << 32)
        | (minor & 0x000000ffu) | ((ulong)(minor & 0xffffff00u) << 12);

    [StructLayout(LayoutKind.Sequential)]
    public struct MessageHeader
    {
        public void* Name;
        public uint NameLength;
        public void* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct ControlHeader
    {
        public nuint Length;
        public int Level;
        public int Type;
    }

    // struct statx is 256 bytes with a fixed layout on every architecture (linux/stat.h).
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct StatxBuffer
    {
        [FieldOffset(0)] public uint Mask;
        [FieldOffset(32)] public ulong Ino;
        [FieldOffset(40)] public ulong Size;
        [FieldOffset(136)] public uint DevMajor;
        [FieldOffset(140)] public uint DevMinor;
    }
}

/// <summary>What identifies a file across renames: its device and inode (plus its size, for truncation).</summary>
internal readonly record struct FileIdentity(ulong Device, ulong Inode, long Size)
{
    public bool SameFileAs(FileIdentity other) => Device == other.Device && Inode == other.Inode;
}
