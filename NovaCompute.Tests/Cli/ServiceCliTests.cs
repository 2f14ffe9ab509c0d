using System.Text.Json.Nodes;
using NovaCompute.Cli;
using NovaCompute.Db;
using NovaCompute.ServiceGroup;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Cli;

[TestFixture(DatabaseDialect.Sqlite)]
[TestFixture(DatabaseDialect.PostgreSql)]
internal sealed class ServiceCliTests(DatabaseDialect dialect) : DatabaseFixture(dialect)
{
    private static readonly CancellationToken None = CancellationToken.None;
    private StringWriter _out = new();
    private StringWriter _err = new();

    [SetUp]
    public async Task SetUp()
    {
        _out = new StringWriter { NewLine = "\n" };
        _err = new StringWriter { NewLine = "\n" };
    }

    private ServiceStatusQuery Query() => new(Repository, new TestServiceGroupSettings(), new ZoneSettings());

    [Test]
    public async Task ListAsync_Table_HasNovasColumnsInOrder()
    {
        var compute = await Repository.CreateAsync(new NewService("compute-01", "nova-compute", "compute", 64), None);
        await Repository.ReportStateAsync(compute.Id, None);
        await Repository.SetDisabledAsync(compute.Id, true, "maintenance", None);
        await Repository.CreateAsync(new NewService("ctl-01", "nova-conductor", "conductor", 64), None);

        Assert.That(await ServiceCli.ListAsync(Query(), null, null, "table", _out, None), Is.Zero);

        var lines = _out.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(6));
        Assert.That(lines[1], Does.Match(@"^\| Id +\| Binary +\| Host +\| Zone +\| Status +\| State +\| Updated_at +\| Disabled Reason \| Forced down \|$"));
        Assert.That(Cells(lines[3]), Is.EqualTo(new[] { compute.Id.ToString(), "nova-compute", "compute-01", "nova", "disabled", "up", Cells(lines[3])[6], "maintenance", "False" }));
        Assert.That(Cells(lines[3])[6], Does.Match(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$"));
        Assert.That(Cells(lines[4]), Is.EqualTo(new[] { Cells(lines[4])[0], "nova-conductor", "ctl-01", "internal", "enabled", "up", "-", "-", "False" }));
        Assert.That(lines[0], Is.EqualTo(lines[2]).And.EqualTo(lines[5]));
        Assert.That(lines.Select(l => l.Length).Distinct().Count(), Is.EqualTo(1));
    }

    [Test]
    public async Task ListAsync_Json_UsesTheApiFieldNamesPlusUuid()
    {
        var compute = await Repository.CreateAsync(new NewService("compute-01", "nova-compute", "compute", 64), None);
        await Repository.SetForcedDownAsync(compute.Id, true, None);
        await Repository.CreateAsync(new NewService("compute-02", "nova-compute", "compute", 64), None);

        Assert.That(await ServiceCli.ListAsync(Query(), "compute-01", "nova-compute", "json", _out, None), Is.Zero);

        var services = JsonNode.Parse(_out.ToString())!["services"]!.AsArray();
        Assert.That(services, Has.Count.EqualTo(1));
        var s = services[0]!.AsObject();
        Assert.That(s.Select(kv => kv.Key), Is.EqualTo(new[] { "id", "uuid", "binary", "host", "zone", "status", "state", "updated_at", "disabled_reason", "forced_down" }));
        Assert.That(s["id"]!.GetValue<int>(), Is.EqualTo(compute.Id));
        Assert.That(s["uuid"]!.GetValue<string>(), Is.EqualTo(compute.Uuid));
        Assert.That(s["state"]!.GetValue<string>(), Is.EqualTo("down"));
        Assert.That(s["forced_down"]!.GetValue<bool>(), Is.True);
        Assert.That(s["disabled_reason"], Is.Null);
    }

    [Test]
    public async Task DisableThenEnable_KnownHost_UpdatesAndPrintsNovaclientsTable()
    {
        await Repository.CreateAsync(new NewService("compute-01", "nova-compute", "compute", 64), None);

        Assert.That(await ServiceCli.DisableAsync(Repository, "compute-01", "nova-compute", "maintenance", _out, _err, None), Is.Zero);
        Assert.That(_out.ToString(), Does.Contain("| compute-01 | nova-compute | disabled | maintenance     |"));
        var row = await Repository.GetByHostAndBinaryAsync("compute-01", "nova-compute", None);
        Assert.That(row!.Disabled, Is.True);

        Assert.That(await ServiceCli.EnableAsync(Repository, "compute-01", "nova-compute", _out, _err, None), Is.Zero);
        row = await Repository.GetByHostAndBinaryAsync("compute-01", "nova-compute", None);
        Assert.That(row!.Disabled, Is.False);
        Assert.That(row.DisabledReason, Is.Null);
        Assert.That(_err.ToString(), Is.Empty);
    }

    [Test]
    public async Task ForceDown_SetThenUnset_RoundTrips()
    {
        await Repository.CreateAsync(new NewService("compute-01", "nova-compute", "compute", 64), None);
        Assert.That(await ServiceCli.ForceDownAsync(Repository, "compute-01", "nova-compute", false, _out, _err, None), Is.Zero);
        Assert.That((await Repository.GetByHostAndBinaryAsync("compute-01", "nova-compute", None))!.ForcedDown, Is.True);
        Assert.That(await ServiceCli.ForceDownAsync(Repository, "compute-01", "nova-compute", true, _out, _err, None), Is.Zero);
        Assert.That((await Repository.GetByHostAndBinaryAsync("compute-01", "nova-compute", None))!.ForcedDown, Is.False);
    }

    [Test]
    public async Task Delete_KnownHost_SoftDeletesAndASecondDeleteFails()
    {
        await Repository.CreateAsync(new NewService("compute-01", "nova-compute", "compute", 64), None);
        Assert.That(await ServiceCli.DeleteAsync(Repository, "compute-01", "nova-compute", _err, None), Is.Zero);
        Assert.That(await Repository.GetByHostAndBinaryAsync("compute-01", "nova-compute", None), Is.Null);
        Assert.That(await ServiceCli.DeleteAsync(Repository, "compute-01", "nova-compute", _err, None), Is.EqualTo(ExitCodes.Failure));
        Assert.That(_err.ToString(), Is.EqualTo("nova-compute: error: Could not find binary nova-compute on host compute-01.\n"));
    }

    [Test]
    public async Task Enable_UnknownHost_OneLineErrorAndFailure()
    {
        Assert.That(await ServiceCli.EnableAsync(Repository, "nowhere", "nova-compute", _out, _err, None), Is.EqualTo(ExitCodes.Failure));
        Assert.That(_err.ToString(), Is.EqualTo("nova-compute: error: Could not find binary nova-compute on host nowhere.\n"));
        Assert.That(_out.ToString(), Is.Empty);
    }

    [Test]
    public async Task Disable_NonComputeBinary_IsRefusedAsTheApiDoes()
    {
        await Repository.CreateAsync(new NewService("ctl-01", "nova-conductor", "conductor", 64), None);
        Assert.That(await ServiceCli.DisableAsync(Repository, "ctl-01", "nova-conductor", null, _out, _err, None), Is.EqualTo(ExitCodes.Failure));
        Assert.That(_err.ToString(), Does.Contain("Updating a nova-conductor service is not supported. Only nova-compute services can be updated."));
    }

    [Test]
    public async Task Disable_ReasonTooLong_IsAUsageError()
    {
        await Repository.CreateAsync(new NewService("compute-01", "nova-compute", "compute", 64), None);
        Assert.That(await ServiceCli.DisableAsync(Repository, "compute-01", "nova-compute", new string('x', 256), _out, _err, None), Is.EqualTo(ExitCodes.Usage));
    }

    private static string[] Cells(string line) => line.Trim('|').Split('|').Select(c => c.Trim()).ToArray();
}
