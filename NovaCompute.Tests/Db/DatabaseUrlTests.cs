using Npgsql;
using NovaCompute.Db;

namespace NovaCompute.Tests.Db;

public class DatabaseUrlTests
{
    [Test]
    public void Parse_SqliteThreeSlashes_IsRelativeToWorkingDirectory()
    {
        var url = DatabaseUrl.Parse("sqlite:///var/nova.sqlite");
        Assert.That(url.Dialect, Is.EqualTo(DatabaseDialect.Sqlite));
        Assert.That(url.SqlitePath, Is.EqualTo(Path.GetFullPath("var/nova.sqlite")));
    }

    [Test]
    public void Parse_SqliteFourSlashes_IsAbsolute()
    {
        var url = DatabaseUrl.Parse("sqlite:////var/lib/nova/nova.sqlite");
        Assert.That(url.SqlitePath, Is.EqualTo("/var/lib/nova/nova.sqlite"));
        Assert.That(url.ToString(), Is.EqualTo("sqlite:////var/lib/nova/nova.sqlite"));
    }

    [Test]
    public void Parse_SqliteWithoutPath_IsInMemory()
    {
        var url = DatabaseUrl.Parse("sqlite://");
        Assert.That(url.IsInMemory, Is.True);
        Assert.That(url.ConnectionString, Does.Contain("Mode=Memory"));
    }

    [Test]
    public void Default_StatePath_IsNovaSqliteUnderIt()
    {
        var url = DatabaseUrl.Default("/var/lib/nova");
        Assert.That(url.SqlitePath, Is.EqualTo("/var/lib/nova/nova.sqlite"));
    }

    [TestCase("postgresql://nova:s3cret@db.example:6432/nova")]
    [TestCase("postgresql+psycopg2://nova:s3cret@db.example:6432/nova")]
    public void Parse_Postgres_MapsEveryPart(string text)
    {
        var url = DatabaseUrl.Parse(text);
        var builder = new NpgsqlConnectionStringBuilder(url.ConnectionString);
        Assert.Multiple(() =>
        {
            Assert.That(url.Dialect, Is.EqualTo(DatabaseDialect.PostgreSql));
            Assert.That(builder.Host, Is.EqualTo("db.example"));
            Assert.That(builder.Port, Is.EqualTo(6432));
            Assert.That(builder.Username, Is.EqualTo("nova"));
            Assert.That(builder.Password, Is.EqualTo("s3cret"));
            Assert.That(builder.Database, Is.EqualTo("nova"));
        });
    }

    [Test]
    public void Parse_PostgresEscapedPasswordAndParameters_AreDecoded()
    {
        var url = DatabaseUrl.Parse("postgresql://nova:p%40ss%3Aw@[::1]/nova?sslmode=require&connect_timeout=3");
        var builder = new NpgsqlConnectionStringBuilder(url.ConnectionString);
        Assert.Multiple(() =>
        {
            Assert.That(builder.Password, Is.EqualTo("p@ss:w"));
            Assert.That(builder.Host, Is.EqualTo("::1"));
            Assert.That(builder.SslMode, Is.EqualTo(SslMode.Require));
            Assert.That(builder.Timeout, Is.EqualTo(3));
        });
    }

    [Test]
    public void ToString_PostgresWithPassword_MasksIt()
    {
        var url = DatabaseUrl.Parse("postgresql://nova:s3cret@db:5432/nova");
        Assert.That(url.ToString(), Is.EqualTo("postgresql://nova:****@db:5432/nova"));
        Assert.That(url.ToString(), Does.Not.Contain("s3cret"));
    }

    [TestCase("mysql+pymysql://nova:s3cret@db/nova", "unsupported database back-end 'mysql+pymysql'")]
    [TestCase("postgresql://nova:s3cret@db:99999/nova", "invalid port")]
    [TestCase("postgresql://nova:s3cret@db/nova?frobnicate=1", "unsupported parameter 'frobnicate'")]
    [TestCase("sqlite://relative", "invalid SQLite URL")]
    [TestCase("nova.sqlite", "invalid database URL")]
    public void Parse_Invalid_FailsWithoutLeakingThePassword(string text, string expected)
    {
        var ex = Assert.Throws<FormatException>(() => DatabaseUrl.Parse(text));
        Assert.That(ex!.Message, Does.Contain(expected));
        Assert.That(ex.Message, Does.Not.Contain("s3cret"));
    }

    [TestCase("rabbit://u:pw@h:5672/v", "rabbit://u:****@h:5672/v")]
    [TestCase("postgresql://u@h/db", "postgresql://u@h/db")]
    [TestCase("no url here", "no url here")]
    public void MaskPassword_Text_ReplacesOnlyThePassword(string text, string expected) =>
        Assert.That(DatabaseUrl.MaskPassword(text), Is.EqualTo(expected));
}
