using System.Text;
using NovaCompute.Db;

namespace NovaCompute.Tests.Db;

public class ServiceRecordTests
{
    [TestCase("2024-05-14 09:12:44.123456", 1234560)]
    [TestCase("2024-05-14 09:12:44.123", 1230000)]
    [TestCase("2024-05-14 09:12:44", 0)]
    [TestCase("2024-05-14T09:12:44.5", 5000000)]
    public void ParseSqliteTimestamp_SqlAlchemyForms_ParseExactly(string text, long fractionTicks)
    {
        var parsed = ServiceRecord.ParseSqliteTimestamp(text);
        Assert.That(parsed, Is.EqualTo(new DateTime(2024, 5, 14, 9, 12, 44).AddTicks(fractionTicks)));
        Assert.That(parsed.Kind, Is.EqualTo(DateTimeKind.Unspecified));
    }

    [Test]
    public void ParseJsonRows_SqliteJsonArray_MapsEveryColumn()
    {
        var json = """[[7,"u-1","h1","nova-compute","compute",12,1,"why","2024-05-14 09:12:49.000001",0,64,"2024-05-14 09:00:00.000000",null,null,0]]""";
        var row = ServiceRecord.ParseJsonRows(Encoding.UTF8.GetBytes(json)).Single();
        Assert.That(row, Is.EqualTo(new ServiceRecord
        {
            Id = 7, Uuid = "u-1", Host = "h1", Binary = "nova-compute", Topic = "compute", ReportCount = 12, Disabled = true,
            DisabledReason = "why", LastSeenUp = new DateTime(2024, 5, 14, 9, 12, 49).AddTicks(10), ForcedDown = false, Version = 64,
            CreatedAt = new DateTime(2024, 5, 14, 9, 0, 0), UpdatedAt = null, DeletedAt = null, Deleted = 0,
        }));
    }
}
