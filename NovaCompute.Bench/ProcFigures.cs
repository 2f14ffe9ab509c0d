using System.Globalization;

namespace NovaCompute.Bench;

/// <summary>Figures the kernel keeps about other processes: CPU time, resident memory, the load average.</summary>
internal static class ProcFigures
{
    // USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux ABI .NET runs on.
    private const double ClockTicksPerSecond = 100;

    /// <summary>The shared RabbitMQ node's Erlang VM: the oldest <c>beam.smp</c> (rabbitmqctl runs short-lived ones too).</summary>
    public static int? BrokerPid()
    {
        int? found = null;
        long oldest = long.MaxValue;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "comm")).Trim() != "beam.smp")
                {
                    continue;
                }
                var started = long.Parse(StatFields(pid)[19], CultureInfo.InvariantCulture);
                if (started < oldest)
                {
                    (found, oldest) = (pid, started);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
                // Gone meanwhile.
            }
        }
        return found;
    }

    /// <summary>utime + stime of a process (any process, read only).</summary>
    public static TimeSpan CpuTime(int pid)
    {
        var fields = StatFields(pid);
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / ClockTicksPerSecond);
    }

    /// <summary>VmRSS in MiB.</summary>
    public static double RssMiB(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var kib = line["VmRSS:".Length..].Trim().Split(' ')[0];
                return long.Parse(kib, CultureInfo.InvariantCulture) / 1024.0;
            }
        }
        throw new InvalidOperationException($"/proc/{pid}/status has no VmRSS");
    }

    /// <summary>The 1-minute load average.</summary>
    public static double LoadAverage() =>
        double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);

    // Fields after "(comm)", which may itself hold spaces: index 0 is the state (field 3 of proc(5)).
    private static string[] StatFields(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    }
}
