using System.Globalization;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace NovaCompute.Db;

internal enum DatabaseDialect
{
    Sqlite,
    PostgreSql,
}

/// <summary>
/// An oslo.db (SQLAlchemy) connection URL, translated for ADO.NET. Accepted forms:
/// <c>sqlite://</c> (private in-memory database), <c>sqlite:///relative/path</c>,
/// <c>sqlite:////absolute/path</c>, and <c>postgresql[+psycopg2]://user:pass@host:port/db?params</c>.
/// <see cref="ToString"/> never shows the password, so the value is safe to log.
/// </summary>
internal sealed class DatabaseUrl
{
    private readonly string _display;

    private DatabaseUrl(DatabaseDialect dialect, string connectionString, string display, string? sqlitePath)
    {
        Dialect = dialect;
        ConnectionString = connectionString;
        _display = display;
        SqlitePath = sqlitePath;
    }

    public DatabaseDialect Dialect { get; }

    /// <summary>The ADO.NET connection string. Holds the password: never log it.</summary>
    public string ConnectionString { get; }

    /// <summary>Full path of the SQLite file; null for PostgreSQL and for an in-memory SQLite database.</summary>
    public string? SqlitePath { get; }

    public bool IsInMemory => Dialect == DatabaseDialect.Sqlite && SqlitePath is null;

    /// <summary>
    /// The database used when <c>[database] connection</c> is not set: <c>nova.sqlite</c> under
    /// <c>state_path</c>. nova itself has no default (it needs a conductor); a compute that owns its
    /// records needs one to start at all.
    /// </summary>
    public static DatabaseUrl Default(string statePath) =>
        Parse("sqlite:///" + Path.GetFullPath(Path.Combine(statePath, "nova.sqlite")));

    /// <exception cref="FormatException">The URL is malformed or names an unsupported back-end.</exception>
    public static DatabaseUrl Parse(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd <= 0)
        {
            throw new FormatException($"invalid database URL '{MaskPassword(url)}': expected <backend>://...");
        }
        var scheme = url[..schemeEnd].ToLowerInvariant();
        var rest = url[(schemeEnd + 3)..];
        var backend = scheme.Split('+', 2)[0];
        return backend switch
        {
            "sqlite" => ParseSqlite(scheme, rest),
            "postgresql" => ParsePostgres(scheme, rest, url),
            _ => throw new FormatException(
                $"unsupported database back-end '{scheme}' in [database] connection (supported: sqlite, postgresql)"),
        };
    }

    /// <summary>Replaces the password of any <c>scheme://user:password@</c> in <paramref name="text"/> with <c>****</c>.</summary>
    public static string MaskPassword(string text) => Logging.SecretMasker.Mask(text);

    public override string ToString() => _display;

    private static DatabaseUrl ParseSqlite(string scheme, string rest)
    {
        if (scheme != "sqlite" && scheme != "sqlite+pysqlite")
        {
            throw new FormatException($"unsupported SQLite driver '{scheme}' in [database] connection");
        }
        var query = rest.IndexOf('?');
        if (query >= 0)
        {
            rest = rest[..query];
        }
        if (rest.Length == 0)
        {
            // Shared cache under a unique name: every pooled connection of this process sees the same
            // database, and nothing else does. It lives while the factory keeps one connection open.
            var name = "nova-memory-" + Guid.NewGuid().ToString("N");
            var memory = new SqliteConnectionStringBuilder
            {
                DataSource = name,
                Mode = SqliteOpenMode.Memory,
                Cache = SqliteCacheMode.Shared,
            };
            return new DatabaseUrl(DatabaseDialect.Sqlite, memory.ToString(), "sqlite://", null);
        }
        if (rest[0] != '/')
        {
            throw new FormatException($"invalid SQLite URL 'sqlite://{rest}': expected sqlite:///relative/path or sqlite:////absolute/path");
        }
        // SQLAlchemy: everything after the third slash is the path, so a fourth slash makes it absolute.
        var path = Uri.UnescapeDataString(rest[1..]);
        if (path.Length == 0)
        {
            throw new FormatException("invalid SQLite URL 'sqlite:///': no file name");
        }
        var full = Path.GetFullPath(path);
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = full,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
        };
        return new DatabaseUrl(DatabaseDialect.Sqlite, builder.ToString(), "sqlite:///" + path, full);
    }

    private static DatabaseUrl ParsePostgres(string scheme, string rest, string original)
    {
        if (scheme != "postgresql" && scheme != "postgresql+psycopg2")
        {
            throw new FormatException($"unsupported PostgreSQL driver '{scheme}' in [database] connection (supported: postgresql, postgresql+psycopg2)");
        }
        string? queryText = null;
        var q = rest.IndexOf('?');
        if (q >= 0)
        {
            queryText = rest[(q + 1)..];
            rest = rest[..q];
        }
        var slash = rest.IndexOf('/');
        var authority = slash < 0 ? rest : rest[..slash];
        var database = slash < 0 ? "" : Uri.UnescapeDataString(rest[(slash + 1)..]);

        // Commands carry their own timeouts (the heartbeat cuts off a hung call itself); the connect
        // is bounded too, so an unreachable server is reported within one report_interval.
        var builder = new NpgsqlConnectionStringBuilder { Timeout = 10 };
        var at = authority.LastIndexOf('@');
        var hostPort = authority;
        if (at >= 0)
        {
            var userInfo = authority[..at];
            hostPort = authority[(at + 1)..];
            var colon = userInfo.IndexOf(':');
            builder.Username = Uri.UnescapeDataString(colon < 0 ? userInfo : userInfo[..colon]);
            if (colon >= 0)
            {
                builder.Password = Uri.UnescapeDataString(userInfo[(colon + 1)..]);
            }
        }
        if (hostPort.Length > 0)
        {
            string host = hostPort;
            if (hostPort.StartsWith('['))
            {
                var close = hostPort.IndexOf(']');
                if (close < 0)
                {
                    throw new FormatException($"invalid PostgreSQL URL '{MaskPassword(original)}': unterminated IPv6 address");
                }
                host = hostPort[1..close];
                hostPort = hostPort[(close + 1)..];
                if (hostPort.StartsWith(':'))
                {
                    builder.Port = ParsePort(hostPort[1..], original);
                }
            }
            else
            {
                var colon = hostPort.LastIndexOf(':');
                if (colon >= 0)
                {
                    host = hostPort[..colon];
                    builder.Port = ParsePort(hostPort[(colon + 1)..], original);
                }
            }
            builder.Host = Uri.UnescapeDataString(host);
        }
        if (database.Length > 0)
        {
            builder.Database = database;
        }
        if (queryText is not null)
        {
            foreach (var pair in queryText.Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = pair.IndexOf('=');
                var key = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
                var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..].Replace('+', ' '));
                ApplyPostgresParameter(builder, key, value, original);
            }
        }
        if (string.IsNullOrEmpty(builder.Host))
        {
            // libpq's default: the local Unix socket directory Debian's server uses.
            builder.Host = "/var/run/postgresql";
        }
        builder.ApplicationName ??= "nova-compute";
        return new DatabaseUrl(DatabaseDialect.PostgreSql, builder.ConnectionString, MaskPassword(original), null);
    }

    private static int ParsePort(string text, string original) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536
            ? port
            : throw new FormatException($"invalid port '{text}' in database URL '{MaskPassword(original)}'");

    private static void ApplyPostgresParameter(NpgsqlConnectionStringBuilder builder, string key, string value, string original)
    {
        switch (key)
        {
            case "host":
                builder.Host = value;
                break;
            case "port":
                builder.Port = ParsePort(value, original);
                break;
            case "sslmode":
                builder.SslMode = value switch
                {
                    "disable" => SslMode.Disable,
                    "allow" => SslMode.Allow,
                    "prefer" => SslMode.Prefer,
                    "require" => SslMode.Require,
                    "verify-ca" => SslMode.VerifyCA,
                    "verify-full" => SslMode.VerifyFull,
                    _ => throw new FormatException($"invalid sslmode '{value}' in database URL '{MaskPassword(original)}'"),
                };
                break;
            case "sslrootcert":
                builder.RootCertificate = value;
                break;
            case "sslcert":
                builder.SslCertificate = value;
                break;
            case "sslkey":
                builder.SslKey = value;
                break;
            case "connect_timeout":
                builder.Timeout = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var t)
                    ? t
                    : throw new FormatException($"invalid connect_timeout '{value}' in database URL '{MaskPassword(original)}'");
                break;
            case "application_name":
                builder.ApplicationName = value;
                break;
            case "options":
                builder.Options = value;
                break;
            case "client_encoding":
                builder.ClientEncoding = value;
                break;
            case "charset":
                // oslo.db's MySQL habit (charset=utf8) is harmless on PostgreSQL.
                break;
            default:
                throw new FormatException(
                    $"unsupported parameter '{key}' in database URL '{MaskPassword(original)}' " +
                    "(supported: host, port, sslmode, sslrootcert, sslcert, sslkey, connect_timeout, application_name, options, client_encoding)");
        }
    }
}
