using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace NovaCompute.Tests.Support;

/// <summary>
/// The published <c>nova-compute</c> run as a real process: its output lines are collected, and
/// tests wait for a line (a latch) instead of sleeping, then send real signals.
/// </summary>
internal sealed partial class DaemonProcess : IDisposable
{
    public const int SIGHUP = 1;
    public const int SIGINT = 2;
    public const int SIGKILL = 9;
    public const int SIGUSR2 = 12;
    public const int SIGTERM = 15;

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly SemaphoreSlim _lineArrived = new(0);

    private DaemonProcess(Process process)
    {
        _process = process;
    }

    /// <param name="launcher">
    /// A command that execs the daemon in place (<c>ip netns exec NAME</c>), so <see cref="Pid"/>
    /// and <see cref="Signal"/> still reach the daemon itself.
    /// </param>
    public static DaemonProcess Start(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null,
        IReadOnlyList<string>? launcher = null)
    {
        string[] command = launcher is { Count: > 0 } ? [.. launcher, TestServices.PublishedDaemon] : [TestServices.PublishedDaemon];
        var start = new ProcessStartInfo(command[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in command.Skip(1).Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }
        // A test must not inherit the runner's systemd/journal context.
        start.Environment.Remove("NOTIFY_SOCKET");
        start.Environment.Remove("JOURNAL_STREAM");
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }
        var process = new Process { StartInfo = start };
        var daemon = new DaemonProcess(process);
        process.OutputDataReceived += (_, e) => daemon.Add(e.Data);
        process.ErrorDataReceived += (_, e) => daemon.Add(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return daemon;
    }

    public int Pid => _process.Id;

    public IReadOnlyList<string> Lines => _lines.ToArray();

    public string Output => string.Join("\n", Lines);

    private void Add(string? line)
    {
        if (line is null)
        {
            return;
        }
        _lines.Enqueue(line);
        _lineArrived.Release();
    }

    /// <summary>Waits until a line contains <paramref name="text"/>; fails with the whole output otherwise.</summary>
    public async Task<string> WaitForLineAsync(string text, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var found = Lines.FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));
            if (found is not null)
            {
                return found;
            }
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || _process.HasExited && !await _lineArrived.WaitAsync(TimeSpan.FromMilliseconds(200)))
            {
                Assert.Fail($"no line containing '{text}' (exited: {_process.HasExited}); output:\n{Output}");
            }
            await _lineArrived.WaitAsync(left < TimeSpan.FromMilliseconds(200) ? left : TimeSpan.FromMilliseconds(200));
        }
    }

    /// <summary>Counts lines containing <paramref name="text"/>.</summary>
    public int Count(string text) => Lines.Count(l => l.Contains(text, StringComparison.Ordinal));

    /// <summary>
    /// The lines from index <paramref name="from"/> (a <c>Lines.Count</c> taken earlier) up to, not
    /// including, the first one after it that contains <paramref name="until"/>: one episode of the
    /// output, so that a count over it is not disturbed by what a loaded machine adds before or after.
    /// </summary>
    public IReadOnlyList<string> LinesFrom(int from, string? until = null) =>
        Lines.Skip(from).TakeWhile(l => until is null || !l.Contains(until, StringComparison.Ordinal)).ToList();

    public void Signal(int signal)
    {
        if (kill(_process.Id, signal) != 0)
        {
            Assert.Fail($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"the daemon did not exit in time; output:\n{Output}");
        }
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        _process.Dispose();
        _lineArrived.Dispose();
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);
}
