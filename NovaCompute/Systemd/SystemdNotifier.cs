using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace NovaCompute.Systemd;

/// <summary>Sends service-state notifications to the service manager (sd_notify(3)).</summary>
public interface ISystemdNotifier
{
    /// <summary>True when the service manager asked for notifications (<c>NOTIFY_SOCKET</c> was set).</summary>
    bool IsEnabled { get; }

    /// <summary>Sends one datagram of newline-separated assignments; false when it could not be sent.</summary>
    bool Notify(string state);
}

/// <summary>
/// sd_notify over the <c>NOTIFY_SOCKET</c> datagram socket: an absolute path, or an abstract
/// socket written with a leading <c>@</c>. One socket, reused; a failed send drops it so the next
/// notification reconnects. See sd_notify(3).
/// </summary>
public sealed class SystemdNotifier : ISystemdNotifier, IDisposable
{
    private readonly UnixDomainSocketEndPoint? _endpoint;
    private readonly object _gate = new();
    private Socket? _socket;

    /// <summary>For the <c>NOTIFY_SOCKET</c> address (see <see cref="SystemdEnvironment"/>); null disables it.</summary>
    public SystemdNotifier(string? notifySocket)
    {
        if (!string.IsNullOrEmpty(notifySocket) && (notifySocket[0] == '/' || notifySocket[0] == '@'))
        {
            // An abstract address is the name after a NUL byte, without a trailing NUL; .NET
            // treats a leading '\0' as abstract on Linux.
            _endpoint = new UnixDomainSocketEndPoint(notifySocket[0] == '@' ? "\0" + notifySocket[1..] : notifySocket);
        }
    }

    public bool IsEnabled => _endpoint is not null;

    public bool Notify(string state)
    {
        if (_endpoint is null)
        {
            return false;
        }
        var payload = Encoding.UTF8.GetBytes(state);
        lock (_gate)
        {
            try
            {
                _socket ??= new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
                _socket.SendTo(payload, SocketFlags.None, _endpoint);
                return true;
            }
            catch (SocketException)
            {
                // The manager went away or the socket was replaced: reconnect next time.
                _socket?.Dispose();
                _socket = null;
                return false;
            }
            catch (ObjectDisposedException)
            {
                return false;
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _socket?.Dispose();
            _socket = null;
        }
    }

    /// <summary>The monotonic clock in microseconds, as <c>MONOTONIC_USEC=</c> expects (CLOCK_MONOTONIC).</summary>
    public static long MonotonicMicroseconds() =>
        (long)(Stopwatch.GetTimestamp() * (1_000_000.0 / Stopwatch.Frequency));
}

/// <summary>
/// What the service manager told this process through its environment, read once. The variables
/// are then removed so that child processes, which are not the main PID, never notify or pet the
/// watchdog in our name (systemd.service(5), NotifyAccess=main).
/// </summary>
public sealed record SystemdEnvironment(string? NotifySocket, TimeSpan? WatchdogInterval)
{
    public static SystemdEnvironment None { get; } = new(null, null);

    public static SystemdEnvironment TakeFromProcess()
    {
        var socket = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        var usec = Environment.GetEnvironmentVariable("WATCHDOG_USEC");
        var pid = Environment.GetEnvironmentVariable("WATCHDOG_PID");
        Environment.SetEnvironmentVariable("NOTIFY_SOCKET", null);
        Environment.SetEnvironmentVariable("WATCHDOG_USEC", null);
        Environment.SetEnvironmentVariable("WATCHDOG_PID", null);
        return Parse(socket, usec, pid, Environment.ProcessId);
    }

    internal static SystemdEnvironment Parse(string? socket, string? watchdogUsec, string? watchdogPid, int processId)
    {
        TimeSpan? interval = null;
        // A watchdog meant for another process (WATCHDOG_PID set and not us) is not ours to pet.
        if (long.TryParse(watchdogUsec, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var microseconds)
            && microseconds > 0
            && (string.IsNullOrEmpty(watchdogPid) || watchdogPid == processId.ToString(System.Globalization.CultureInfo.InvariantCulture)))
        {
            interval = TimeSpan.FromMicroseconds(microseconds);
        }
        return new SystemdEnvironment(string.IsNullOrEmpty(socket) ? null : socket, interval);
    }
}
