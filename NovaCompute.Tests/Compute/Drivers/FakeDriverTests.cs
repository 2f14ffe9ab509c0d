using NovaCompute.Compute.Drivers;

namespace NovaCompute.Tests.Compute.Drivers;

public class FakeDriverTests
{
    [Test]
    public async Task GetAvailableResource_NovasFakeHypervisor()
    {
        var driver = new FakeDriver();
        await driver.InitHostAsync("node-7", CancellationToken.None);
        var r = await driver.GetAvailableResourceAsync("node-7", CancellationToken.None);
        Assert.That((r.Vcpus, r.MemoryMb, r.LocalGb, r.VcpusUsed, r.MemoryMbUsed, r.LocalGbUsed), Is.EqualTo((1000, 800000, 600000, 0, 0, 0)));
        Assert.That((r.HypervisorType, r.HypervisorVersion, r.HypervisorHostname), Is.EqualTo(("fake", 1000, "node-7")));
        Assert.That(r.CpuInfo, Is.EqualTo("""{"arch": "x86_64", "model": "Nehalem", "vendor": "Intel", "features": ["pge", "clflush"], "topology": {"cores": 1, "threads": 1, "sockets": 4}}"""));
        Assert.That(r.SupportedInstances, Is.EqualTo("""[["x86_64", "fake", "hvm"]]"""));
    }

    [Test]
    public async Task InitHost_HostNamedCompute_NodeIsFakeMini()
    {
        var driver = new FakeDriver();
        await driver.InitHostAsync("compute", CancellationToken.None);
        Assert.That(driver.GetAvailableNodes(), Is.EqualTo(new[] { "fake-mini" }));
    }

    [Test]
    public void HostActions_AnswerAsNovasFake() => Assert.Multiple(() =>
    {
        var driver = new FakeDriver();
        Assert.That(driver.HostPowerAction("reboot"), Is.EqualTo("reboot"));
        Assert.That(driver.HostMaintenanceMode("h", true), Is.EqualTo("on_maintenance"));
        Assert.That(driver.HostMaintenanceMode("h", false), Is.EqualTo("off_maintenance"));
        Assert.That(driver.SetHostEnabled(false), Is.EqualTo("disabled"));
        Assert.That(() => driver.GetHostUptimeAsync(CancellationToken.None), Throws.TypeOf<NotImplementedException>());
    });

    [Test]
    public async Task SmallAndMedium_NovasSizes()
    {
        var small = new SmallFakeDriver();
        await small.InitHostAsync("h", CancellationToken.None);
        var medium = new MediumFakeDriver();
        await medium.InitHostAsync("h", CancellationToken.None);
        var s = await small.GetAvailableResourceAsync("h", CancellationToken.None);
        var m = await medium.GetAvailableResourceAsync("h", CancellationToken.None);
        Assert.That((s.Vcpus, s.MemoryMb, s.LocalGb), Is.EqualTo((2, 8192, 1028)));
        Assert.That((m.Vcpus, m.MemoryMb, m.LocalGb), Is.EqualTo((10, 8192, 1028)));
    }
}
