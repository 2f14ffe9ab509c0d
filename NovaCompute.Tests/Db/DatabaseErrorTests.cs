using Dapper;
using Microsoft.Data.Sqlite;
using NovaCompute.Db;
using NovaCompute.Tests.Support;
using Npgsql;

namespace NovaCompute.Tests.Db;

/// <summary>
/// The one classification of database errors (<see cref="DatabaseError"/>) against errors that real
/// SQLite and PostgreSQL raise: what is worth a retry at start (transient), what the heartbeat, the API,
/// the health check and the CLI report as the store being unavailable, and what is not a database error.
/// </summary>
public class DatabaseErrorTests
{
    private DirectoryInfo _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("nova-dberror-");

    [TearDown]
    public void TearDown()
    {
        SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    private string SqliteFile => Path.Combine(_dir.FullName, "nova.sqlite");

    private static async Task<Exception> FailureOf(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (Exception ex)
        {
            return ex;
        }
        Assert.Fail("the database accepted what it should have refused");
        return null!;
    }

    private static void AssertClassified(Exception error, bool transient, bool unavailable)
    {
        Assert.That(DatabaseError.IsDatabaseError(error), Is.True, error.ToString());
        Assert.That(DatabaseError.IsTransient(error), Is.EqualTo(transient), error.ToString());
        Assert.That(DatabaseError.IsUnavailable(error), Is.EqualTo(unavailable), error.ToString());
    }

    [Test]
    public async Task SqliteBusy_AnotherWriterHoldsTheLock_IsTransientAndUnavailable()
    {
        await using var holder = new SqliteConnection($"Data Source={SqliteFile}");
        await holder.OpenAsync();
        await holder.ExecuteAsync("CREATE TABLE t (x INTEGER)");
        await holder.ExecuteAsync("BEGIN IMMEDIATE");
        await using var waiter = new SqliteConnection($"Data Source={SqliteFile};Pooling=False");
        await waiter.OpenAsync();

        var error = await FailureOf(() => waiter.ExecuteAsync(new CommandDefinition("BEGIN IMMEDIATE", commandTimeout: 1)));

        Assert.That(error, Is.InstanceOf<SqliteException>().With.Property(nameof(SqliteException.SqliteErrorCode)).EqualTo(5));
        AssertClassified(error, transient: true, unavailable: true);
    }

    [Test]
    public async Task SqliteCantOpen_DirectoryMissing_IsUnavailableNotTransient()
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(_dir.FullName, "absent", "nova.sqlite")};Pooling=False");

        var error = await FailureOf(() => connection.OpenAsync());

        Assert.That(error, Is.InstanceOf<SqliteException>().With.Property(nameof(SqliteException.SqliteErrorCode)).EqualTo(14));
        AssertClassified(error, transient: false, unavailable: true);
    }

    [Test]
    public async Task SqliteReadOnly_WriteToReadOnlyConnection_IsUnavailableNotTransient()
    {
        await using (var create = new SqliteConnection($"Data Source={SqliteFile};Pooling=False"))
        {
            await create.OpenAsync();
            await create.ExecuteAsync("CREATE TABLE t (x INTEGER)");
        }
        await using var reader = new SqliteConnection($"Data Source={SqliteFile};Mode=ReadOnly;Pooling=False");
        await reader.OpenAsync();

        var error = await FailureOf(() => reader.ExecuteAsync("INSERT INTO t VALUES (1)"));

        Assert.That(error, Is.InstanceOf<SqliteException>().With.Property(nameof(SqliteException.SqliteErrorCode)).EqualTo(8));
        AssertClassified(error, transient: false, unavailable: true);
    }

    [Test]
    public async Task SqliteError_BadSqlOrUniqueViolation_IsADatabaseErrorNotTransient()
    {
        await using var connection = new SqliteConnection($"Data Source={SqliteFile};Pooling=False");
        await connection.OpenAsync();
        await connection.ExecuteAsync("CREATE TABLE t (x INTEGER UNIQUE)");
        await connection.ExecuteAsync("INSERT INTO t VALUES (1)");

        AssertClassified(await FailureOf(() => connection.ExecuteAsync("SELEC 1")), transient: false, unavailable: true);
        AssertClassified(await FailureOf(() => connection.ExecuteAsync("INSERT INTO t VALUES (1)")), transient: false, unavailable: true);
    }

    [Test]
    public async Task Postgres_NothingListens_IsTransientAndUnavailable()
    {
        await using var connection = new NpgsqlConnection("Host=127.0.0.1;Port=1;Database=nova;Username=nova;Password=pw;Timeout=2;Pooling=false");

        var error = await FailureOf(() => connection.OpenAsync());

        Assert.That(error, Is.InstanceOf<NpgsqlException>().And.Not.InstanceOf<PostgresException>());
        AssertClassified(error, transient: true, unavailable: true);
    }

    [Test]
    public async Task Postgres_BackendTerminated_IsTransientAndUnavailable()
    {
        var connectionString = new NpgsqlConnectionStringBuilder(DatabaseUrl.Parse(TestServices.PostgresUrl).ConnectionString) { Pooling = false }.ToString();
        await using var victim = new NpgsqlConnection(connectionString);
        await victim.OpenAsync();
        var pid = await victim.ExecuteScalarAsync<int>("SELECT pg_backend_pid()");
        await using (var admin = new NpgsqlConnection(connectionString))
        {
            await admin.OpenAsync();
            Assert.That(await admin.ExecuteScalarAsync<bool>("SELECT pg_terminate_backend(@pid)", new { pid }), Is.True);
        }

        // The server says 57P01 (admin_shutdown) or the socket is simply gone: a retry may succeed either way.
        var error = await FailureOf(() => victim.ExecuteScalarAsync<int>("SELECT 1"));

        AssertClassified(error, transient: true, unavailable: true);
    }

    [Test]
    public async Task Postgres_UnknownDatabase_IsUnavailableNotTransient()
    {
        var builder = new NpgsqlConnectionStringBuilder(DatabaseUrl.Parse(TestServices.PostgresUrl).ConnectionString)
        {
            Database = "nova_no_such_database_" + Guid.NewGuid().ToString("N"),
            Pooling = false,
        };
        await using var connection = new NpgsqlConnection(builder.ToString());

        var error = await FailureOf(() => connection.OpenAsync());

        Assert.That(error, Is.InstanceOf<PostgresException>().With.Property(nameof(PostgresException.SqlState)).EqualTo(PostgresErrorCodes.InvalidCatalogName));
        AssertClassified(error, transient: false, unavailable: true);
    }

    [Test]
    public async Task Postgres_BadSql_IsADatabaseErrorNotTransient()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseDialect.PostgreSql, migrate: false);
        await using var connection = await database.Factory.OpenAsync(CancellationToken.None);

        var error = await FailureOf(() => connection.ExecuteAsync("SELEC 1"));

        Assert.That(error, Is.InstanceOf<PostgresException>().With.Property(nameof(PostgresException.SqlState)).EqualTo(PostgresErrorCodes.SyntaxError));
        AssertClassified(error, transient: false, unavailable: true);
    }

    [Test]
    public void Timeout_OrBrokenConnection_IsUnavailableButNoDatabaseError()
    {
        foreach (var error in new Exception[] { new TimeoutException("no answer"), new IOException("reset"), new System.Net.Sockets.SocketException(111) })
        {
            Assert.That(DatabaseError.IsUnavailable(error), Is.True, error.GetType().Name);
            Assert.That(DatabaseError.IsDatabaseError(error), Is.False, error.GetType().Name);
            Assert.That(DatabaseError.IsTransient(error), Is.False, error.GetType().Name);
        }
    }

    [Test]
    public void Cancellation_CallersOwnTokenFired_IsNotUnavailable()
    {
        using var caller = new CancellationTokenSource();
        var timedOut = new OperationCanceledException("command timeout");
        Assert.That(DatabaseError.IsUnavailable(timedOut, caller.Token), Is.True, "a cancellation the caller did not ask for is the store's");
        caller.Cancel();
        Assert.That(DatabaseError.IsUnavailable(new OperationCanceledException(caller.Token), caller.Token), Is.False, "the caller stopped waiting");
    }

    [Test]
    public void ProgrammingError_IsNeitherUnavailableNorADatabaseError()
    {
        var bug = new InvalidOperationException("a bug");
        Assert.That((DatabaseError.IsUnavailable(bug), DatabaseError.IsTransient(bug), DatabaseError.IsDatabaseError(bug)), Is.EqualTo((false, false, false)));
    }
}
