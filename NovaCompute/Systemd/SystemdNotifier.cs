using System.Diagnostics;
using HostingSystemd = Microsoft.Extensions.Hosting.Systemd;

namespace NovaCompute.Systemd;

/// <summary>Sends service-state notifications to the service manager (sd_notify(3)).</summary>
public interface ISystemdNotifier
{
    /// <summary>True when the service manager asked for notifications (<c>NOTIFY_SOCKET</c> was set).</summary>
    bool IsEnabled { get; }

    /// <summary>Sends one datagram of newline-separated assignments; false when it could not be sent. Never throws.</summary>
    bool Notify(string state);
}

/// <summary>
/// sd_notify over the <c>NOTIFY_SOCKET</c> datagram socket (an absolute path, or an abstract socket
/// written with a leading <c>@</c>; see sd_notify(3)), sent by Microsoft.Extensions.Hosting.Systemd's
/// <see cref="HostingSystemd.SystemdNotifier"/>. What it lacks stays here: it throws
/// <see cref="System.Net.Sockets.SocketException"/> when nobody listens (a manager that went away, a
/// socket replaced under us), and a notification must never throw into the daemon or turn a clean
/// stop into a failure, so a failed send is reported as false. The library opens a socket per
/// notification, so a listener that comes back is reached again without any reconnect logic.
/// </summary>
public sealed class SystemdNotifier : ISystemdNotifier
{
    // The library's notifier takes its socket only from NOTIFY_SOCKET, read in its public
    // constructor; the constructor taking a path is internal (runtime's
    // src/libraries/Microsoft.Extensions.Hosting.Systemd/src/SystemdNotifier.cs). The daemon clears
    // NOTIFY_SOCKET at start (SystemdEnvironment), so the variable is set for that one read.
    private static readonly Lock EnvironmentGate = new();
    private readonly HostingSystemd.SystemdNotifier? _transport;

    /// <summary>For the <c>NOTIFY_SOCKET</c> address (see <see cref="SystemdEnvironment"/>); null disables it.</summary>
    public SystemdNotifier(string? notifySocket)
    {
        // sd_notify(3) accepts only these two forms; anything else (a relative path) is ignored, as systemd's own client does.
        if (!string.IsNullOrEmpty(notifySocket) && (notifySocket[0] == '/' || notifySocket[0] == '@'))
        {
            _transport = CreateTransport(notifySocket);
        }
    }

    public bool IsEnabled => _transport is not null;

    public bool Notify(string state)
    {
        if (_transport is null)
        {
            return false;
        }
        try
        {
            _transport.Notify(new HostingSystemd.ServiceState(state));
            return true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // SocketException: the manager went away or the socket was replaced (the next
            // notification tries again). ArgumentException: an address too long for sockaddr_un.
            return false;
        }
    }

    private static HostingSystemd.SystemdNotifier CreateTransport(string notifySocket)
    {
        lock (EnvironmentGate)
        {
            var previous = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
            try
            {
                Environment.SetEnvironmentVariable("NOTIFY_SOCKET", notifySocket);
                return new HostingSystemd.SystemdNotifier();
            }
            finally
            {
                Environment.SetEnvironmentVariable("NOTIFY_SOCKET", previous);
            }
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
