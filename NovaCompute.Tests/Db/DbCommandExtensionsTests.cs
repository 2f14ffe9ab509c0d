using NovaCompute.Db;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Db;

[TestFixture(DatabaseDialect.Sqlite)]
[TestFixture(DatabaseDialect.PostgreSql)]
internal sealed class DbCommandExtensionsTests(DatabaseDialect dialect) : DatabaseFixture(dialect, migrate: false)
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Test]
    public async Task Bind_NullOfEachType_StillNamesItsType()
    {
        // An untyped NULL in "$1 IS NULL" is refused by PostgreSQL ("could not determine data type
        // of parameter"); Dapper typed a null by its declared CLR type, and so does Bind.
        await using var connection = await Database.Factory.OpenAsync(None);
        await using var command = connection.Command("SELECT @s IS NULL AND @i IS NULL AND @d IS NULL")
            .Bind("s", (string?)null).Bind("i", (int?)null).Bind("d", (double?)null);

        Assert.That(await command.ScalarAsync<bool>(None), Is.True);
    }

    [Test]
    public async Task Bind_Values_ReachTheStatementUnchanged()
    {
        await using var connection = await Database.Factory.OpenAsync(None);
        await using var command = connection.Command("SELECT @s = 'compute-01' AND @i = 64 AND @d = 1.5 AND @b = @t")
            .Bind("s", "compute-01").Bind("i", 64).Bind("d", 1.5).Bind("b", true).Bind("t", true);

        Assert.That(await command.ScalarAsync<bool>(None), Is.True);
    }

    [Test]
    public async Task ScalarAsync_IntegerAnswer_ConvertsToTheAskedType()
    {
        // SQLite answers every integer as a long; the callers ask for int (schema version, minimum version).
        await using var connection = await Database.Factory.OpenAsync(None);
        await using var command = connection.Command("SELECT COALESCE(MAX(x), 7) FROM (SELECT 1 AS x WHERE 1 = 0) t");

        Assert.That(await command.ScalarAsync<int>(None), Is.EqualTo(7));
    }

    [Test]
    public async Task ScalarAsync_NullOrNoRow_IsNull()
    {
        await using var connection = await Database.Factory.OpenAsync(None);
        await using var nullAnswer = connection.Command("SELECT MIN(x) FROM (SELECT 1 AS x WHERE 1 = 0) t");
        await using var noRow = connection.Command("SELECT 1 WHERE 1 = 0");

        var fromNull = await nullAnswer.ScalarAsync<int>(None);
        var fromNoRow = await noRow.ScalarAsync<long>(None);

        Assert.Multiple(() =>
        {
            Assert.That(fromNull, Is.Null);
            Assert.That(fromNoRow, Is.Null);
        });
    }

    [Test]
    public async Task Command_InTransaction_IsRolledBackWithIt()
    {
        await using var connection = await Database.Factory.OpenAsync(None);
        await using (var create = connection.Command("CREATE TABLE bind_probe (x INTEGER)"))
        {
            await create.ExecuteNonQueryAsync(None);
        }
        await using (var transaction = await connection.BeginTransactionAsync(None))
        {
            await using var insert = connection.Command("INSERT INTO bind_probe (x) VALUES (@x)", transaction).Bind("x", 1);
            await insert.ExecuteNonQueryAsync(None);
            await transaction.RollbackAsync(None);
        }
        await using var count = connection.Command("SELECT COUNT(*) FROM bind_probe");

        Assert.That(await count.ScalarAsync<long>(None), Is.Zero);
    }
}
