namespace NovaCompute.Tests.Support;

/// <summary>
/// The real services the tests talk to, as <c>./build.sh services</c> (and so <c>./build.sh test</c>)
/// publishes them. A missing service skips the test in an ad-hoc <c>dotnet test</c>, but fails it
/// when NOVA_TEST_REQUIRE_SERVICES=1, so CI can never pass by skipping.
/// </summary>
internal static class TestServices
{
    public static bool Required => Environment.GetEnvironmentVariable("NOVA_TEST_REQUIRE_SERVICES") == "1";

    /// <summary>oslo transport URL of the tests' own RabbitMQ vhost.</summary>
    public static string TransportUrl => Require("NOVA_TEST_TRANSPORT_URL", "RabbitMQ");

    /// <summary>The tests' RabbitMQ vhost name (for rabbitmqctl calls).</summary>
    public static string RabbitVhost => Require("NOVA_TEST_RABBIT_VHOST", "RabbitMQ");

    /// <summary>oslo.db URL of the tests' PostgreSQL database.</summary>
    public static string PostgresUrl => Require("NOVA_TEST_DATABASE_URL", "PostgreSQL");

    /// <summary>The published daemon (<c>dist/nova-compute/nova-compute</c>), for process-level tests.</summary>
    public static string PublishedDaemon
    {
        get
        {
            var fromEnv = Environment.GetEnvironmentVariable("NOVA_COMPUTE_PUBLISHED");
            if (!string.IsNullOrEmpty(fromEnv) && File.Exists(fromEnv))
            {
                return fromEnv;
            }
            var local = Path.Combine(RepositoryRoot, "dist", "nova-compute", "nova-compute");
            if (File.Exists(local))
            {
                return local;
            }
            Unavailable("the published daemon (run ./build.sh publish)");
            return "";
        }
    }

    /// <summary>Debian's python3, which has the oslo/nova packages (not a pyenv one on PATH).</summary>
    public static string SystemPython
    {
        get
        {
            const string python = "/usr/bin/python3";
            if (!File.Exists(python))
            {
                Unavailable("/usr/bin/python3");
            }
            return python;
        }
    }

    public static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "NovaCompute.sln")))
            {
                dir = dir.Parent;
            }
            return dir?.FullName ?? throw new InvalidOperationException("NovaCompute.sln not found above the test directory");
        }
    }

    private static string Require(string variable, string what)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrEmpty(value))
        {
            Unavailable($"{what} ({variable} is not set; ./build.sh services sets it)");
        }
        return value!;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    internal static void Unavailable(string what)
    {
        if (Required)
        {
            Assert.Fail($"required test service unavailable: {what}");
        }
        Assert.Ignore($"test service unavailable: {what}");
    }
}
