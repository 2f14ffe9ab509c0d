using System.Text.Json;
using System.Text.Json.Nodes;
using NovaCompute.Api;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Api;

/// <summary>
/// Our schema checks against nova's own: every case goes through nova's <c>_SchemaValidator</c>
/// with nova's schemas (python3-nova, by nova_validate.py) and through ours, and the messages must
/// be the same text.
/// </summary>
public class RequestSchemaTests
{
    private static readonly (string Schema, string Instance)[] Cases =
    [
        ("service_update", """{"host": "a b", "binary": "nova-compute"}"""),
        ("service_update", """{"host": "", "binary": "nova-compute"}"""),
        ("service_update", """{"host": 12, "binary": "nova-compute"}"""),
        ("service_update", """{"binary": "nova-compute"}"""),
        ("service_update", """{"host": "h"}"""),
        ("service_update", """{"host": "h", "binary": ""}"""),
        ("service_update", """{"host": "h", "binary": "nova-compute", "forced_down": true}"""),
        ("service_update", """{"host": "h", "binary": "nova-compute", "zzz": 1, "aaa": [1, 2.5, null]}"""),
        ("service_update", """{"host": "h", "binary": "nova-compute", "disabled_reason": ""}"""),
        ("service_update", """{"host": "h", "binary": "nova-compute", "disabled_reason": {"a": "it's"}}"""),
        ("service_update", """["host", "h"]"""),
        ("service_update", "null"),
        ("service_update", "\"text\""),
        ("service_update_v211", """{"host": "h", "binary": "nova-compute", "forced_down": "maybe"}"""),
        ("service_update_v211", """{"host": "h", "binary": "nova-compute", "forced_down": 1}"""),
        ("service_update_v211", """{"host": "h", "binary": "nova-compute", "forced_down": null}"""),
        ("service_update_v2_53", """{"status": "off"}"""),
        ("service_update_v2_53", """{"status": true}"""),
        ("service_update_v2_53", """{"status": "disabled", "disabled_reason": 5}"""),
        ("service_update_v2_53", """{"forced_down": "yes", "host": "h"}"""),
        ("service_update_v2_53", """{"status": "é\n\t\u0001✓\\"}"""),
        ("service_update_v2_53", """{"status": "disabled", "disabled_reason": "%REASON%"}"""),
        ("service_update_v2_53", """{"status": "x\"y'z"}"""),
        ("service_update_v2_53", """{"forced_down": 1.5e300}"""),
    ];

    private static RequestSchema Ours(string name) => name switch
    {
        "service_update" => ServicesApi.ServiceUpdate,
        "service_update_v211" => ServicesApi.ServiceUpdateV211,
        "service_update_v2_53" => ServicesApi.ServiceUpdateV253,
        _ => throw new ArgumentException(name),
    };

    private static string Instance(string text) => text.Replace("%REASON%", new string('r', 256), StringComparison.Ordinal);

    [Test]
    public async Task Validate_InvalidBodies_SameMessagesAsNovasValidator()
    {
        var input = new JsonArray(Cases.Select(c => (JsonNode)new JsonObject
        {
            ["schema"] = c.Schema,
            ["instance"] = JsonNode.Parse(Instance(c.Instance)),
            ["is_body"] = true,
        }).ToArray());
        var script = Path.Combine(TestServices.RepositoryRoot, "NovaCompute.Tests", "Api", "nova_validate.py");
        var run = await Shell.RunAsync(TestServices.SystemPython, [script], TimeSpan.FromSeconds(60), input.ToJsonString());
        Assert.That(run.ExitCode, Is.Zero, run.Stderr);
        var nova = JsonNode.Parse(run.Stdout)!.AsArray().Select(n => (string?)n).ToList();

        Assert.Multiple(() =>
        {
            for (var i = 0; i < Cases.Length; i++)
            {
                using var document = JsonDocument.Parse(Instance(Cases[i].Instance));
                var ours = Ours(Cases[i].Schema).Validate(document.RootElement.Clone());
                Assert.That(nova[i], Is.Not.Null, $"case {i} should be invalid for nova too");
                Assert.That(ours, Is.EqualTo(nova[i]), $"case {i}: {Cases[i].Schema} {Cases[i].Instance}");
            }
        });
    }

    [TestCase("service_update", """{"host": "node-1.example_x", "binary": "nova-compute", "disabled_reason": "r"}""")]
    [TestCase("service_update_v211", """{"host": "h", "binary": "b", "forced_down": "Off"}""")]
    [TestCase("service_update_v2_53", """{}""")]
    [TestCase("service_update_v2_53", """{"status": "disabled", "disabled_reason": "é", "forced_down": false}""")]
    public void Validate_ValidBody_NoProblem(string schema, string instance)
    {
        using var document = JsonDocument.Parse(instance);
        Assert.That(Ours(schema).Validate(document.RootElement.Clone()), Is.Null);
    }

    [Test]
    public void Validate_NoBody_IsNoneNotAnObject()
    {
        Assert.That(ServicesApi.ServiceUpdateV253.Validate(null), Is.EqualTo("None is not of type 'object'"));
    }
}
