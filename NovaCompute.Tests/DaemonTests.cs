using NovaCompute.Tests.Support;

namespace NovaCompute.Tests;

/// <summary>The published daemon as a process: exit statuses, signals, reload.</summary>
public class DaemonTests
{
    private DirectoryInfo _dir = null!;
    private string _conf = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("nova-daemon-");
        _conf = Path.Combine(_dir.FullName, "nova-compute.conf");
    }

    [TearDown]
    public void TearDown() => _dir.Delete(recursive: true);

    private DaemonProcess Start(string conf, params string[] extra)
    {
        File.WriteAllText(_conf, conf);
        return DaemonProcess.Start(["--config-file", _conf, .. extra]);
    }

    private static string BaseConfig(string extra = "") => $"""
        [DEFAULT]
        host = daemon-test-{Guid.NewGuid():N}
        graceful_shutdown_timeout = 20
        {extra}
        """;

    [Test]
    public async Task Run_BrokenConfigFile_Exits78NamingEveryProblemBeforeStarting()
    {
        using var daemon = Start("[DEFAULT]\ndebug = sometimes\nthis line is broken\ngraceful_shutdown_timeout = -x\n");
        Assert.That(await daemon.WaitForExitAsync(), Is.EqualTo(78));
        Assert.That(daemon.Output, Does.Contain($"{_conf}:2: Value for option debug in group [DEFAULT] (sometimes) is not valid: Unexpected boolean value 'sometimes'"));
        Assert.That(daemon.Output, Does.Contain($"{_conf}:3: parse error: No ':' or '=' found in assignment: 'this line is broken'"));
        Assert.That(daemon.Output, Does.Contain($"{_conf}:4: Value for option graceful_shutdown_timeout"));
        Assert.That(daemon.Output, Does.Not.Contain("Starting compute node"));
    }

    [Test]
    public async Task Run_MissingConfigFile_Exits78()
    {
        using var daemon = DaemonProcess.Start(["--config-file", Path.Combine(_dir.FullName, "absent.conf")]);
        Assert.That(await daemon.WaitForExitAsync(), Is.EqualTo(78));
        Assert.That(daemon.Output, Does.Contain("Failed to find some config files: " + Path.Combine(_dir.FullName, "absent.conf")));
    }

    [Test]
    public async Task Run_UnknownArgument_Exits2()
    {
        using var daemon = DaemonProcess.Start(["--no-such-flag"]);
        Assert.That(await daemon.WaitForExitAsync(), Is.EqualTo(2));
        Assert.That(daemon.Output, Does.Contain("--no-such-flag"));
    }

    [TestCase(DaemonProcess.SIGTERM, "SIGTERM")]
    [TestCase(DaemonProcess.SIGINT, "SIGINT")]
    public async Task Run_StopSignal_StopsGracefullyWithStatus0(int signal, string name)
    {
        using var daemon = Start(BaseConfig());
        await daemon.WaitForLineAsync("Starting compute node (version 26.2.2)");
        daemon.Signal(signal);
        Assert.That(await daemon.WaitForExitAsync(), Is.EqualTo(0), daemon.Output);
        Assert.That(daemon.Output, Does.Contain($"Caught {name}, stopping gracefully"));
        Assert.That(daemon.Output, Does.Contain("Stopped compute node"));
    }

    [Test]
    public async Task Run_SigHupWithMutableChange_AppliesItAndKeepsRunning()
    {
        using var daemon = Start(BaseConfig("debug = false"));
        await daemon.WaitForLineAsync("Starting compute node");
        File.WriteAllText(_conf, File.ReadAllText(_conf).Replace("debug = false", "debug = true") + "\ngraceful_shutdown_timeout = 30\n");
        daemon.Signal(DaemonProcess.SIGHUP);
        await daemon.WaitForLineAsync("Option DEFAULT.debug changed from [false] to [true]");
        await daemon.WaitForLineAsync("Ignoring change to immutable option DEFAULT.graceful_shutdown_timeout");
        await daemon.WaitForLineAsync("Full set of CONF:");
        daemon.Signal(DaemonProcess.SIGTERM);
        Assert.That(await daemon.WaitForExitAsync(), Is.EqualTo(0), daemon.Output);
    }

    [Test]
    public async Task Run_SigHupWithBrokenFile_KeepsRunningOnOldConfiguration()
    {
        using var daemon = Start(BaseConfig());
        await daemon.WaitForLineAsync("Starting compute node");
        File.AppendAllText(_conf, "\nbroken line\n");
        daemon.Signal(DaemonProcess.SIGHUP);
        await daemon.WaitForLineAsync("Configuration reload rejected, keeping the running configuration");
        daemon.Signal(DaemonProcess.SIGTERM);
        Assert.That(await daemon.WaitForExitAsync(), Is.EqualTo(0), daemon.Output);
    }

    [Test]
    public async Task Run_TempDirInvalid_StartupFailsWithStatus1()
    {
        using var daemon = Start(BaseConfig($"tempdir = {Path.Combine(_dir.FullName, "file-not-dir")}"));
        File.WriteAllText(Path.Combine(_dir.FullName, "file-not-dir"), "");
        Assert.That(await daemon.WaitForExitAsync(), Is.EqualTo(1), daemon.Output);
        Assert.That(daemon.Output, Does.Contain("Temporary directory is invalid"));
    }

    [Test]
    public async Task Run_UnderNotifySocket_SendsReadyAfterStartReloadingAndStopping()
    {
        using var receiver = DatagramReceiver.BindPath();
        File.WriteAllText(_conf, BaseConfig());
        using var daemon = DaemonProcess.Start(["--config-file", _conf], new Dictionary<string, string> { ["NOTIFY_SOCKET"] = receiver.Address });

        Assert.That(await receiver.ReceiveAsync(TimeSpan.FromSeconds(30)), Is.EqualTo("STATUS=Starting"));
        Assert.That(await receiver.ReceiveAsync(), Is.EqualTo("STATUS=Running"));
        Assert.That(await receiver.ReceiveAsync(), Is.EqualTo("READY=1"));
        Assert.That(daemon.Output, Does.Contain("Starting compute node"), "READY=1 only after start-up");

        daemon.Signal(DaemonProcess.SIGHUP);
        Assert.That(await receiver.ReceiveAsync(), Does.Match(@"^RELOADING=1\nMONOTONIC_USEC=\d+$"));
        Assert.That(await receiver.ReceiveAsync(), Is.EqualTo("READY=1"));

        daemon.Signal(DaemonProcess.SIGTERM);
        Assert.That(await receiver.ReceiveAsync(), Is.EqualTo("STATUS=Stopping"));
        Assert.That(await receiver.ReceiveAsync(), Is.EqualTo("STOPPING=1"));
        Assert.That(await daemon.WaitForExitAsync(), Is.EqualTo(0));
    }
}
