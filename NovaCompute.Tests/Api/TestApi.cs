using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NovaCompute.Api;
using NovaCompute.Config;
using NovaCompute.Db;
using NovaCompute.ServiceGroup;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Api;

/// <summary>
/// The API composed as the daemon composes it (<see cref="ApiServiceCollectionExtensions.AddComputeApi"/>)
/// over a real test database, listening on a free loopback port, with an <see cref="HttpClient"/> for it.
/// </summary>
internal sealed class TestApi : IAsyncDisposable
{
    public const string Token = "test-admin-token";

    private readonly ServiceProvider _provider;

    private TestApi(TestDatabase database, ServiceProvider provider, ApiServer server, LogCollector logs, TestConfigMonitor config)
    {
        Database = database;
        _provider = provider;
        Server = server;
        Logs = logs;
        Config = config;
        BaseUri = new Uri($"http://127.0.0.1:{server.EndPoint!.Port}");
        Client = new HttpClient { BaseAddress = BaseUri };
    }

    public TestDatabase Database { get; }
    public ApiServer Server { get; }
    public LogCollector Logs { get; }
    public TestConfigMonitor Config { get; }
    public Uri BaseUri { get; }
    public HttpClient Client { get; }
    public ApiPipeline Pipeline => _provider.GetRequiredService<ApiPipeline>();

    /// <summary>Starts the API; <paramref name="options"/> are raw option values on top of an enabled API on port 0 with <see cref="Token"/>.</summary>
    public static async Task<TestApi> StartAsync(DatabaseDialect dialect = DatabaseDialect.Sqlite, params (Opt Opt, string Raw)[] options)
    {
        var database = await TestDatabase.CreateAsync(dialect);
        (Opt, string)[] values =
        [
            (ApiOptions.EnabledApis, ApiOptions.OsapiCompute),
            (ApiOptions.OsapiComputeListenPort, "0"),
            (ApiOptions.AdminToken, Token),
            (ServiceOptions.GracefulShutdownTimeout, "10"),
            .. options,
        ];
        var config = TestConfigMonitor.With(values.GroupBy(v => v.Item1).Select(g => g.Last()).ToArray());
        var logs = new LogCollector();
        var services = new ServiceCollection();
        services.AddSingleton<ILoggerFactory>(new LoggerFactory([logs]));
        services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(new ServiceIdentity("api-test", ServiceIdentity.ComputeBinary, ServiceIdentity.ComputeTopic));
        services.AddSingleton<IConfigMonitor>(config);
        services.AddSingleton<IDbConnectionFactory>(database.Factory);
        services.AddSingleton<IServiceRepository>(database.Repository);
        services.AddSingleton<IServiceGroupSettingsSource, ConfigServiceGroupSettings>();
        services.AddSingleton(ServiceGroupServiceCollectionExtensions.Zones(config.Current));
        services.AddSingleton<ServiceStatusQuery>();
        services.AddComputeApi(config.Current);
        var provider = services.BuildServiceProvider();
        var server = provider.GetRequiredService<ApiServer>();
        try
        {
            await server.StartAsync(CancellationToken.None);
        }
        catch
        {
            await provider.DisposeAsync();
            await database.DisposeAsync();
            throw;
        }
        return new TestApi(database, provider, server, logs, config);
    }

    /// <summary>A service row that is up now (heartbeat at the database's clock).</summary>
    public async Task<(int Id, string Uuid)> AddServiceAsync(string host, string binary = ServiceIdentity.ComputeBinary, bool disabled = false, bool up = true)
    {
        var now = await Database.NowAsync();
        var seen = up ? now : now.AddMinutes(-10);
        var id = await Database.InsertServiceAsync(host, binary, seen, seen, disabled: disabled, updatedAt: seen);
        var uuid = await Database.ScalarAsync<string>("SELECT uuid FROM services WHERE id = @id", new { id });
        return (id, uuid);
    }

    public static HttpRequestMessage Request(HttpMethod method, string path, string? version = null, object? body = null, string? token = Token)
    {
        var request = new HttpRequestMessage(method, path);
        if (version is not null)
        {
            request.Headers.Add("OpenStack-API-Version", "compute " + version);
        }
        if (token is not null)
        {
            request.Headers.Add("X-Auth-Token", token);
        }
        if (body is not null)
        {
            var text = body as string ?? System.Text.Json.JsonSerializer.Serialize(body);
            request.Content = new StringContent(text, Encoding.UTF8);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        return request;
    }

    public async Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> SendAsync(HttpRequestMessage request)
    {
        var response = await Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text), response);
    }

    public Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> SendAsync(HttpMethod method, string path,
        string? version = null, object? body = null, string? token = Token) =>
        SendAsync(Request(method, path, version, body, token));

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.StopAsync(CancellationToken.None);
        await _provider.DisposeAsync();
        await Database.DisposeAsync();
    }
}
