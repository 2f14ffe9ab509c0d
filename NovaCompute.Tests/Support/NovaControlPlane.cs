using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Npgsql;

namespace NovaCompute.Tests.Support;

/// <summary>
/// A real nova (Zed, Debian's python3-nova) control plane for the tests: nova-conductor and nova-api
/// on the tests' PostgreSQL server and RabbitMQ vhost, as the conductor reference README describes
/// (reference/conductor/README.md). Its three databases (<c>&lt;prefix&gt;api</c>, <c>cell0</c>,
/// <c>cell1</c>; prefix <c>NOVA_TEST_NOVA_DB_PREFIX</c>, default <c>ncp_&lt;vhost&gt;_</c>) are created and
/// migrated by <c>nova-manage</c> the first time (about a minute) and reused afterwards. Tests start
/// and stop the conductor at will; nova-api runs under wsgiref with <c>noauth2</c> (token
/// <c>admin:admin</c>). Anything missing fails the fixture when NOVA_TEST_REQUIRE_SERVICES=1.
/// </summary>
internal sealed partial class NovaControlPlane : IAsyncDisposable
{
    /// <summary>The control plane's services report every second and are down after 4 s.</summary>
    public const int ServiceDownTime = 4;

    private readonly string _dir;
    private readonly string _python;
    private Process? _conductor;
    private Process? _api;
    private readonly List<string> _conductorLog = [];

    private NovaControlPlane(string dir, string python, string prefix)
    {
        _dir = dir;
        _python = python;
        DatabasePrefix = prefix;
    }

    public string DatabasePrefix { get; }

    /// <summary>The conductor's own <c>[DEFAULT] host</c>, unique to this vhost.</summary>
    public string ConductorHost => "cp-" + TestServices.RabbitVhost;

    public string ConfigFile => Path.Combine(_dir, "nova.conf");

    /// <summary>nova-api's root, e.g. <c>http://127.0.0.1:PORT/v2.1</c>.</summary>
    public string ApiEndpoint { get; private set; } = "";

    public string CellDatabaseUrl => DatabaseUrl("cell1");

    public string ConductorOutput
    {
        get
        {
            lock (_conductorLog)
            {
                return string.Join("\n", _conductorLog);
            }
        }
    }

    public static async Task<NovaControlPlane> StartAsync()
    {
        var python = TestServices.SystemPython;
        var check = await Shell.RunAsync(python, ["-c", "import nova.cmd.conductor, nova.api.openstack.compute.wsgi"]);
        if (check.ExitCode != 0)
        {
            TestServices.Unavailable($"python3-nova ({check.Output.Trim()})");
        }
        // The databases are kept between runs, and cell1's mapping holds the transport_url (vhost)
        // it was created with: nova-api sends compute RPC (set_host_enabled) there. One set per
        // vhost, so a run on another vhost never talks to a control plane on the wrong one.
        var prefix = Environment.GetEnvironmentVariable("NOVA_TEST_NOVA_DB_PREFIX") is { Length: > 0 } p ? p
            : "ncp_" + System.Text.RegularExpressions.Regex.Replace(TestServices.RabbitVhost.ToLowerInvariant(), "[^a-z0-9_]", "_") + "_";
        var plane = new NovaControlPlane(Directory.CreateTempSubdirectory("nova-control-plane-").FullName, python, prefix);
        try
        {
            await plane.PrepareAsync();
            await plane.StartApiAsync();
            await plane.StartConductorAsync();
            return plane;
        }
        catch
        {
            await plane.DisposeAsync();
            throw;
        }
    }

    private string DatabaseUrl(string name)
    {
        var server = new NpgsqlConnectionStringBuilder(PostgresConnectionString(TestServices.PostgresUrl));
        return $"postgresql://{server.Username}:{server.Password}@{server.Host}:{server.Port}/{DatabasePrefix}{name}";
    }

    private static string PostgresConnectionString(string url)
    {
        var uri = new Uri(url);
        var userInfo = uri.UserInfo.Split(':', 2);
        return new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.Port > 0 ? uri.Port : 5432,
            Username = Uri.UnescapeDataString(userInfo[0]),
            Password = userInfo.Length > 1 ? Uri.UnescapeDataString(userInfo[1]) : null,
            Database = uri.AbsolutePath.TrimStart('/'),
            Pooling = false,
        }.ConnectionString;
    }

    /// <summary>A connection to one of the control plane's databases (<c>api</c>, <c>cell0</c>, <c>cell1</c>).</summary>
    public async Task<NpgsqlConnection> OpenAsync(string name)
    {
        var builder = new NpgsqlConnectionStringBuilder(PostgresConnectionString(TestServices.PostgresUrl)) { Database = DatabasePrefix + name };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>Databases, configuration, and the nova-manage steps when the databases are new.</summary>
    private async Task PrepareAsync()
    {
        await using (var admin = new NpgsqlConnection(PostgresConnectionString(TestServices.PostgresUrl)))
        {
            await admin.OpenAsync();
            foreach (var name in new[] { "api", "cell0", "cell1" })
            {
                await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @name", admin);
                exists.Parameters.AddWithValue("name", DatabasePrefix + name);
                if (await exists.ExecuteScalarAsync() is null)
                {
                    await using var create = new NpgsqlCommand($"CREATE DATABASE \"{DatabasePrefix}{name}\"", admin);
                    await create.ExecuteNonQueryAsync();
                }
            }
        }
        await File.WriteAllTextAsync(ConfigFile, $"""
            [DEFAULT]
            host = {ConductorHost}
            transport_url = {TestServices.TransportUrl}
            state_path = {_dir}
            report_interval = 1
            service_down_time = {ServiceDownTime}
            debug = false
            [api_database]
            connection = {DatabaseUrl("api")}
            [database]
            connection = {CellDatabaseUrl}
            [conductor]
            workers = 1
            [placement]
            # The conductor exits at start without these; nothing here talks to placement.
            auth_type = none
            endpoint_override = http://127.0.0.1:1/placement
            [api]
            auth_strategy = noauth2
            [oslo_concurrency]
            lock_path = {_dir}/lock
            """);
        await File.WriteAllTextAsync(Path.Combine(_dir, "api-paste.ini"), """
            [composite:osapi_compute]
            use = call:nova.api.openstack.urlmap:urlmap_factory
            /v2.1: oscomputeversion_v2

            [composite:oscomputeversion_v2]
            use = call:nova.api.auth:pipeline_factory_v21
            noauth2 = noauth2 osapi_compute_app_v21
            keystone = osapi_compute_app_v21

            [filter:noauth2]
            paste.filter_factory = nova.api.openstack.auth:NoAuthMiddleware.factory

            [app:osapi_compute_app_v21]
            paste.app_factory = nova.api.openstack.compute:APIRouterV21.factory
            """);
        if (await IsPreparedAsync())
        {
            return;
        }
        await NovaManageAsync("api_db", "sync");
        await NovaManageAsync("cell_v2", "map_cell0", "--database_connection", DatabaseUrl("cell0"));
        await NovaManageAsync("cell_v2", "create_cell", "--name", "cell1");
        await NovaManageAsync("db", "sync");
    }

    private async Task<bool> IsPreparedAsync()
    {
        try
        {
            await using var api = await OpenAsync("api");
            await using var cells = new NpgsqlCommand("SELECT count(*) FROM cell_mappings WHERE name = 'cell1'", api);
            if ((long)(await cells.ExecuteScalarAsync())! == 0)
            {
                return false;
            }
            await using var cell = await OpenAsync("cell1");
            await using var services = new NpgsqlCommand("SELECT count(*) FROM services", cell);
            await services.ExecuteScalarAsync();
            return true;
        }
        catch (PostgresException)
        {
            return false; // no tables yet
        }
    }

    /// <summary>Runs <c>nova-manage</c> (python3-nova has the module, not the script); fails with its output.</summary>
    public async Task<string> NovaManageAsync(params string[] arguments)
    {
        var result = await Shell.RunAsync(_python,
            ["-c", "from nova.cmd.manage import main; main()", "--config-file", ConfigFile, .. arguments], TimeSpan.FromMinutes(5));
        if (result.ExitCode != 0)
        {
            Assert.Fail($"nova-manage {string.Join(' ', arguments)} exited {result.ExitCode}:\n{result.Output}");
        }
        return result.Output;
    }

    private async Task StartApiAsync()
    {
        var port = FreePort();
        var script = Path.Combine(TestContext.CurrentContext.TestDirectory, "Support", "ControlPlane", "nova_api.py");
        var start = new ProcessStartInfo(_python, [script, port.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["OS_NOVA_CONFIG_DIR"] = _dir;
        start.Environment["OS_NOVA_CONFIG_FILES"] = "api-paste.ini;nova.conf";
        start.Environment.Remove("NOTIFY_SOCKET");
        var output = new List<string>();
        _api = Start(start, output);
        ApiEndpoint = $"http://127.0.0.1:{port}/v2.1";
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            try
            {
                using var response = await http.GetAsync(ApiEndpoint + "/");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // not listening yet
            }
            if (_api.HasExited || DateTime.UtcNow > deadline)
            {
                lock (output)
                {
                    Assert.Fail($"nova-api did not start (exited: {_api.HasExited}):\n{string.Join("\n", output)}");
                }
            }
            await Task.Delay(200);
        }
    }

    /// <summary>Starts nova-conductor and waits until nova-api sees it up.</summary>
    public async Task StartConductorAsync(bool waitUntilUp = true)
    {
        if (_conductor is { HasExited: false })
        {
            return;
        }
        var start = new ProcessStartInfo(_python, ["-c", "from nova.cmd.conductor import main; main()", "--config-file", ConfigFile])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment.Remove("NOTIFY_SOCKET");
        _conductor = Start(start, _conductorLog);
        if (waitUntilUp)
        {
            await Eventually.Until(async () => (await ServicesAsync()).Any(s =>
                    (string?)s["binary"] == "nova-conductor" && (string?)s["host"] == ConductorHost && (string?)s["state"] == "up"
                    && (string?)s["updated_at"] is not null && DateTime.Parse((string)s["updated_at"]!, System.Globalization.CultureInfo.InvariantCulture) > DateTime.UtcNow.AddSeconds(-ServiceDownTime)),
                TimeSpan.FromSeconds(90), () => "nova-conductor to report up through nova-api; its output:\n" + ConductorOutput, TimeSpan.FromMilliseconds(500));
        }
    }

    /// <summary>Stops nova-conductor with SIGTERM (its graceful stop) and waits for it to exit.</summary>
    public async Task StopConductorAsync()
    {
        if (_conductor is null)
        {
            return;
        }
        await StopAsync(_conductor);
        _conductor = null;
    }

    /// <summary>
    /// GET /os-services at microversion 2.53 (ids are uuids); <paramref name="binary"/> and
    /// <paramref name="host"/> filter as nova's API does.
    /// </summary>
    public async Task<List<JsonObject>> ServicesAsync(string? host = null, string? binary = null)
    {
        var query = new List<string>();
        if (host is not null)
        {
            query.Add("host=" + Uri.EscapeDataString(host));
        }
        if (binary is not null)
        {
            query.Add("binary=" + Uri.EscapeDataString(binary));
        }
        var body = await ApiAsync(HttpMethod.Get, "/os-services" + (query.Count > 0 ? "?" + string.Join('&', query) : ""));
        return [.. body!["services"]!.AsArray().Select(s => s!.AsObject())];
    }

    /// <summary>One call of nova-api's compute API as admin (noauth2 token <c>admin:admin</c>), microversion 2.53.</summary>
    public async Task<JsonNode?> ApiAsync(HttpMethod method, string path, JsonObject? body = null)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(method, ApiEndpoint + path);
        request.Headers.Add("X-Auth-Token", "admin:admin");
        request.Headers.Add("X-OpenStack-Nova-API-Version", "2.53");
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
        }
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            Assert.Fail($"nova-api {method} {path} answered {(int)response.StatusCode}: {text}");
        }
        return text.Length == 0 ? null : JsonNode.Parse(text);
    }

    private static Process Start(ProcessStartInfo start, List<string> output)
    {
        var process = new Process { StartInfo = start };
        void Add(string? line)
        {
            if (line is not null)
            {
                lock (output)
                {
                    output.Add(line);
                }
            }
        }
        process.OutputDataReceived += (_, e) => Add(e.Data);
        process.ErrorDataReceived += (_, e) => Add(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task StopAsync(Process process)
    {
        if (!process.HasExited)
        {
            kill(process.Id, 15); // SIGTERM: nova's graceful stop
        }
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
        }
        process.Dispose();
    }

    [System.Runtime.InteropServices.LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (_conductor is not null)
        {
            await StopAsync(_conductor);
        }
        if (_api is not null)
        {
            await StopAsync(_api);
        }
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // a process still writing its lock files: the temp directory is left behind
        }
    }
}
