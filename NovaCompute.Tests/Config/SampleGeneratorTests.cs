using System.Diagnostics;
using System.Text.Json;
using NovaCompute.Config;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Config;

public class SampleGeneratorTests
{
    [Test]
    public void CommittedSample_MatchesGeneratedOutput()
    {
        var committed = File.ReadAllText(Path.Combine(TestServices.RepositoryRoot, "nova-compute.conf.sample"));
        var generated = SampleGenerator.Generate(OptionCatalog.All);
        Assert.That(committed, Is.EqualTo(generated),
            "nova-compute.conf.sample is stale: regenerate it with `nova-compute genconfig --output-file nova-compute.conf.sample`");
    }

    [Test]
    public void Generate_Option_HasOsloShape()
    {
        var options = new Opt[]
        {
            new IntOpt("periodic_fuzzy_delay", 60) { Min = 0, Help = "Number of seconds to randomly delay when starting the periodic task scheduler to reduce stampeding." },
            new BoolOpt("debug", false) { Namespace = "oslo.log", Mutable = true, Help = "If set to true, the logging level will be set to DEBUG instead of the default INFO level." },
            new FloatOpt("kombu_reconnect_delay", 1.0) { Group = "oslo_messaging_rabbit", Namespace = "oslo.messaging", Min = 0.0, Max = 4.5, Help = "How long to wait." },
            new StrOpt("servicegroup_driver", "db") { Choices = [new("db", "Database ServiceGroup driver"), new("mc")], Help = "Driver." },
            new StrOpt("rabbit_login_method", "AMQPLAIN") { Group = "oslo_messaging_rabbit", Namespace = "oslo.messaging", DeprecatedNames = [new(ConfigGroups.Default, "rabbit_login_method")], Help = "Login method." },
            new HostDomainOpt("host", "x") { SampleDefault = "<current_hostname>", Help = "Host." },
            new StrOpt("padded", " x ") { Help = "" },
        };
        Assert.That(SampleGenerator.Generate(options), Is.EqualTo("""
            [DEFAULT]

            #
            # From nova.conf
            #

            # Number of seconds to randomly delay when starting the periodic task
            # scheduler to reduce stampeding. (integer value)
            # Minimum value: 0
            #periodic_fuzzy_delay = 60

            # Driver. (string value)
            # Possible values:
            # db - Database ServiceGroup driver
            # mc - <No description provided>
            #servicegroup_driver = db

            # Host. (host domain value)
            #
            # This option has a sample default set, which means that
            # its actual default value may vary from the one documented
            # below.
            #host = <current_hostname>

            # (string value)
            #padded = " x "

            #
            # From oslo.log
            #

            # If set to true, the logging level will be set to DEBUG instead of
            # the default INFO level. (boolean value)
            # Note: This option can be changed without restarting.
            #debug = false


            [oslo_messaging_rabbit]

            #
            # From oslo.messaging
            #

            # How long to wait. (floating point value)
            # Minimum value: 0.0
            # Maximum value: 4.5
            #kombu_reconnect_delay = 1.0

            # Login method. (string value)
            # Deprecated group/name - [DEFAULT]/rabbit_login_method
            #rabbit_login_method = AMQPLAIN

            """.Replace("\r\n", "\n")));
    }

    /// <summary>The help wrapping must agree with Python's textwrap, which oslo-config-generator uses.</summary>
    [Test]
    public void Wrap_AgreesWithPythonTextwrap()
    {
        string[] texts =
        [
            "Hostname, FQDN or IP address of this host. Used as the oslo.messaging queue name for nova-compute worker and more words to wrap around",
            "averyveryveryveryveryveryveryveryveryveryveryveryveryveryveryveryveryverylongword then short",
            "  leading spaces and   multiple   inner spaces that should wrap at seventy columns exactly here ok",
            "* the oslo.messaging queue name for nova-compute worker and a bit more text",
            "",
        ];
        var python = TestServices.SystemPython;
        var script = "import json,sys,textwrap\nfor t in json.load(sys.stdin): print(json.dumps(textwrap.wrap(t, 70, initial_indent='# ', subsequent_indent='# ', break_long_words=False, replace_whitespace=False)))";
        var start = new ProcessStartInfo(python, ["-c", script]) { RedirectStandardInput = true, RedirectStandardOutput = true };
        using var process = Process.Start(start)!;
        process.StandardInput.Write(JsonSerializer.Serialize(texts));
        process.StandardInput.Close();
        var lines = process.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        process.WaitForExit();
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.That(SampleGenerator.Wrap(texts[i]), Is.EqualTo(JsonSerializer.Deserialize<string[]>(lines[i])), texts[i]);
        }
    }
}
