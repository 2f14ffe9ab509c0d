using NovaCompute.Db;

namespace NovaCompute.Tests.Support;

/// <summary>
/// Base of fixtures whose tests run on a fresh database of each dialect, the same test bodies on
/// SQLite and PostgreSQL (Dapper's <c>TestBase&lt;TProvider&gt;</c> idea). Derived fixtures carry
/// <c>[TestFixture(DatabaseDialect.Sqlite)]</c> and <c>[TestFixture(DatabaseDialect.PostgreSql)]</c>.
/// </summary>
internal abstract class DatabaseFixture(DatabaseDialect dialect, bool migrate = true)
{
    private TestDatabase? _database;

    protected DatabaseDialect Dialect => dialect;

    protected TestDatabase Database => _database ?? throw new InvalidOperationException("the database exists only during a test");

    protected ServiceRepository Repository => Database.Repository;

    [SetUp]
    public async Task CreateDatabase() => _database = await TestDatabase.CreateAsync(dialect, migrate);

    [TearDown]
    public async Task DropDatabase()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
            _database = null;
        }
    }
}
