using NovaCompute.Db;

namespace NovaCompute.Tests.Db;

internal sealed class DialectSqlTests
{
    [Test]
    public void WithNow_Template_GivesEachDialectItsOwnClockAndNothingElseChanges()
    {
        var sql = DialectSql.WithNow($"UPDATE services SET updated_at = {DialectSql.Now}, last_seen_up = {DialectSql.Now} WHERE id = @id");

        Assert.That(sql.Sqlite, Is.EqualTo($"UPDATE services SET updated_at = {Schema.SqliteNow}, last_seen_up = {Schema.SqliteNow} WHERE id = @id"));
        Assert.That(sql.PostgreSql, Is.EqualTo($"UPDATE services SET updated_at = {Schema.PostgreSqlNow}, last_seen_up = {Schema.PostgreSqlNow} WHERE id = @id"));
        Assert.That(sql.For(DatabaseDialect.Sqlite), Is.SameAs(sql.Sqlite));
        Assert.That(sql.For(DatabaseDialect.PostgreSql), Is.SameAs(sql.PostgreSql));
    }

    [Test]
    public void WithNow_TemplateWithoutTheToken_IsRefusedNamingTheStatement()
    {
        var ex = Assert.Throws<ArgumentException>(() => DialectSql.WithNow("SELECT 1"));

        Assert.That(ex!.Message, Does.Contain("{now}").And.Contain("SELECT 1"));
    }
}
