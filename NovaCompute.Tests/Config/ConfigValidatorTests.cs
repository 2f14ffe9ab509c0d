using NovaCompute.Config;

namespace NovaCompute.Tests.Config;

/// <summary>The one check before anything starts (daemon, simulate, check-config): every problem, each located and named.</summary>
public class ConfigValidatorTests
{
    private DirectoryInfo _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("nova-validator-");

    [TearDown]
    public void TearDown() => _dir.Delete(recursive: true);

    private (NovaConfig Config, string File) Load(string text)
    {
        var file = Path.Combine(_dir.FullName, "nova.conf");
        File.WriteAllText(file, text);
        var loader = new ConfigLoader(OptionCatalog.All, new ConfigSearch
        {
            Directories = [Path.Combine(_dir.FullName, "nowhere")],
            Environment = new Dictionary<string, string>(),
        });
        var result = loader.Load(new ConfigArguments { Sources = [new ConfigSourceArgument(ConfigSourceKind.File, file)] });
        Assert.That(result.Errors, Is.Empty, string.Join("\n", result.Errors));
        return (result.Config!, file);
    }

    [Test]
    public void Validate_ProblemsInSeveralAreas_ReportsEveryOneWithItsOptionGroupAndPlace()
    {
        var missing = Path.Combine(_dir.FullName, "absent.pem");
        var (config, file) = Load($"""
            [DEFAULT]
            transport_url = amqp://guest:secret@host:5672/
            enabled_apis = osapi_compute
            enabled_ssl_apis = osapi_compute
            [oslo_messaging_rabbit]
            rabbit_quorum_queue = true
            rabbit_ha_queues = true
            [wsgi]
            ssl_cert_file = {missing}
            ssl_key_file = {missing}
            """);

        var problems = ConfigValidator.Validate(config).Select(p => p.ToString()).ToList();

        Assert.That(problems, Has.Count.EqualTo(4), string.Join("\n", problems));
        Assert.That(problems, Has.One.StartsWith($"{file}:2: transport_url: unsupported driver 'amqp'").And.EndsWith("(in group [DEFAULT])"));
        Assert.That(problems, Has.One.StartsWith("Compute driver option required, but not specified: set [DEFAULT] compute_driver to one of"));
        Assert.That(problems, Has.One.StartsWith("Configuration Error: rabbit_quorum_queue and rabbit_ha_queues both enabled")
            .And.EndsWith("(in group [oslo_messaging_rabbit])"));
        Assert.That(problems, Has.One.EqualTo(
            $"Unable to find cert_file : {missing}. Failed to start osapi_compute on 127.0.0.1:8774 with SSL support (in group [wsgi])"));
        Assert.That(problems, Has.None.Contains("secret"));
    }

    [Test]
    public void Validate_DriverSetAndDefaultsElsewhere_NoProblem()
    {
        var (config, _) = Load("[DEFAULT]\ncompute_driver = fake.FakeDriver\n");
        Assert.That(ConfigValidator.Validate(config), Is.Empty);
    }

    [Test]
    public void Validate_TlsFilesWithTheApiDisabled_AreNotChecked()
    {
        var (config, _) = Load("[DEFAULT]\ncompute_driver = fake.FakeDriver\nenabled_apis =\nenabled_ssl_apis = osapi_compute\n[wsgi]\nssl_cert_file = /nonexistent.pem\n");
        Assert.That(ConfigValidator.Validate(config), Is.Empty);
    }
}
