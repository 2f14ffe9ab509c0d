using NovaCompute.Config;

namespace NovaCompute.Tests.Config;

public class ConfigLoaderTests
{
    private static readonly IntOpt Interval = new("report_interval", 10) { Min = 0 };
    private static readonly BoolOpt Debug = new("debug", false);
    private static readonly StrOpt MyIp = new("my_ip", "10.0.0.1");
    private static readonly StrOpt StorageIp = new("my_block_storage_ip", "$my_ip");
    private static readonly StrOpt Connection = new("connection", null) { Group = "database", Secret = true };
    private static readonly StrOpt Derived = new("derived", null) { Group = "database" };
    private static readonly MultiStrOpt Driver = new("driver", null) { Group = "oslo_messaging_notifications" };
    private static readonly ListOpt Apis = new("enabled_apis", ["osapi_compute", "metadata"]) { ItemChoices = ["osapi_compute", "metadata"] };
    private static readonly StrOpt Renamed = new("rpc_conn_pool_size_str", "30")
    {
        Group = "oslo_messaging_rabbit",
        DeprecatedNames = [new DeprecatedOpt(ConfigGroups.Default, "rpc_conn_pool_size_old")],
    };
    private static readonly FloatOpt Delay = new("kombu_reconnect_delay", 1.0) { Group = "oslo_messaging_rabbit", Min = 0.0, Max = 4.5 };
    private static readonly StrOpt Choice = new("servicegroup_driver", "db") { Choices = [new("db"), new("mc")] };

    private static readonly Opt[] Catalog = [Interval, Debug, MyIp, StorageIp, Connection, Derived, Driver, Apis, Renamed, Delay, Choice];

    private DirectoryInfo _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("nova-config-");

    [TearDown]
    public void TearDown() => _dir.Delete(recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir.FullName, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    private ConfigLoader Loader(IReadOnlyDictionary<string, string>? environment = null, IReadOnlyList<string>? searchDirs = null) =>
        new(Catalog, new ConfigSearch
        {
            Directories = searchDirs ?? [Path.Combine(_dir.FullName, "nowhere")],
            Environment = environment ?? new Dictionary<string, string>(),
        });

    private static ConfigArguments Files(params string[] paths) =>
        new() { Sources = paths.Select(p => new ConfigSourceArgument(ConfigSourceKind.File, p)).ToList() };

    private static NovaConfig Succeed(ConfigLoadResult result)
    {
        Assert.That(result.Errors, Is.Empty, string.Join("\n", result.Errors));
        return result.Config!;
    }

    [Test]
    public void Load_NoSources_GivesDefaults()
    {
        var config = Succeed(Loader().Load(ConfigArguments.Empty));
        Assert.That(config.Get(Interval), Is.EqualTo(10));
        Assert.That(config.Describe(Interval).Source, Is.EqualTo(ValueSource.Default));
        Assert.That(config.Get(Apis), Is.EqualTo(new[] { "osapi_compute", "metadata" }));
    }

    [Test]
    public void Load_TwoFiles_LaterFileWinsAndSourceNamesFileAndLine()
    {
        var a = Write("a.conf", "[DEFAULT]\nreport_interval = 5\ndebug = true\n");
        var b = Write("b.conf", "[DEFAULT]\n\nreport_interval = 7\n");
        var config = Succeed(Loader().Load(Files(a, b)));
        Assert.That(config.Get(Interval), Is.EqualTo(7));
        Assert.That(config.Get(Debug), Is.True);
        Assert.That(config.Describe(Interval).Source.ToString(), Is.EqualTo($"file {b}:3"));
        Assert.That(config.Files, Is.EqualTo(new[] { a, b }));
    }

    [Test]
    public void Load_SameKeyTwiceInOneFile_LastWins()
    {
        var a = Write("a.conf", "[DEFAULT]\nreport_interval = 5\nreport_interval = 6\n");
        Assert.That(Succeed(Loader().Load(Files(a))).Get(Interval), Is.EqualTo(6));
    }

    [Test]
    public void Load_ConfigDir_ReadsConfFilesSortedAfterEarlierFiles()
    {
        var file = Write("main.conf", "[DEFAULT]\nreport_interval = 1\nmy_ip = 1.1.1.1\n");
        Write("d/20-b.conf", "[DEFAULT]\nreport_interval = 20\n");
        Write("d/10-a.conf", "[DEFAULT]\nreport_interval = 10\nmy_ip = 2.2.2.2\n");
        Write("d/ignored.txt", "[DEFAULT]\nreport_interval = 99\n");
        var arguments = new ConfigArguments
        {
            Sources = [new(ConfigSourceKind.File, file), new(ConfigSourceKind.Directory, Path.Combine(_dir.FullName, "d"))],
        };
        var config = Succeed(Loader().Load(arguments));
        Assert.That(config.Get(Interval), Is.EqualTo(20));
        Assert.That(config.Get(MyIp), Is.EqualTo("2.2.2.2"));
        Assert.That(config.Files.Select(Path.GetFileName), Is.EqualTo(new[] { "main.conf", "10-a.conf", "20-b.conf" }));
    }

    [Test]
    public void Load_DirectoryGivenBeforeFile_CommandLineOrderDecides()
    {
        Write("d/a.conf", "[DEFAULT]\nreport_interval = 10\n");
        var file = Write("last.conf", "[DEFAULT]\nreport_interval = 3\n");
        var arguments = new ConfigArguments
        {
            Sources = [new(ConfigSourceKind.Directory, Path.Combine(_dir.FullName, "d")), new(ConfigSourceKind.File, file)],
        };
        Assert.That(Succeed(Loader().Load(arguments)).Get(Interval), Is.EqualTo(3));
    }

    [Test]
    public void Load_NoConfigFileArgument_SearchesProjectThenProgramFileFirstDirectoryWins()
    {
        var home = Path.Combine(_dir.FullName, "home");
        var etc = Path.Combine(_dir.FullName, "etc");
        Write("etc/nova.conf", "[DEFAULT]\nreport_interval = 1\ndebug = true\n");
        Write("home/nova.conf", "[DEFAULT]\nreport_interval = 2\n");
        Write("etc/nova-compute.conf", "[DEFAULT]\nmy_ip = 3.3.3.3\n");
        Write("etc/nova-compute.conf.d/50.conf", "[DEFAULT]\nmy_ip = 4.4.4.4\n");
        var config = Succeed(Loader(searchDirs: [home, etc]).Load(ConfigArguments.Empty));
        // nova.conf from the first directory that has it (home); nova-compute.conf from etc; then the .d dir.
        Assert.That(config.Get(Interval), Is.EqualTo(2));
        Assert.That(config.Get(Debug), Is.False);
        Assert.That(config.Get(MyIp), Is.EqualTo("4.4.4.4"));
    }

    [Test]
    public void Load_ExplicitConfigFile_DisablesDefaultFileSearch()
    {
        var etc = Path.Combine(_dir.FullName, "etc");
        Write("etc/nova.conf", "[DEFAULT]\nreport_interval = 1\n");
        var file = Write("explicit.conf", "[DEFAULT]\ndebug = true\n");
        var config = Succeed(Loader(searchDirs: [etc]).Load(Files(file)));
        Assert.That(config.Get(Interval), Is.EqualTo(10));
    }

    [Test]
    public void Load_EnvironmentVariable_OverridesFiles()
    {
        var file = Write("a.conf", "[DEFAULT]\nreport_interval = 5\n[database]\nconnection = sqlite://\n");
        var env = new Dictionary<string, string> { ["OS_DEFAULT__REPORT_INTERVAL"] = "42", ["OS_DATABASE__CONNECTION"] = "postgresql://u:p@h/db" };
        var config = Succeed(Loader(env).Load(Files(file)));
        Assert.That(config.Get(Interval), Is.EqualTo(42));
        Assert.That(config.Get(Connection), Is.EqualTo("postgresql://u:p@h/db"));
        Assert.That(config.Describe(Interval).Source.ToString(), Is.EqualTo("environment OS_DEFAULT__REPORT_INTERVAL"));
    }

    [Test]
    public void Load_CommandLineOverride_BeatsEnvironmentAndFiles()
    {
        var file = Write("a.conf", "[DEFAULT]\ndebug = false\n");
        var env = new Dictionary<string, string> { ["OS_DEFAULT__DEBUG"] = "false" };
        var arguments = Files(file) with { Overrides = [(Debug, "true", "--debug")] };
        var config = Succeed(Loader(env).Load(arguments));
        Assert.That(config.Get(Debug), Is.True);
        Assert.That(config.Describe(Debug).Source.ToString(), Is.EqualTo("command line --debug"));
    }

    [Test]
    public void Load_MultiValuedOption_CollectsEveryOccurrenceInFileOrder()
    {
        var a = Write("a.conf", "[oslo_messaging_notifications]\ndriver = log\ndriver = messagingv2\n");
        var b = Write("b.conf", "[oslo_messaging_notifications]\ndriver = noop\n");
        Assert.That(Succeed(Loader().Load(Files(a, b))).Get(Driver), Is.EqualTo(new[] { "log", "messagingv2", "noop" }));
    }

    [Test]
    public void Load_Interpolation_ResolvesNamesGroupsBracesAndEscapes()
    {
        var file = Write("a.conf", """
            [DEFAULT]
            my_ip = 192.0.2.7
            servicegroup_driver = db
            [database]
            connection = sqlite:///$my_ip/x
            derived = ${connection}|$DEFAULT.my_ip|$$literal|$unknown_name|${report_interval}
            """);
        var config = Succeed(Loader().Load(Files(file)));
        Assert.That(config.Get(Derived), Is.EqualTo("sqlite:///192.0.2.7/x|192.0.2.7|$literal|$unknown_name|10"));
        Assert.That(config.Get(StorageIp), Is.EqualTo("192.0.2.7"), "defaults are interpolated too");
    }

    [Test]
    public void Load_InterpolationLoop_IsAnErrorNotAHang()
    {
        var file = Write("a.conf", "[database]\nconnection = $derived\nderived = $connection\n");
        var result = Loader().Load(Files(file));
        Assert.That(result.Errors.Select(e => e.Message), Has.Some.Contains("interpolation loop"));
    }

    [Test]
    public void Load_DeprecatedName_IsReadAndWarned()
    {
        var file = Write("a.conf", "[DEFAULT]\nrpc_conn_pool_size_old = 12\n");
        var result = Loader().Load(Files(file));
        Assert.That(Succeed(result).Get(Renamed), Is.EqualTo("12"));
        Assert.That(result.Warnings.Single().Message, Is.EqualTo(
            "Deprecated: Option \"rpc_conn_pool_size_old\" from group \"DEFAULT\" is deprecated. Use option \"rpc_conn_pool_size_str\" from group \"oslo_messaging_rabbit\"."));
    }

    [Test]
    public void Load_UnknownOptionsAndSections_AreWarningsWithLocation()
    {
        var file = Write("a.conf", "[DEFAULT]\nnot_an_option = 1\n[libvirt]\nvirt_type = kvm\ncpu_mode = none\n");
        var result = Loader().Load(Files(file));
        Succeed(result);
        Assert.That(result.Warnings.Select(w => w.ToString()), Is.EqualTo(new[]
        {
            $"{file}:2: Unknown option not_an_option in [DEFAULT] ignored",
            $"{file}:4: Unknown section [libvirt] ignored (2 option(s))",
        }));
    }

    [TestCase("report_interval = abc", "invalid literal for int() with base 10: 'abc'")]
    [TestCase("report_interval = 1.5", "invalid literal for int() with base 10: '1.5'")]
    [TestCase("report_interval = -1", "Should be greater than or equal to 0")]
    [TestCase("debug = maybe", "Unexpected boolean value 'maybe'")]
    [TestCase("servicegroup_driver = zk", "Valid values are [db, mc], but found 'zk'")]
    [TestCase("enabled_apis = osapi_compute,ec2", "Valid values are [osapi_compute, metadata], but found 'ec2'")]
    public void Load_InvalidValue_ErrorNamesFileLineOptionAndReason(string line, string reason)
    {
        var file = Write("a.conf", "[DEFAULT]\n" + line + "\n");
        var result = Loader().Load(Files(file));
        Assert.That(result.Config, Is.Null);
        var error = result.Errors.Single();
        Assert.That((error.File, error.Line), Is.EqualTo((file, 2)));
        Assert.That(error.Option, Is.EqualTo("DEFAULT." + line.Split(' ')[0]));
        Assert.That(error.Message, Does.EndWith("is not valid: " + reason));
    }

    [Test]
    public void Load_FloatOutOfRange_ReportsBound()
    {
        var file = Write("a.conf", "[oslo_messaging_rabbit]\nkombu_reconnect_delay = 5\n");
        Assert.That(Loader().Load(Files(file)).Errors.Single().Message, Does.EndWith("Should be less than or equal to 4.5"));
    }

    [Test]
    public void Load_ProblemsInSeveralFiles_AllReportedInOneGo()
    {
        var a = Write("a.conf", "[DEFAULT]\nreport_interval = x\ngarbage\n");
        var b = Write("b.conf", "[DEFAULT]\ndebug = perhaps\n");
        var missing = Path.Combine(_dir.FullName, "missing.conf");
        var result = Loader().Load(Files(a, b, missing));
        Assert.That(result.Errors.Select(e => (Path.GetFileName(e.File), e.Line)), Is.EquivalentTo(new (string?, int?)[]
        {
            ("a.conf", 2), ("a.conf", 3), ("b.conf", 2), ("missing.conf", null),
        }));
    }

    [Test]
    public void Load_MissingDirectoryOrUnreadableFile_IsAnError()
    {
        var arguments = new ConfigArguments
        {
            Sources = [new(ConfigSourceKind.Directory, Path.Combine(_dir.FullName, "nodir")), new(ConfigSourceKind.File, _dir.FullName)],
        };
        var result = Loader().Load(arguments);
        Assert.That(result.Errors, Has.Count.EqualTo(2));
        Assert.That(result.Errors.Select(e => e.Message), Has.Some.Contains("nodir: not found"));
    }

    [Test]
    public void Load_InvalidSecretValue_ErrorDoesNotShowIt()
    {
        var catalog = new Opt[] { new IntOpt("secret_number", 1) { Secret = true } };
        var file = Write("a.conf", "[DEFAULT]\nsecret_number = hunter2\n");
        var result = new ConfigLoader(catalog, new ConfigSearch { Directories = [], Environment = new Dictionary<string, string>() }).Load(Files(file));
        Assert.That(result.Errors.Single().Message, Does.Not.Contain("hunter2"));
    }

    [Test]
    public void Describe_SecretOption_DisplaysStars()
    {
        var file = Write("a.conf", "[database]\nconnection = postgresql://nova:s3cret@db/nova\n");
        var config = Succeed(Loader().Load(Files(file)));
        Assert.That(config.Describe(Connection).Display, Is.EqualTo("****"));
        Assert.That(ConfigReport.EffectiveValues(config), Does.Not.Contain("s3cret"));
        Assert.That(string.Join("\n", ConfigReport.OptionDump(config)), Does.Not.Contain("s3cret"));
    }
}
