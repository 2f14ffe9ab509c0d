using System.Text.Json.Nodes;
using NovaCompute.Compute;
using NovaCompute.Conductor;
using NovaCompute.Db;
using NovaCompute.Objects;

namespace NovaCompute.Tests.Conductor;

/// <summary>
/// The objects the conductor client sends, built as the client builds them and compared with what
/// nova's own compute-side code sent a real nova-conductor (Captures/, from reference/conductor/run2),
/// replies applied in between exactly as they came back.
/// </summary>
internal sealed class ConductorWireTests
{
    [OneTimeSetUp]
    public void RegisterObjects() => ObjectRegistry.RegisterAll();

    private static JsonObject Capture(string name) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(TestContext.CurrentContext.TestDirectory, "Conductor", "Captures", name)))!.AsObject();

    private static JsonObject SentObject(string capture) => Capture(capture)["request"]!["oslo.message"]!["args"]!["objinst"]!.AsObject();

    private static JsonObject ReplyUpdates(string capture) => Capture(capture)["reply"]!["oslo.message"]!["result"]![0]!.AsObject();

    private static void AssertSameObject(JsonObject expected, JsonObject actual)
    {
        Assert.That(JsonNode.DeepEquals(expected[NovaObject.DataKey], actual[NovaObject.DataKey]), Is.True,
            $"data differs:\nnova:   {expected[NovaObject.DataKey]!.ToJsonString()}\ndaemon: {actual[NovaObject.DataKey]!.ToJsonString()}");
        Assert.That(actual.Select(p => p.Key), Is.EquivalentTo(expected.Select(p => p.Key)));
        Assert.That((string?)actual[NovaObject.VersionKey], Is.EqualTo((string?)expected[NovaObject.VersionKey]));
        // Python sends the changes of a set, in no particular order.
        Assert.That(actual[NovaObject.ChangesKey]!.AsArray().Select(c => (string?)c),
            Is.EquivalentTo(expected[NovaObject.ChangesKey]!.AsArray().Select(c => (string?)c)));
    }

    private static Service NewAsCreated() => new()
    {
        Host = "probe-compute2",
        Binary = "nova-compute",
        Topic = "compute",
        ReportCount = 0,
    };

    [Test]
    public void Create_NewServiceAsTheClientBuildsIt_MatchesNovasCreate()
    {
        AssertSameObject(SentObject("04-object_action-create.json"), NewAsCreated().ToPrimitive());
    }

    [Test]
    public void Heartbeat_CreateReplyMergedThenCountIncremented_MatchesNovasFirstSave()
    {
        var service = NewAsCreated();
        service.ApplyUpdates(ReplyUpdates("04-object_action-create.json"));
        Assert.That(service.Changes, Is.Empty, "ovo resets the changes after merging a reply");
        service.ReportCount += 1;

        AssertSameObject(SentObject("05-object_action-save.json"), service.ToPrimitive());
    }

    [Test]
    public void Heartbeat_SaveReplyMerged_NextSaveMatchesNovasSecondSave()
    {
        var service = NewAsCreated();
        service.ApplyUpdates(ReplyUpdates("04-object_action-create.json"));
        service.ReportCount += 1;
        service.ApplyUpdates(ReplyUpdates("05-object_action-save.json"));
        service.ReportCount += 1;

        AssertSameObject(SentObject("06-object_action-save.json"), service.ToPrimitive());
        Assert.That(service.ToRecord().LastSeenUp, Is.EqualTo(new DateTime(2026, 12, 1, 7, 48, 44)));
    }

    [Test]
    public void ApplyUpdates_ObjWhatChanged_MarksThoseFieldsChanged()
    {
        var service = NewAsCreated();
        service.ApplyUpdates(JsonNode.Parse("""{"id": 7, "disabled": true, "obj_what_changed": ["disabled"]}""")!.AsObject());
        Assert.That(service.Id, Is.EqualTo(7));
        Assert.That(service.Changes, Is.EquivalentTo(new[] { "disabled" }));
    }

    [Test]
    public void ComputeNode_ValuesThroughTheWireForm_ReadBackEqual()
    {
        var values = new ComputeNodeValues
        {
            ServiceId = 4,
            Host = "node-1",
            HypervisorHostname = "node-1",
            Vcpus = 8,
            MemoryMb = 16000,
            LocalGb = 100,
            VcpusUsed = 0,
            MemoryMbUsed = 512,
            LocalGbUsed = 0,
            HypervisorType = "fake",
            HypervisorVersion = 1000,
            CpuInfo = """{"arch": "x86_64"}""",
            DiskAvailableLeast = 90,
            FreeRamMb = 15488,
            FreeDiskGb = 100,
            CurrentWorkload = 0,
            RunningVms = 0,
            HostIp = "192.0.2.2",
            SupportedInstances = """[["x86_64", "fake", "hvm"]]""",
            PciStats = ResourceTracker.EmptyPciStats,
            Metrics = "[]",
            Stats = """{"failed_builds": "0"}""",
            CpuAllocationRatio = 16.0,
            RamAllocationRatio = 1.5,
            DiskAllocationRatio = 1.0,
        };
        var data = new JsonObject { ["id"] = 3, ["uuid"] = "31e409da-d304-449a-bbac-a573927bcbae" };
        ConductorComputeNodeRepository.AddValues(data, values);
        var primitive = JsonNode.Parse(new JsonObject
        {
            [NovaObject.NameKey] = "ComputeNode",
            [NovaObject.NamespaceKey] = "nova",
            [NovaObject.VersionKey] = "1.19",
            [NovaObject.DataKey] = data,
        }.ToJsonString())!.AsObject();

        var record = ConductorComputeNodeRepository.FromPrimitive(primitive);

        Assert.That(record.Values, Is.EqualTo(values));
        Assert.That(record.Id, Is.EqualTo(3));
        Assert.That((string?)data["supported_hv_specs"]![0]![NovaObject.NameKey], Is.EqualTo("HVSpec"));
        Assert.That(data["stats"], Is.InstanceOf<JsonObject>(), "stats travel as a dict, not as text");
    }
}
