using Microsoft.Extensions.Logging;
using NovaCompute.Config;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Config;

public class ConfigMonitorTests
{
    private static readonly IntOpt Interval = new("report_interval", 10) { Mutable = true };
    private static readonly StrOpt Host = new("host", "a");
    private static readonly StrOpt Password = new("password", null) { Mutable = true, Secret = true };
    private static readonly Opt[] Catalog = [Interval, Host, Password];

    private DirectoryInfo _dir = null!;
    private string _file = null!;
    private LogCollector _logs = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("nova-monitor-");
        _file = Path.Combine(_dir.FullName, "nova.conf");
        _logs = new LogCollector();
    }

    [TearDown]
    public void TearDown() => _dir.Delete(recursive: true);

    private ConfigMonitor Start(string text)
    {
        File.WriteAllText(_file, text);
        var loader = new ConfigLoader(Catalog, new ConfigSearch { Directories = [], Environment = new Dictionary<string, string>() });
        var arguments = new ConfigArguments { Sources = [new(ConfigSourceKind.File, _file)] };
        var initial = loader.Load(arguments);
        Assert.That(initial.Errors, Is.Empty);
        return new ConfigMonitor(initial.Config!, loader.Load, _logs.CreateLogger<ConfigMonitor>());
    }

    [Test]
    public void Reload_MutableOptionChanged_AppliesLogsAndRaisesChanged()
    {
        var monitor = Start("[DEFAULT]\nreport_interval = 10\n");
        IReadOnlyList<Opt>? changed = null;
        monitor.Changed += (_, opts) => changed = opts;
        File.WriteAllText(_file, "[DEFAULT]\nreport_interval = 3\n");

        Assert.That(monitor.Reload(), Is.True);

        Assert.That(monitor.Current.Get(Interval), Is.EqualTo(3));
        Assert.That(changed, Is.EqualTo(new Opt[] { Interval }));
        Assert.That(_logs.Messages(LogLevel.Information), Has.Member("Option DEFAULT.report_interval changed from [10] to [3]"));
    }

    [Test]
    public void Reload_ImmutableOptionChanged_KeepsOldValueAndWarns()
    {
        var monitor = Start("[DEFAULT]\nhost = a\n");
        File.WriteAllText(_file, "[DEFAULT]\nhost = b\n");

        Assert.That(monitor.Reload(), Is.True);

        Assert.That(monitor.Current.Get(Host), Is.EqualTo("a"));
        Assert.That(_logs.Messages(LogLevel.Warning), Has.Member("Ignoring change to immutable option DEFAULT.host"));
    }

    [Test]
    public void Reload_InvalidFile_KeepsRunningConfigurationAndLogsEveryProblem()
    {
        var monitor = Start("[DEFAULT]\nreport_interval = 10\n");
        var before = monitor.Current;
        File.WriteAllText(_file, "[DEFAULT]\nreport_interval = soon\ntypo line\n");

        Assert.That(monitor.Reload(), Is.False);

        Assert.That(monitor.Current, Is.SameAs(before));
        var error = _logs.Messages(LogLevel.Error).Single();
        Assert.That(error, Does.Contain("2 problem(s)").And.Contain($"{_file}:2").And.Contain($"{_file}:3"));
    }

    [Test]
    public void Reload_DeletedFile_KeepsRunningConfiguration()
    {
        var monitor = Start("[DEFAULT]\nreport_interval = 4\n");
        File.Delete(_file);
        Assert.That(monitor.Reload(), Is.False);
        Assert.That(monitor.Current.Get(Interval), Is.EqualTo(4));
    }

    [Test]
    public void Reload_SecretChanged_LogDoesNotShowValues()
    {
        var monitor = Start("[DEFAULT]\npassword = old-secret\n");
        File.WriteAllText(_file, "[DEFAULT]\npassword = new-secret\n");
        monitor.Reload();
        Assert.That(_logs.Messages(LogLevel.Information), Has.Member("Option DEFAULT.password changed from [****] to [****]"));
        Assert.That(string.Join("\n", _logs.Messages()), Does.Not.Contain("secret"));
    }

    [Test]
    public void Reload_NothingChanged_DoesNotRaiseChanged()
    {
        var monitor = Start("[DEFAULT]\nreport_interval = 10\n");
        var raised = false;
        monitor.Changed += (_, _) => raised = true;
        Assert.That(monitor.Reload(), Is.True);
        Assert.That(raised, Is.False);
    }
}
