using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using NovaCompute.Logging.Journald;
using Serilog.Core;
using Serilog.Debugging;
using Serilog.Events;
using Serilog.Formatting;

namespace NovaCompute.Logging;

/// <summary>
/// The <c>log_file</c> sink with Python's <c>WatchedFileHandler</c> semantics: before each write
/// it compares the path's device and inode with the open file's, and reopens (creating the file
/// again, mode 0640) when logrotate moved or removed it. The file is opened with <c>O_APPEND</c>,
/// which .NET's <c>FileMode.Append</c> does not do: after a <c>copytruncate</c> rotation every
/// write still lands at the new end of the file instead of leaving a run of NUL bytes, and
/// other writers (the CLI, a second process) never overwrite our lines.
/// </summary>
internal sealed partial class WatchedFileSink : ILogEventSink, IDisposable
{
    private const int OWronly = 0x1;
    private const int OCreat = 0x40;
    private const int OAppend = 0x400;
    private const int OCloexec = 0x80000;
    private const int Mode0640 = 0x1a0;
    private const int Eintr = 4;

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    private readonly ITextFormatter _formatter;
    private readonly object _gate = new();
    private SafeFileHandle? _handle;
    private FileIdentity _opened;
    private byte[] _bytes = new byte[4096];
    private bool _failed;

    /// <exception cref="IOException">The file cannot be opened (as oslo.log, refuse to start without the configured log).</exception>
    public WatchedFileSink(string path, ITextFormatter formatter)
    {
        Path = System.IO.Path.GetFullPath(path);
        _formatter = formatter;
        if (!TryOpen(out var error))
        {
            throw new IOException($"cannot open log file {Path}: {error}");
        }
    }

    public string Path { get; }

    /// <summary>How many times the file was reopened after rotation.</summary>
    public int Reopens { get; private set; }

    public void Emit(LogEvent logEvent)
    {
        var buffer = RenderBuffer.Rent();
        try
        {
            _formatter.Format(logEvent, buffer);
            lock (_gate)
            {
                ReopenIfRotated();
                if (_handle is null)
                {
                    return;
                }
                var count = Utf8.GetByteCount(buffer.WrittenSpan);
                if (_bytes.Length < count)
                {
                    _bytes = new byte[Math.Max(count, _bytes.Length * 2)];
                }
                Utf8.GetBytes(buffer.WrittenSpan, _bytes);
                WriteAll(_bytes.AsSpan(0, count));
            }
        }
        finally
        {
            RenderBuffer.Return(buffer);
        }
    }

    /// <summary>
    /// WatchedFileHandler's check: a path that no longer exists or names another file means
    /// rotation; so does a file now shorter than when we last looked (truncated), which with
    /// O_APPEND is harmless but still worth a fresh start.
    /// </summary>
    private void ReopenIfRotated()
    {
        if (_handle is not null && JournalNative.TryGetIdentity(Path, out var current) && current.SameFileAs(_opened))
        {
            if (current.Size >= _opened.Size)
            {
                return;
            }
        }
        _handle?.Dispose();
        _handle = null;
        if (TryOpen(out var error))
        {
            Reopens++;
            _failed = false;
        }
        else if (!_failed)
        {
            _failed = true;
            SelfLog.WriteLine("log file: cannot reopen {0}: {1}", Path, error);
        }
    }

    private bool TryOpen(out string? error)
    {
        var fd = Open(Path, OWronly | OCreat | OAppend | OCloexec, Mode0640);
        if (fd < 0)
        {
            error = Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError());
            return false;
        }
        _handle = new SafeFileHandle(fd, ownsHandle: true);
        JournalNative.TryGetIdentity(fd, out _opened);
        error = null;
        return true;
    }

    private unsafe void WriteAll(ReadOnlySpan<byte> bytes)
    {
        var fd = (int)_handle!.DangerousGetHandle();
        fixed (byte* start = bytes)
        {
            var written = 0;
            while (written < bytes.Length)
            {
                var n = JournalNative.Write(fd, start + written, bytes.Length - written);
                if (n < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == Eintr)
                    {
                        continue;
                    }
                    if (!_failed)
                    {
                        _failed = true;
                        SelfLog.WriteLine("log file: write to {0} failed: {1}", Path, Marshal.GetPInvokeErrorMessage(errno));
                    }
                    return;
                }
                written += (int)n;
            }
        }
        _opened = _opened with { Size = _opened.Size + bytes.Length };
        _failed = false;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, int mode);

    public void Dispose()
    {
        lock (_gate)
        {
            _handle?.Dispose();
            _handle = null;
        }
    }
}
