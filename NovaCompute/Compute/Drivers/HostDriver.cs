using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace NovaCompute.Compute.Drivers;

/// <summary>
/// Reports this machine as the node, with the figures nova's libvirt driver computes for a host:
/// vCPUs are the online CPUs this daemon may run on (what <c>nproc</c> prints); memory comes from
/// <c>/proc/meminfo</c> (used = total − free − buffers − cached, libvirt's rule); disk is the file
/// system under <c>instances_path</c> through <c>statvfs</c> (df's figures, whole GiB); the CPU
/// description from <c>/proc/cpuinfo</c> and <c>/sys</c>; the "hypervisor" is the Linux kernel, its
/// version encoded as nova encodes versions. It starts no instances, so it claims to support none,
/// and it cannot power the host or enter maintenance (NotImplementedError, as libvirt's driver).
/// </summary>
public sealed partial class HostDriver(string instancesPath, string procRoot = "/proc", string sysRoot = "/sys") : IComputeDriver
{
    public string Name => ComputeDriverLoader.HostDriverName;

    public string InstancesPath => instancesPath;

    /// <summary>Creates <c>instances_path</c> (nova's libvirt driver does at start) so it can be measured.</summary>
    public Task InitHostAsync(string host, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(instancesPath);
        return Task.CompletedTask;
    }

    public Task CleanupHostAsync(string host, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>One node, named after the machine (libvirt's <c>getHostname</c>), whatever <c>host</c> says.</summary>
    public IReadOnlyList<string> GetAvailableNodes() => [System.Net.Dns.GetHostName()];

    public Task<NodeResources> GetAvailableResourceAsync(string nodename, CancellationToken cancellationToken)
    {
        var memory = ReadMemory();
        var disk = ReadDisk(instancesPath);
        return Task.FromResult(new NodeResources
        {
            HypervisorHostname = nodename,
            Vcpus = CountUsableCpus(),
            MemoryMb = memory.TotalMb,
            LocalGb = disk.TotalGb,
            VcpusUsed = 0,
            MemoryMbUsed = memory.UsedMb,
            LocalGbUsed = disk.UsedGb,
            HypervisorType = "linux",
            HypervisorVersion = ConvertVersionToInt(File.ReadAllText(Path.Combine(procRoot, "sys/kernel/osrelease")).Trim()),
            CpuInfo = ReadCpuInfo(),
            // Nothing is over-committed: no instance disks exist.
            DiskAvailableLeast = disk.FreeGb,
            SupportedInstances = "[]",
        });
    }

    public async Task<string> GetHostUptimeAsync(CancellationToken cancellationToken)
    {
        // nova's libvirt driver: processutils.execute('env', 'LANG=C', 'uptime'), stdout as is.
        var start = new ProcessStartInfo("uptime")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["LANG"] = "C";
        using var process = Process.Start(start) ?? throw new IOException("uptime could not be started");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new IOException($"uptime exited with {process.ExitCode}: {(await error.ConfigureAwait(false)).Trim()}");
        }
        return await output.ConfigureAwait(false);
    }

    /// <summary>The host's scheduling state lives in the service record, not in this driver (nova's manager answers instead).</summary>
    public string SetHostEnabled(bool enabled) => throw new NotImplementedException();

    public string HostMaintenanceMode(string host, bool mode) =>
        throw new NotImplementedException("host maintenance mode is not supported by host.HostDriver");

    public string HostPowerAction(string action) =>
        throw new NotImplementedException("host power actions are not supported by host.HostDriver");

    internal readonly record struct MemoryFigures(int TotalMb, int UsedMb);

    internal MemoryFigures ReadMemory()
    {
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(Path.Combine(procRoot, "meminfo")))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }
            var number = line[(colon + 1)..].Trim().Split(' ')[0];
            if (long.TryParse(number, NumberStyles.Integer, CultureInfo.InvariantCulture, out var kb))
            {
                values[line[..colon]] = kb;
            }
        }
        long Kb(string key) => values.TryGetValue(key, out var v) ? v : 0;
        var total = Kb("MemTotal");
        var available = Kb("MemFree") + Kb("Buffers") + Kb("Cached");
        return new MemoryFigures((int)(total / 1024), (int)((total - available) / 1024));
    }

    internal readonly record struct DiskFigures(int TotalGb, int UsedGb, int FreeGb);

    /// <summary>nova's libvirt <c>_get_local_gb_info</c>: statvfs of the path, each figure floored to GiB.</summary>
    internal static DiskFigures ReadDisk(string path)
    {
        if (StatVfs(path, out var st) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"statvfs({path}) failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
        }
        const ulong gib = 1UL << 30;
        return new DiskFigures(
            (int)(st.FragmentSize * st.Blocks / gib),
            (int)(st.FragmentSize * (st.Blocks - st.FreeBlocks) / gib),
            (int)(st.FragmentSize * st.AvailableBlocks / gib));
    }

    /// <summary>Online CPUs this process may be scheduled on: <c>Cpus_allowed_list</c> ∩ <c>/sys/…/cpu/online</c>.</summary>
    internal int CountUsableCpus()
    {
        var allowed = File.ReadLines(Path.Combine(procRoot, "self/status"))
            .Where(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal))
            .Select(l => ParseCpuList(l["Cpus_allowed_list:".Length..]))
            .FirstOrDefault();
        var onlinePath = Path.Combine(sysRoot, "devices/system/cpu/online");
        var online = File.Exists(onlinePath) ? ParseCpuList(File.ReadAllText(onlinePath)) : null;
        if (allowed is null)
        {
            return online?.Count ?? Environment.ProcessorCount;
        }
        if (online is not null)
        {
            allowed.IntersectWith(online);
        }
        return allowed.Count;
    }

    /// <summary>A kernel CPU list (<c>0-3,8,10-11</c>).</summary>
    internal static HashSet<int> ParseCpuList(string text)
    {
        var cpus = new HashSet<int>();
        foreach (var part in text.Trim().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var dash = part.IndexOf('-', StringComparison.Ordinal);
            var first = int.Parse(dash < 0 ? part : part[..dash], CultureInfo.InvariantCulture);
            var last = dash < 0 ? first : int.Parse(part[(dash + 1)..], CultureInfo.InvariantCulture);
            for (var cpu = first; cpu <= last; cpu++)
            {
                cpus.Add(cpu);
            }
        }
        return cpus;
    }

    /// <summary>
    /// libvirt's <c>cpu_info</c> shape (arch, model, vendor, topology, features) filled from
    /// <c>/proc/cpuinfo</c>; cells are the NUMA nodes under <c>/sys</c>.
    /// </summary>
    internal string ReadCpuInfo()
    {
        string? vendor = null, model = null, flags = null;
        var physicalIds = new HashSet<string>(StringComparer.Ordinal);
        int cores = 0, siblings = 0;
        foreach (var line in File.ReadLines(Path.Combine(procRoot, "cpuinfo")))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }
            var key = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            switch (key)
            {
                case "vendor_id" or "CPU implementer":
                    vendor ??= value;
                    break;
                case "model name" or "Model" or "cpu model":
                    model ??= value;
                    break;
                case "flags" or "Features":
                    flags ??= value;
                    break;
                case "physical id":
                    physicalIds.Add(value);
                    break;
                case "cpu cores":
                    cores = Math.Max(cores, ParseInt(value));
                    break;
                case "siblings":
                    siblings = Math.Max(siblings, ParseInt(value));
                    break;
            }
        }
        var online = CountOnlineCpus();
        var sockets = Math.Max(1, physicalIds.Count);
        if (cores == 0)
        {
            cores = Math.Max(1, online / sockets);
        }
        var threads = siblings > 0 && cores > 0 ? Math.Max(1, siblings / cores) : 1;
        var nodeDir = Path.Combine(sysRoot, "devices/system/node");
        var cells = Directory.Exists(nodeDir)
            ? Math.Max(1, Directory.EnumerateDirectories(nodeDir, "node*").Count(d => int.TryParse(Path.GetFileName(d)[4..], out _)))
            : 1;
        var info = new CpuInfoJson(
            Architecture(),
            model ?? "unknown",
            vendor switch
            {
                "GenuineIntel" => "Intel",
                "AuthenticAMD" => "AMD",
                null => "unknown",
                _ => vendor,
            },
            new CpuTopology(cells, sockets, cores, threads),
            (flags ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).Distinct().Order(StringComparer.Ordinal).ToArray());
        return JsonSerializer.Serialize(info, CpuInfoContext.Default.CpuInfoJson);
    }

    private int CountOnlineCpus()
    {
        var onlinePath = Path.Combine(sysRoot, "devices/system/cpu/online");
        return File.Exists(onlinePath) ? ParseCpuList(File.ReadAllText(onlinePath)).Count : Environment.ProcessorCount;
    }

    private static int ParseInt(string text) => int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : 0;

    /// <summary>nova's architecture names (<c>obj_fields.Architecture</c>).</summary>
    private static string Architecture() => RuntimeInformation.OSArchitecture switch
    {
        System.Runtime.InteropServices.Architecture.X64 => "x86_64",
        System.Runtime.InteropServices.Architecture.X86 => "i686",
        System.Runtime.InteropServices.Architecture.Arm64 => "aarch64",
        System.Runtime.InteropServices.Architecture.Arm => "armv7l",
        System.Runtime.InteropServices.Architecture.S390x => "s390x",
        System.Runtime.InteropServices.Architecture.Ppc64le => "ppc64le",
        System.Runtime.InteropServices.Architecture.RiscV64 => "riscv64",
        System.Runtime.InteropServices.Architecture.LoongArch64 => "loongarch64",
        var other => other.ToString().ToLowerInvariant(),
    };

    /// <summary>
    /// oslo's <c>versionutils.convert_version_to_int</c>: <c>major * 1000000 + minor * 1000 + micro</c>
    /// of the leading numeric parts (<c>6.8.0-45-generic</c> → 6008000).
    /// </summary>
    internal static int ConvertVersionToInt(string version)
    {
        var parts = version.Split('.', 4);
        var value = 0;
        for (var i = 0; i < 3; i++)
        {
            var digits = i < parts.Length ? new string(parts[i].TakeWhile(char.IsAsciiDigit).ToArray()) : "";
            value = (value * 1000) + (digits.Length > 0 ? int.Parse(digits, CultureInfo.InvariantCulture) : 0);
        }
        return value;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct StatVfsBuffer
    {
        public ulong BlockSize;
        public ulong FragmentSize;
        public ulong Blocks;
        public ulong FreeBlocks;
        public ulong AvailableBlocks;
        public ulong Files;
        public ulong FreeFiles;
        public ulong AvailableFiles;
        public ulong FileSystemId;
        public ulong Flags;
        public ulong NameMax;
        public ulong Spare0;
        public ulong Spare1;
        public ulong Spare2;
    }

    // glibc's 64-bit struct statvfs: eleven unsigned longs, then int __f_spare[6] (the three spares above).
    [LibraryImport("libc", EntryPoint = "statvfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatVfs(string path, out StatVfsBuffer buffer);
}

internal sealed record CpuTopology(int Cells, int Sockets, int Cores, int Threads);

internal sealed record CpuInfoJson(string Arch, string Model, string Vendor, CpuTopology Topology, string[] Features);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.SnakeCaseLower)]
[System.Text.Json.Serialization.JsonSerializable(typeof(CpuInfoJson))]
internal sealed partial class CpuInfoContext : System.Text.Json.Serialization.JsonSerializerContext;
