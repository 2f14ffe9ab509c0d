using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using NovaCompute.Db;
using NovaCompute.ServiceGroup;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.ServiceGroup;

public class LivenessTests
{
    private static readonly DateTime Now = new(2026, 3, 1, 12, 0, 0, DateTimeKind.Unspecified);

    /// <summary>One row to judge: stamps as offsets from <see cref="Now"/> (null = NULL column).</summary>
    private sealed record Case(string Name, TimeSpan? LastSeenUp, TimeSpan? CreatedAt, bool ForcedDown, int ServiceDownTime);

    private static readonly TimeSpan Micro = TimeSpan.FromTicks(10);

    private static readonly Case[] Table =
    [
        new("heartbeat just now", TimeSpan.Zero, TimeSpan.FromHours(-1), false, 60),
        new("exactly service_down_time ago", TimeSpan.FromSeconds(-60), TimeSpan.FromHours(-1), false, 60),
        new("one microsecond past it", TimeSpan.FromSeconds(-60) - Micro, TimeSpan.FromHours(-1), false, 60),
        new("one second past it", TimeSpan.FromSeconds(-61), TimeSpan.FromHours(-1), false, 60),
        new("well within", TimeSpan.FromSeconds(-10), TimeSpan.FromHours(-1), false, 60),
        new("future within", TimeSpan.FromSeconds(30), TimeSpan.FromHours(-1), false, 60),
        new("future exactly service_down_time", TimeSpan.FromSeconds(60), TimeSpan.FromHours(-1), false, 60),
        new("future one second past", TimeSpan.FromSeconds(61), TimeSpan.FromHours(-1), false, 60),
        new("forced down with a fresh heartbeat", TimeSpan.FromSeconds(-1), TimeSpan.FromHours(-1), true, 60),
        new("forced down and stale", TimeSpan.FromHours(-2), TimeSpan.FromHours(-3), true, 60),
        new("never reported, created recently", null, TimeSpan.FromSeconds(-30), false, 60),
        new("never reported, created exactly service_down_time ago", null, TimeSpan.FromSeconds(-60), false, 60),
        new("never reported, created long ago", null, TimeSpan.FromSeconds(-61), false, 60),
        new("stale heartbeat but recent creation", TimeSpan.FromSeconds(-100), TimeSpan.FromSeconds(-5), false, 60),
        new("corrected service_down_time 25, at 25 s", TimeSpan.FromSeconds(-25), TimeSpan.FromHours(-1), false, 25),
        new("corrected service_down_time 25, at 26 s", TimeSpan.FromSeconds(-26), TimeSpan.FromHours(-1), false, 25),
        new("a day old", TimeSpan.FromDays(-1), TimeSpan.FromDays(-2), false, 60),
    ];

    [Test]
    public void IsUp_ExactlyServiceDownTime_IsUpAndOneTickMoreIsDown()
    {
        Assert.That(Liveness.IsUp(Now.AddSeconds(-60), null, false, Now, 60), Is.True);
        Assert.That(Liveness.IsUp(Now.AddSeconds(-60).AddTicks(-1), null, false, Now, 60), Is.False);
        Assert.That(Liveness.IsUp(Now.AddSeconds(60).AddTicks(1), null, false, Now, 60), Is.False);
    }

    [Test]
    public void IsUp_NeitherStamp_IsDown() => Assert.That(Liveness.IsUp(null, null, false, Now, 60), Is.False);

    [Test]
    public void IsUp_ForcedDown_IsDownWhateverTheStamps() => Assert.That(Liveness.IsUp(Now, Now, true, Now, 60), Is.False);

    /// <summary>
    /// Every verdict of our rule (through <see cref="ServiceStatusQuery.ToStatus"/>, the path
    /// <c>service list</c> takes) equals nova's own <c>servicegroup.API().service_is_up</c> with the DB
    /// driver, run by Debian's python3-nova on the same rows at the same "now".
    /// </summary>
    [Test]
    public async Task IsUp_TableOfRows_AgreesWithNovasOwnCode()
    {
        var query = new ServiceStatusQuery(new NoRepository(), new TestServiceGroupSettings(), new ZoneSettings());
        var ours = Table.Select((c, i) => query.ToStatus(Row(c, i), Now, c.ServiceDownTime).IsUp).ToArray();

        var novas = await JudgeWithNovaAsync(Table);

        Assert.Multiple(() =>
        {
            for (var i = 0; i < Table.Length; i++)
            {
                Assert.That(ours[i], Is.EqualTo(novas[i]), Table[i].Name);
            }
        });
        Assert.That(ours.Distinct().Count(), Is.EqualTo(2), "the table must contain both verdicts");
    }

    private static ServiceRecord Row(Case c, int i) => new()
    {
        Id = i + 1,
        Host = $"host-{i}",
        Binary = "nova-compute",
        LastSeenUp = c.LastSeenUp is { } l ? Now + l : null,
        CreatedAt = c.CreatedAt is { } cr ? Now + cr : null,
        ForcedDown = c.ForcedDown,
    };

    private const string NovaJudge = """
        import datetime, json, sys
        import nova.conf
        from nova import servicegroup
        from oslo_utils import timeutils
        CONF = nova.conf.CONF
        CONF([], project='nova', default_config_files=[], default_config_dirs=[])
        request = json.load(sys.stdin)
        fmt = '%Y-%m-%dT%H:%M:%S.%f'
        timeutils.set_time_override(datetime.datetime.strptime(request['now'], fmt))
        verdicts = []
        for row in request['rows']:
            CONF.set_override('report_interval', 10)
            CONF.set_override('service_down_time', row['service_down_time'])
            api = servicegroup.API()
            member = {
                'binary': 'nova-compute', 'host': row['host'], 'forced_down': row['forced_down'],
                'last_seen_up': datetime.datetime.strptime(row['last_seen_up'], fmt) if row['last_seen_up'] else None,
                'created_at': datetime.datetime.strptime(row['created_at'], fmt) if row['created_at'] else None,
            }
            verdicts.append(bool(api.service_is_up(member)))
        print(json.dumps(verdicts))
        """;

    private static async Task<bool[]> JudgeWithNovaAsync(IReadOnlyList<Case> cases)
    {
        static string? Format(DateTime? value) => value?.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff", CultureInfo.InvariantCulture);
        var request = new JsonObject
        {
            ["now"] = Format(Now),
            ["rows"] = new JsonArray(cases.Select((c, i) =>
            {
                var row = Row(c, i);
                return (JsonNode)new JsonObject
                {
                    ["host"] = row.Host,
                    ["forced_down"] = c.ForcedDown,
                    ["last_seen_up"] = Format(row.LastSeenUp),
                    ["created_at"] = Format(row.CreatedAt),
                    ["service_down_time"] = c.ServiceDownTime,
                };
            }).ToArray()),
        };
        var start = new ProcessStartInfo(TestServices.SystemPython, ["-c", NovaJudge])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var python = Process.Start(start)!;
        await python.StandardInput.WriteAsync(request.ToJsonString());
        python.StandardInput.Close();
        var stdout = python.StandardOutput.ReadToEndAsync();
        var stderr = python.StandardError.ReadToEndAsync();
        await python.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.That(python.ExitCode, Is.Zero, await stderr);
        var lines = (await stdout).Trim().Split('\n');
        return JsonSerializer.Deserialize<bool[]>(lines[^1])!;
    }

    /// <summary>The agreement test judges rows directly; nothing may reach for a database.</summary>
    private sealed class NoRepository : IServiceRepository
    {
        private static T Fail<T>() => throw new AssertionException("the liveness test must not touch a database");
        public Task<ServiceRecord?> GetByHostAndBinaryAsync(string host, string binary, CancellationToken cancellationToken) => Fail<Task<ServiceRecord?>>();
        public Task<ServiceRecord?> GetByIdAsync(int id, CancellationToken cancellationToken) => Fail<Task<ServiceRecord?>>();
        public Task<ServiceRecord> CreateAsync(NewService service, CancellationToken cancellationToken) => Fail<Task<ServiceRecord>>();
        public Task<ServiceRecord?> UpdateVersionAsync(int id, int version, CancellationToken cancellationToken) => Fail<Task<ServiceRecord?>>();
        public Task<HeartbeatStamp?> ReportStateAsync(int id, CancellationToken cancellationToken) => Fail<Task<HeartbeatStamp?>>();
        public Task<ServiceListing> ListAsync(string? host, string? binary, CancellationToken cancellationToken) => Fail<Task<ServiceListing>>();
        public Task<ServiceRecord?> SetDisabledAsync(int id, bool disabled, string? reason, CancellationToken cancellationToken) => Fail<Task<ServiceRecord?>>();
        public Task<ServiceRecord?> SetForcedDownAsync(int id, bool forcedDown, CancellationToken cancellationToken) => Fail<Task<ServiceRecord?>>();
        public Task<bool> DestroyAsync(int id, CancellationToken cancellationToken) => Fail<Task<bool>>();
        public Task<int> GetMinimumVersionAsync(string binary, CancellationToken cancellationToken) => Fail<Task<int>>();
    }
}
