using Dapper;
using NovaCompute.Db;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Db;

/// <summary>The SQLite heartbeat binds its time stamp: it must be the very value and text SQLite's own <c>'now'</c> gives.</summary>
[TestFixture]
internal sealed class SqliteClockTests() : DatabaseFixture(DatabaseDialect.Sqlite)
{
    private const string SqliteNowText = $"SELECT {Schema.SqliteNow}";

    [Test]
    public async Task Now_BetweenTwoReadingsOfSqlitesNow_SameClockAndSameText()
    {
        await using var connection = await Database.Factory.OpenAsync(CancellationToken.None);
        for (var i = 0; i < 200; i++)
        {
            var before = await connection.ExecuteScalarAsync<string>(SqliteNowText);
            var ours = Text(SqliteClock.Now());
            var after = await connection.ExecuteScalarAsync<string>(SqliteNowText);

            Assert.That(ours, Has.Length.EqualTo(before!.Length));
            Assert.That(string.CompareOrdinal(before, ours), Is.LessThanOrEqualTo(0), $"SQLite said {before}, then we said {ours}");
            Assert.That(string.CompareOrdinal(ours, after), Is.LessThanOrEqualTo(0), $"we said {ours}, then SQLite said {after}");
        }
    }

    [Test]
    public async Task ReportStateAsync_StoresNovasTextFormAndReturnsWhatItStored()
    {
        var created = await Repository.CreateAsync(new NewService("compute-01", "nova-compute", "compute", 64), CancellationToken.None);

        var stamp = await Repository.ReportStateAsync(created.Id, CancellationToken.None);

        await using var connection = await Database.Factory.OpenAsync(CancellationToken.None);
        var row = await connection.QuerySingleAsync<(string Type, string LastSeenUp, string UpdatedAt)>(
            "SELECT typeof(last_seen_up), last_seen_up, updated_at FROM services WHERE id = @id", new { id = created.Id });
        Assert.That(row.Type, Is.EqualTo("text"));
        Assert.That(row.LastSeenUp, Does.Match(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}000$"));
        Assert.That(row.UpdatedAt, Is.EqualTo(row.LastSeenUp));
        Assert.That(Text(stamp!.LastSeenUp), Is.EqualTo(row.LastSeenUp));
        Assert.That(stamp.UpdatedAt, Is.EqualTo(stamp.LastSeenUp));
    }

    [Test]
    public void Format_DestinationOfTheWrongSize_Throws()
    {
        Assert.That(() => SqliteClock.Format(new DateTime(2026, 12, 1), new byte[SqliteClock.TextLength - 1]), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    private static string Text(DateTime value)
    {
        var bytes = new byte[SqliteClock.TextLength];
        SqliteClock.Format(value, bytes);
        return System.Text.Encoding.UTF8.GetString(bytes);
    }
}
