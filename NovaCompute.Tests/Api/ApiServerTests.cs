using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using NovaCompute.Api;
using NovaCompute.Db;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Api;

/// <summary>The server: TLS with certificates made by openssl, client certificates, socket options, drain on stop.</summary>
public class ApiServerTests
{
    private DirectoryInfo _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("nova-api-tls-");

    [TearDown]
    public void TearDown() => _dir.Delete(recursive: true);

    private string PathOf(string name) => Path.Combine(_dir.FullName, name);

    private static async Task OpenSsl(params string[] arguments)
    {
        var run = await Shell.RunAsync("openssl", arguments, TimeSpan.FromSeconds(60));
        Assert.That(run.ExitCode, Is.Zero, run.Output);
    }

    /// <summary>A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA; and a stranger CA's client certificate.</summary>
    private async Task MakeCertificatesAsync()
    {
        foreach (var ca in new[] { "ca", "other-ca" })
        {
            await OpenSsl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", $"/CN=test {ca}",
                "-keyout", PathOf($"{ca}.key"), "-out", PathOf($"{ca}.pem"));
        }
        File.WriteAllText(PathOf("server.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
        File.WriteAllText(PathOf("client.ext"), "extendedKeyUsage=clientAuth\n");
        foreach (var (name, ca) in new[] { ("server", "ca"), ("client", "ca"), ("stranger", "other-ca") })
        {
            await OpenSsl("req", "-newkey", "rsa:2048", "-nodes", "-subj", $"/CN={name}", "-keyout", PathOf($"{name}.key"), "-out", PathOf($"{name}.csr"));
            await OpenSsl("x509", "-req", "-in", PathOf($"{name}.csr"), "-CA", PathOf($"{ca}.pem"), "-CAkey", PathOf($"{ca}.key"),
                "-CAcreateserial", "-days", "2", "-extfile", PathOf(name == "server" ? "server.ext" : "client.ext"), "-out", PathOf($"{name}.pem"));
        }
    }

    private HttpClient TlsClient(Uri baseUri, string? clientCertificate)
    {
        var ca = X509Certificate2.CreateFromPem(File.ReadAllText(PathOf("ca.pem")));
        var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, certificate, chain, _) =>
            {
                chain!.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(certificate!);
            },
        };
        if (clientCertificate is not null)
        {
            handler.ClientCertificateOptions = ClientCertificateOption.Manual;
            handler.ClientCertificates.Add(X509Certificate2.CreateFromPemFile(PathOf($"{clientCertificate}.pem"), PathOf($"{clientCertificate}.key")));
        }
        return new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{baseUri.Port}") };
    }

    [Test]
    public async Task Tls_CertificateFromOpenssl_ServesHttpsOnly()
    {
        await MakeCertificatesAsync();
        await using var api = await TestApi.StartAsync(DatabaseDialect.Sqlite,
            (ApiOptions.EnabledSslApis, "osapi_compute"), (ApiOptions.SslCertFile, PathOf("server.pem")), (ApiOptions.SslKeyFile, PathOf("server.key")));
        using var client = TlsClient(api.BaseUri, null);
        var response = await client.GetAsync("/v2.1");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("\"href\":\"https://127.0.0.1:"));
        Assert.That(async () => await api.Client.GetAsync("/"), Throws.InstanceOf<HttpRequestException>(), "plain HTTP is not served");
    }

    [Test]
    public async Task Tls_WithCaFile_RequiresAClientCertificateFromThatCa()
    {
        await MakeCertificatesAsync();
        await using var api = await TestApi.StartAsync(DatabaseDialect.Sqlite,
            (ApiOptions.EnabledSslApis, "osapi_compute"), (ApiOptions.SslCertFile, PathOf("server.pem")), (ApiOptions.SslKeyFile, PathOf("server.key")),
            (ApiOptions.SslCaFile, PathOf("ca.pem")));
        using (var withCertificate = TlsClient(api.BaseUri, "client"))
        {
            Assert.That((await withCertificate.GetAsync("/v2.1/os-services")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }
        using (var without = TlsClient(api.BaseUri, null))
        {
            Assert.That(async () => await without.GetAsync("/v2.1/os-services"), Throws.InstanceOf<HttpRequestException>());
        }
        using (var stranger = TlsClient(api.BaseUri, "stranger"))
        {
            Assert.That(async () => await stranger.GetAsync("/v2.1/os-services"), Throws.InstanceOf<HttpRequestException>());
        }
    }

    [TestCase("cert", "Unable to find cert_file : {dir}/missing.pem")]
    [TestCase("key", "Unable to find key_file : {dir}/missing.pem")]
    [TestCase("ca", "Unable to find ca_file : {dir}/missing.pem")]
    [TestCase("nokey", "When running server in SSL mode, you must specify both a cert_file and key_file option value in your configuration file")]
    [TestCase("garbage", "Unable to load cert_file {dir}/garbage.pem with key_file {dir}/garbage.pem: ")]
    public async Task LoadTls_MissingOrBadFiles_NovasMessages(string broken, string message)
    {
        await MakeCertificatesAsync();
        File.WriteAllText(PathOf("garbage.pem"), "not a certificate");
        var settings = new ApiSettings
        {
            ListenHost = "127.0.0.1",
            Port = 0,
            UseSsl = true,
            SslCertFile = broken switch { "cert" => PathOf("missing.pem"), "garbage" => PathOf("garbage.pem"), _ => PathOf("server.pem") },
            SslKeyFile = broken switch { "key" => PathOf("missing.pem"), "nokey" => null, "garbage" => PathOf("garbage.pem"), _ => PathOf("server.key") },
            SslCaFile = broken == "ca" ? PathOf("missing.pem") : null,
        };
        Assert.That(() => settings.LoadTls(), Throws.InstanceOf<ApiConfigurationException>().With.Message.StartsWith(message.Replace("{dir}", _dir.FullName)));
        Assert.That((settings with { UseSsl = false }).LoadTls(), Is.Null, "without enabled_ssl_apis the files are not used");
    }

    [Test]
    public async Task Connection_Accepted_HasTcpKeepaliveWithTcpKeepidle()
    {
        await using var api = await TestApi.StartAsync(DatabaseDialect.Sqlite, (ApiOptions.TcpKeepidle, "321"));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, api.BaseUri.Port);
        await socket.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
        await socket.ReceiveAsync(new byte[4096]);
        var local = ((IPEndPoint)socket.LocalEndPoint!).Port;
        // The server's end of this connection: its keepalive timer runs from tcp_keepidle.
        var ss = await Shell.RunAsync("ss", ["-tnoH", "state", "established", $"( sport = :{api.BaseUri.Port} and dport = :{local} )"]);
        Assert.That(ss.Stdout, Does.Match(@"timer:\(keepalive,(5min[0-9.]+sec|5min|4min5\d[0-9.]*sec)"), ss.Output);
    }

    [Test]
    public async Task Stop_WithRequestInFlight_RefusesNewConnectionsAndAnswersTheRequest()
    {
        var api = await TestApi.StartAsync(DatabaseDialect.Sqlite);
        try
        {
            var (_, uuid) = await api.AddServiceAsync("node-a");
            await using var slow = await SlowPut.StartAsync(api.BaseUri, uuid, TestApi.Token);
            await Eventually.Until(() => api.Pipeline.InFlight == 1 && api.Logs.Messages().Any(m => m.Contains("Calling method 'update'")));

            var stop = api.Server.StopAsync(CancellationToken.None);
            await Eventually.Until(() => api.Logs.Messages().Any(m => m.Contains("Stopping WSGI server")));
            await Eventually.Until(() => !CanConnect(api.BaseUri.Port));
            Assert.That(stop.IsCompleted, Is.False, "the stop waits for the request in flight");

            var answer = await slow.FinishAsync();
            Assert.That(answer, Does.StartWith("HTTP/1.1 200 OK"));
            Assert.That(answer, Does.Contain("\"disabled_reason\":\"slow request\""));
            await stop.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.That(api.Logs.Messages().Any(m => m.Contains("aborted")), Is.False);
        }
        finally
        {
            await api.DisposeAsync();
        }
    }

    [Test]
    public async Task Stop_RequestOutlastsGracefulShutdownTimeout_IsAbortedAndLogged()
    {
        var api = await TestApi.StartAsync(DatabaseDialect.Sqlite, (ServiceOptions.GracefulShutdownTimeout, "1"));
        try
        {
            var (_, uuid) = await api.AddServiceAsync("node-a");
            await using var slow = await SlowPut.StartAsync(api.BaseUri, uuid, TestApi.Token);
            await Eventually.Until(() => api.Logs.Messages().Any(m => m.Contains("Calling method 'update'")));
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await api.Server.StopAsync(timeout.Token).WaitAsync(TimeSpan.FromSeconds(15));
            Assert.That(api.Logs.Messages().Any(m => m.Contains("WSGI server has stopped.")), Is.True);
            Assert.That((await api.Database.Repository.GetByHostAndBinaryAsync("node-a", "nova-compute", CancellationToken.None))!.Disabled, Is.False,
                "the aborted request changed nothing");
        }
        finally
        {
            await api.DisposeAsync();
        }
    }

    private static bool CanConnect(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
