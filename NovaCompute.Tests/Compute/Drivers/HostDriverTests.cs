using System.Globalization;
using System.Text.Json;
using NovaCompute.Compute.Drivers;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Compute.Drivers;

/// <summary>The host driver's figures against what the machine's own tools say.</summary>
public class HostDriverTests
{
    private DirectoryInfo _dir = null!;
    private HostDriver _driver = null!;

    [SetUp]
    public async Task SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("nova-hostdriver-");
        _driver = new HostDriver(Path.Combine(_dir.FullName, "instances"));
        await _driver.InitHostAsync("h", CancellationToken.None);
    }

    [TearDown]
    public void TearDown() => _dir.Delete(recursive: true);

    private async Task<NodeResources> Resources() =>
        await _driver.GetAvailableResourceAsync(_driver.GetAvailableNodes().Single(), CancellationToken.None);

    [Test]
    public void InitHost_CreatesInstancesPath() =>
        Assert.That(Directory.Exists(Path.Combine(_dir.FullName, "instances")), Is.True);

    [Test]
    public async Task Vcpus_EqualNproc()
    {
        var nproc = await Shell.RunAsync("nproc");
        Assert.That((await Resources()).Vcpus, Is.EqualTo(int.Parse(nproc.Stdout.Trim(), CultureInfo.InvariantCulture)));
    }

    [Test]
    public async Task Memory_FromProcMeminfo()
    {
        var meminfo = File.ReadAllLines("/proc/meminfo").ToDictionary(
            l => l[..l.IndexOf(':', StringComparison.Ordinal)],
            l => long.Parse(l[(l.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture));
        var resources = await Resources();
        Assert.That(resources.MemoryMb, Is.EqualTo(meminfo["MemTotal"] / 1024));
        var used = (meminfo["MemTotal"] - meminfo["MemFree"] - meminfo["Buffers"] - meminfo["Cached"]) / 1024;
        // Memory moves between the two reads; a few hundred MB covers a busy shared machine.
        Assert.That(resources.MemoryMbUsed, Is.EqualTo(used).Within(512));
        Assert.That(resources.MemoryMbUsed, Is.InRange(1, resources.MemoryMb));
    }

    [Test]
    public async Task Disk_MatchesDfOfInstancesPath()
    {
        var df = await Shell.RunAsync("df", "-B1", "--output=size,used,avail", Path.Combine(_dir.FullName, "instances"));
        Assert.That(df.ExitCode, Is.EqualTo(0), df.Output);
        var figures = df.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1]
            .Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        const long gib = 1L << 30;
        var resources = await Resources();
        Assert.That(resources.LocalGb, Is.EqualTo(figures[0] / gib));
        // Other processes write to the same file system between the two reads.
        Assert.That(resources.LocalGbUsed, Is.EqualTo(figures[1] / gib).Within(1));
        Assert.That(resources.DiskAvailableLeast, Is.EqualTo(figures[2] / gib).Within(1));
    }

    [Test]
    public async Task Identity_KernelVersionHostnameAndCpuInfo()
    {
        var resources = await Resources();
        var release = (await Shell.RunAsync("uname", "-r")).Stdout.Trim();
        var parts = release.Split('.', '-');
        var expected = (int.Parse(parts[0], CultureInfo.InvariantCulture) * 1_000_000) + (int.Parse(parts[1], CultureInfo.InvariantCulture) * 1000)
            + (parts.Length > 2 && int.TryParse(parts[2], CultureInfo.InvariantCulture, out var micro) ? micro : 0);
        Assert.That(resources.HypervisorType, Is.EqualTo("linux"));
        Assert.That(resources.HypervisorVersion, Is.EqualTo(expected));
        Assert.That(resources.HypervisorHostname, Is.EqualTo((await Shell.RunAsync("hostname")).Stdout.Trim()));
        Assert.That(resources.SupportedInstances, Is.EqualTo("[]"));
        using var cpu = JsonDocument.Parse(resources.CpuInfo);
        var root = cpu.RootElement;
        Assert.That(root.GetProperty("arch").GetString(), Is.EqualTo((await Shell.RunAsync("uname", "-m")).Stdout.Trim()));
        var topology = root.GetProperty("topology");
        Assert.That(topology.GetProperty("sockets").GetInt32() * topology.GetProperty("cores").GetInt32() * topology.GetProperty("threads").GetInt32(),
            Is.GreaterThanOrEqualTo(1));
        var flags = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal));
        if (flags is not null)
        {
            Assert.That(root.GetProperty("features").EnumerateArray().Select(f => f.GetString()),
                Does.Contain(flags[(flags.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim().Split(' ')[0]));
        }
    }

    [Test]
    public async Task GetHostUptime_IsTheUptimeCommandsLine()
    {
        var line = await _driver.GetHostUptimeAsync(CancellationToken.None);
        Assert.That(line, Does.Match(@"^ ?\d\d:\d\d:\d\d up .*load average: [\d.]+, [\d.]+, [\d.]+\n$"));
    }

    [Test]
    public void HostActions_NotImplemented() => Assert.Multiple(() =>
    {
        Assert.That(() => _driver.HostPowerAction("reboot"), Throws.TypeOf<NotImplementedException>());
        Assert.That(() => _driver.HostMaintenanceMode("h", true), Throws.TypeOf<NotImplementedException>());
    });

    [TestCase("6.8.0-45-generic", 6008000)]
    [TestCase("5.15.167.4-microsoft-standard-WSL2", 5015167)]
    [TestCase("4.19", 4019000)]
    public void ConvertVersionToInt_AsOsloVersionutils(string version, int expected) =>
        Assert.That(HostDriver.ConvertVersionToInt(version), Is.EqualTo(expected));

    [TestCase("0-3", 4)]
    [TestCase("0-1,4,6-7\n", 5)]
    [TestCase("5", 1)]
    public void ParseCpuList_KernelFormat(string list, int count) =>
        Assert.That(HostDriver.ParseCpuList(list), Has.Count.EqualTo(count));
}
