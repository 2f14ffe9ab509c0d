using Microsoft.Extensions.Logging;
using NovaCompute.Db;
using NovaCompute.ServiceGroup;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.ServiceGroup;

[TestFixture(DatabaseDialect.Sqlite)]
[TestFixture(DatabaseDialect.PostgreSql)]
internal sealed class SharedHeartbeatTests(DatabaseDialect dialect) : DatabaseFixture(dialect)
{
    private const int Members = 60;
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(10) / SharedHeartbeat.Slots;
    private LogCollector _logs = null!;
    private FakeTimeProvider _time = null!;
    private SharedHeartbeat _heartbeat = null!;
    private CancellationTokenSource _stop = null!;
    private readonly List<HeartbeatMember> _members = [];

    [SetUp]
    public async Task SetUp()
    {
        _logs = new LogCollector();
        _time = new FakeTimeProvider();
        _heartbeat = new SharedHeartbeat(Repository, new TestServiceGroupSettings(), _time, _logs.CreateLogger<SharedHeartbeat>());
        _stop = new CancellationTokenSource();
        _members.Clear();
        for (var i = 1; i <= Members; i++)
        {
            var registrar = new ServiceRegistrar(Repository, new ServiceIdentity($"sim-{i:00000}", "nova-compute", "compute"),
                new RegistrationSettings(), _logs.CreateLogger<ServiceRegistrar>());
            _members.Add(_heartbeat.Join(registrar, await registrar.RegisterAsync(CancellationToken.None)));
        }
        await _heartbeat.StartAsync(_stop.Token);
        // The loop anchors its schedule when it first runs: let it arm its first tick before the clock moves.
        await _time.WaitForTimersAsync(1);
    }

    [TearDown]
    public async Task TearDown()
    {
        // Null-safe: without PostgreSQL the set-up failed, and that failure is what the report must show.
        if (_stop is null)
        {
            return;
        }
        await _stop.CancelAsync();
        await _heartbeat.StopAsync(CancellationToken.None);
        _heartbeat.Dispose();
        _stop.Dispose();
        _stop = null!;
    }

    [Test]
    public async Task Round_SixtyMembers_EachBeatsOnceAnIntervalInOneStatementPerSlot()
    {
        // One interval: every slot's tick writes its three rows in one statement.
        await AdvanceTicksAsync(SharedHeartbeat.Slots);

        var rows = (await Repository.ListAsync(null, "nova-compute", CancellationToken.None)).Services;
        Assert.That(rows.Select(r => r.ReportCount).ToList(), Has.Count.EqualTo(Members).And.All.EqualTo(1));
        Assert.That(_heartbeat.Statements, Is.EqualTo(SharedHeartbeat.Slots));
        Assert.That(_heartbeat.RowsWritten, Is.EqualTo(Members));
        Assert.That(_members.Select(m => m.Record.ReportCount), Is.All.EqualTo(1));
        Assert.That(_heartbeat.Health.LastSuccess, Is.Not.Null);
        Assert.That(_heartbeat.Health.IsOverdue, Is.False);

        await AdvanceTicksAsync(SharedHeartbeat.Slots);
        Assert.That(_heartbeat.Statements, Is.EqualTo(2 * SharedHeartbeat.Slots));
        Assert.That(_members.Select(m => m.Record.ReportCount), Is.All.EqualTo(2));
    }

    [Test]
    public async Task Join_LateInTheInterval_FirstBeatWithinOneInterval()
    {
        // report_interval 10 (above nova's 5 s initial delay): a joining member is due at its slot's first turn.
        var registrar = new ServiceRegistrar(Repository, new ServiceIdentity("late", "nova-compute", "compute"), new RegistrationSettings(),
            _logs.CreateLogger<ServiceRegistrar>());
        await AdvanceTicksAsync(3);
        var late = _heartbeat.Join(registrar, await registrar.RegisterAsync(CancellationToken.None));

        await AdvanceTicksAsync(SharedHeartbeat.Slots);

        Assert.That(late.Record.ReportCount, Is.EqualTo(1));
    }

    [Test]
    public async Task Round_RowDeletedUnderAMember_RecreatedAndReportingAgain()
    {
        await AdvanceTicksAsync(2 * SharedHeartbeat.Slots);
        var victim = _members[17];
        var oldId = victim.Record.Id;
        Assert.That(await Repository.DestroyAsync(oldId, CancellationToken.None), Is.True);

        await AdvanceTicksAsync(SharedHeartbeat.Slots);
        await Eventually.Until(async () => await Repository.GetByHostAndBinaryAsync(victim.Record.Host!, "nova-compute", CancellationToken.None) is not null);
        await AdvanceTicksAsync(SharedHeartbeat.Slots);

        Assert.That(victim.Record.Id, Is.Not.EqualTo(oldId));
        var row = await Repository.GetByIdAsync(victim.Record.Id, CancellationToken.None);
        Assert.That(row!.ReportCount, Is.GreaterThanOrEqualTo(1));
        Assert.That(_logs.Messages(LogLevel.Warning), Has.Some.Contains(victim.Record.Host));
    }

    [Test]
    public async Task Leave_Member_NoMoreBeatsForIt()
    {
        var leaver = _members[0];
        _heartbeat.Leave(leaver);
        Assert.That(_heartbeat.Count, Is.EqualTo(Members - 1));

        await AdvanceTicksAsync(2 * SharedHeartbeat.Slots);

        Assert.That((await Repository.GetByIdAsync(leaver.Record.Id, CancellationToken.None))!.ReportCount, Is.Zero);
        Assert.That((await Repository.GetByIdAsync(_members[1].Record.Id, CancellationToken.None))!.ReportCount, Is.GreaterThanOrEqualTo(1));
    }

    /// <summary>Moves the fake clock tick by tick, each time until the loop took the tick and its statement finished.</summary>
    private async Task AdvanceTicksAsync(int ticks)
    {
        for (var i = 0; i < ticks; i++)
        {
            var before = _heartbeat.Ticks;
            _time.Advance(Tick);
            await Eventually.Until(() => _heartbeat.Ticks > before && !_heartbeat.RoundsRunning,
                what: () => $"tick {before + 1} (ticks {_heartbeat.Ticks}, rounds running {_heartbeat.RoundsRunning})");
        }
    }
}
