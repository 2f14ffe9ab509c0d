using NovaCompute.Db;
using NovaCompute.ServiceGroup;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.ServiceGroup;

[TestFixture(DatabaseDialect.Sqlite)]
[TestFixture(DatabaseDialect.PostgreSql)]
internal sealed class ServiceStatusQueryTests(DatabaseDialect dialect) : DatabaseFixture(dialect)
{

    private ServiceStatusQuery Query() => new(Database.Repository, new TestServiceGroupSettings(), new ZoneSettings("az-1", "internal"));

    /// <summary>
    /// nova compares last_seen_up (the DB host's clock) with the checker's own clock, so a checker
    /// two minutes ahead calls a healthy compute down, and one two minutes behind calls a dead one
    /// up. Our verdicts use the database's clock from the same query and do not move.
    /// </summary>
    [Test]
    public async Task ListAsync_CheckerClockSkewed_VerdictsFollowTheDatabaseClock()
    {
        var repository = Database.Repository;
        var healthy = await repository.CreateAsync(new NewService("healthy", "nova-compute", "compute", 64), CancellationToken.None);
        await repository.ReportStateAsync(healthy.Id, CancellationToken.None);
        var dbNow = await Database.NowAsync();
        await Database.InsertServiceAsync("dead", "nova-compute", dbNow.AddHours(-1), dbNow.AddSeconds(-120));

        var statuses = await Query().ListAsync(null, null, CancellationToken.None);
        var rows = (await repository.ListAsync(null, null, CancellationToken.None)).Services;

        Assert.That(statuses.Select(s => (s.Host, s.State)), Is.EqualTo(new[] { ("healthy", "up"), ("dead", "down") }));
        // What nova's rule concludes from the same rows with a skewed checker clock.
        var ahead = DateTime.UtcNow.AddMinutes(2);
        var behind = DateTime.UtcNow.AddMinutes(-2);
        Assert.That(Liveness.IsUp(rows[0], ahead, 60), Is.False, "nova, checker 2 min ahead: healthy compute looks down");
        Assert.That(Liveness.IsUp(rows[1], behind, 60), Is.True, "nova, checker 2 min behind: dead compute looks up");
    }

    [Test]
    public async Task ListAsync_Rows_CarryNovasViewFields()
    {
        var compute = await Database.Repository.CreateAsync(new NewService("c1", "nova-compute", "compute", 64), CancellationToken.None);
        await Database.Repository.SetDisabledAsync(compute.Id, true, "maintenance", CancellationToken.None);
        await Database.Repository.CreateAsync(new NewService("ctl", "nova-conductor", "conductor", 64), CancellationToken.None);
        await Database.Repository.CreateAsync(new NewService("api", "nova-osapi_compute", null, 64), CancellationToken.None);
        await Database.Repository.CreateAsync(new NewService("api", "nova-metadata", null, 64), CancellationToken.None);
        var forced = await Database.Repository.CreateAsync(new NewService("c2", "nova-compute", "compute", 64), CancellationToken.None);
        await Database.Repository.SetForcedDownAsync(forced.Id, true, CancellationToken.None);

        var statuses = await Query().ListAsync(null, null, CancellationToken.None);

        Assert.That(statuses.Select(s => s.Host), Is.EqualTo(new[] { "c1", "ctl", "c2" }), "API service records are hidden");
        Assert.Multiple(() =>
        {
            Assert.That(statuses[0].Zone, Is.EqualTo("az-1"));
            Assert.That(statuses[0].Status, Is.EqualTo("disabled"));
            Assert.That(statuses[0].DisabledReason, Is.EqualTo("maintenance"));
            Assert.That(statuses[0].State, Is.EqualTo("up"));
            Assert.That(statuses[1].Zone, Is.EqualTo("internal"));
            Assert.That(statuses[1].Status, Is.EqualTo("enabled"));
            Assert.That(statuses[2].State, Is.EqualTo("down"));
            Assert.That(statuses[2].ForcedDown, Is.True);
        });
    }
}
