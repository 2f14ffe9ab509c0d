using System.Diagnostics;
using System.Text.Json.Nodes;
using NovaCompute.Db;
using NovaCompute.Objects;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Objects;

public class ServiceTests
{
    [OneTimeSetUp]
    public void RegisterObjects() => ObjectRegistry.RegisterAll();

    // Captured from nova 26.2.2 (python3-nova): Service() with host/binary/topic/report_count set.
    private const string NovaNewService = """
        {"nova_object.name": "Service", "nova_object.namespace": "nova", "nova_object.version": "1.22",
         "nova_object.data": {"host": "compute-01", "binary": "nova-compute", "topic": "compute", "report_count": 0, "version": 64},
         "nova_object.changes": ["host", "topic", "version", "report_count", "binary"]}
        """;

    // Captured from nova 26.2.2: a loaded Service after report_count += 1 (the heartbeat's object).
    private const string NovaHeartbeat = """
        {"nova_object.name": "Service", "nova_object.namespace": "nova", "nova_object.version": "1.22",
         "nova_object.data": {"id": 1, "uuid": "9fb95e92-53e0-44f2-aa44-6f4550a4ea99", "host": "compute-01", "binary": "nova-compute",
           "topic": "compute", "report_count": 3, "disabled": false, "disabled_reason": null, "last_seen_up": "2024-05-14T09:12:49Z",
           "forced_down": false, "version": 64, "created_at": "2024-05-14T09:12:44Z", "updated_at": "2024-05-14T09:12:49Z",
           "deleted_at": null, "deleted": false},
         "nova_object.changes": ["report_count"]}
        """;

    // The same object backported by nova to 1.12 (no uuid, version, forced_down, last_seen_up).
    private const string NovaHeartbeat112 = """
        {"nova_object.name": "Service", "nova_object.namespace": "nova", "nova_object.version": "1.12",
         "nova_object.data": {"id": 1, "host": "compute-01", "binary": "nova-compute", "topic": "compute", "report_count": 3,
           "disabled": false, "disabled_reason": null, "created_at": "2024-05-14T09:12:44Z", "updated_at": "2024-05-14T09:12:49Z",
           "deleted_at": null, "deleted": false},
         "nova_object.changes": ["report_count"]}
        """;

    private static Service LoadedHeartbeatService()
    {
        var service = Service.FromRecord(new ServiceRecord
        {
            Id = 1,
            Uuid = "9fb95e92-53e0-44f2-aa44-6f4550a4ea99",
            Host = "compute-01",
            Binary = "nova-compute",
            Topic = "compute",
            ReportCount = 2,
            LastSeenUp = new DateTime(2024, 5, 14, 9, 12, 49, 123).AddTicks(4560),
            Version = 64,
            CreatedAt = new DateTime(2024, 5, 14, 9, 12, 44, 500),
            UpdatedAt = new DateTime(2024, 5, 14, 9, 12, 49),
        });
        service.ReportCount += 1;
        return service;
    }

    [Test]
    public void ToPrimitive_NewService_MatchesNovasJson()
    {
        var service = new Service { Host = "compute-01", Binary = "nova-compute", Topic = "compute", ReportCount = 0 };
        AssertSamePrimitive(service.ToPrimitive(), NovaNewService);
    }

    [Test]
    public void ToPrimitive_HeartbeatObject_MatchesNovasJsonWithSecondsPrecision()
    {
        AssertSamePrimitive(LoadedHeartbeatService().ToPrimitive(), NovaHeartbeat);
    }

    [Test]
    public void ToPrimitive_Backport112_DropsWhatNovaDrops()
    {
        AssertSamePrimitive(LoadedHeartbeatService().ToPrimitive("1.12"), NovaHeartbeat112);
    }

    [Test]
    public void ToPrimitive_NewerTargetThanOurs_Throws() =>
        Assert.Throws<ArgumentException>(() => new Service().ToPrimitive("1.23"));

    [Test]
    public void FromPrimitive_NovasHeartbeat_RebuildsFieldsAndChanges()
    {
        var service = ObjectRegistry.FromPrimitive<Service>(JsonNode.Parse(NovaHeartbeat)!);
        Assert.Multiple(() =>
        {
            Assert.That(service.Id, Is.EqualTo(1));
            Assert.That(service.ReportCount, Is.EqualTo(3));
            Assert.That(service.LastSeenUp, Is.EqualTo(new DateTime(2024, 5, 14, 9, 12, 49, DateTimeKind.Utc)));
            Assert.That(service.LastSeenUp!.Value.Kind, Is.EqualTo(DateTimeKind.Utc));
            Assert.That(service.DisabledReason, Is.Null);
            Assert.That(service.IsSet("compute_node"), Is.False);
            Assert.That(service.Changes, Is.EquivalentTo(new[] { "report_count" }));
        });
        AssertSamePrimitive(service.ToPrimitive(), NovaHeartbeat);
    }

    [Test]
    public void FromPrimitive_OlderCompatibleVersion_IsAcceptedAndRemembered()
    {
        var service = ObjectRegistry.FromPrimitive<Service>(JsonNode.Parse(NovaHeartbeat112)!);
        Assert.That(service.ReceivedVersion, Is.EqualTo("1.12"));
        Assert.That(service.IsSet("last_seen_up"), Is.False);
    }

    [TestCase("1.30", "Version 1.30 of Service is not supported, supported version is 1.22")]
    [TestCase("2.0", "Version 2.0 of Service is not supported, supported version is 1.22")]
    public void FromPrimitive_IncompatibleVersion_ThrowsOvosError(string version, string message)
    {
        var primitive = JsonNode.Parse(NovaHeartbeat)!;
        primitive["nova_object.version"] = version;
        var ex = Assert.Throws<IncompatibleObjectVersionException>(() => ObjectRegistry.FromPrimitive(primitive));
        Assert.That(ex!.Message, Is.EqualTo(message));
    }

    [Test]
    public void FromPrimitive_OtherNamespaceOrUnknownName_ThrowsUnsupported()
    {
        var otherNamespace = JsonNode.Parse(NovaHeartbeat)!;
        otherNamespace["nova_object.namespace"] = "x";
        Assert.That(Assert.Throws<UnsupportedObjectException>(() => ObjectRegistry.FromPrimitive(otherNamespace))!.Message,
            Is.EqualTo("Unsupported object type x.Service"));
        var unknown = JsonNode.Parse(NovaHeartbeat)!;
        unknown["nova_object.name"] = "Nope";
        Assert.That(Assert.Throws<UnsupportedObjectException>(() => ObjectRegistry.FromPrimitive(unknown))!.Message,
            Is.EqualTo("Unsupported object type Nope"));
    }

    [Test]
    public void Set_NullIntoNonNullableField_Throws() =>
        Assert.Throws<ArgumentException>(() => new Service().Set("report_count", null));

    [Test]
    public void FromRecord_DatabaseRow_HasNoPendingChangesAndBooleanDeleted()
    {
        var service = Service.FromRecord(new ServiceRecord { Id = 7, Host = "h", Binary = "nova-compute", Deleted = 7, Version = 61 });
        Assert.That(service.Changes, Is.Empty);
        Assert.That(service.Deleted, Is.True);
        Assert.That(service.Version, Is.EqualTo(61));
        Assert.That(service.IsSet("uuid"), Is.False, "a NULL uuid stays unset, as nova leaves it");
        Assert.That(service.ToPrimitive().ContainsKey("nova_object.changes"), Is.False);
    }

    [Test]
    public void FromPrimitive_UnregisteredNestedObject_IsCarriedThrough()
    {
        var primitive = JsonNode.Parse(NovaHeartbeat)!;
        var node = JsonNode.Parse("""{"nova_object.name": "ComputeNode", "nova_object.namespace": "nova", "nova_object.version": "1.19", "nova_object.data": {"id": 3}}""")!;
        primitive["nova_object.data"]!["compute_node"] = node.DeepClone();
        var service = ObjectRegistry.FromPrimitive<Service>(primitive);
        Assert.That(JsonNode.DeepEquals(service.ToPrimitive()["nova_object.data"]!["compute_node"], node), Is.True);
    }

    /// <summary>Our primitive, handed to nova's own <c>obj_from_primitive</c>, comes back out of nova unchanged.</summary>
    [Test]
    public async Task ToPrimitive_ReadByNova_RoundTripsThroughNovasObject()
    {
        var ours = LoadedHeartbeatService().ToPrimitive();
        const string script = """
            import json, sys
            from nova import objects
            objects.register_all()
            p = json.load(sys.stdin)
            o = objects.Service.obj_from_primitive(p)
            print(json.dumps(o.obj_to_primitive()))
            """;
        var start = new ProcessStartInfo(TestServices.SystemPython, ["-c", script])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var python = Process.Start(start)!;
        await python.StandardInput.WriteAsync(ours.ToJsonString());
        python.StandardInput.Close();
        var stdout = python.StandardOutput.ReadToEndAsync();
        var stderr = python.StandardError.ReadToEndAsync();
        await python.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.That(python.ExitCode, Is.Zero, await stderr);
        AssertSamePrimitive(ours, (await stdout).Trim().Split('\n')[^1]);
    }

    /// <summary>Same JSON; the order of <c>nova_object.changes</c> is unspecified (a Python set).</summary>
    private static void AssertSamePrimitive(JsonObject actual, string expectedJson)
    {
        var expected = JsonNode.Parse(expectedJson)!.AsObject();
        var actualChanges = actual["nova_object.changes"]?.AsArray().Select(n => n!.GetValue<string>()).Order().ToArray();
        var expectedChanges = expected["nova_object.changes"]?.AsArray().Select(n => n!.GetValue<string>()).Order().ToArray();
        Assert.That(actualChanges, Is.EqualTo(expectedChanges));
        var a = (JsonObject)actual.DeepClone();
        var e = (JsonObject)expected.DeepClone();
        a.Remove("nova_object.changes");
        e.Remove("nova_object.changes");
        Assert.That(a.ToJsonString(), Is.EqualTo(e.ToJsonString()), "field order and values as nova emits them");
    }
}
