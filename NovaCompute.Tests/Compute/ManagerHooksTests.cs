using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NovaCompute.Compute;
using NovaCompute.Config;
using NovaCompute.Db;
using NovaCompute.Periodic;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Compute;

/// <summary>The manager's hooks through a full start and stop of the daemon's host (AddNovaCompute), in nova's order.</summary>
public class ManagerHooksTests
{
    /// <summary>Records each hook, and whether the service record existed at that moment.</summary>
    private sealed class RecordingManager(string host, Func<bool> recordExists) : Manager(host, "compute")
    {
        public ConcurrentQueue<string> Calls { get; } = new();
        public TaskCompletionSource PeriodicRan { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public bool ThrowOnCleanup { get; init; }

        public override Task InitHostAsync(CancellationToken cancellationToken) => Record("init_host");

        public override Task PreStartHookAsync(CancellationToken cancellationToken) => Record("pre_start_hook");

        public override Task PostStartHookAsync(CancellationToken cancellationToken) => Record("post_start_hook");

        public override Task CleanupHostAsync(CancellationToken cancellationToken)
        {
            Calls.Enqueue("cleanup_host");
            return ThrowOnCleanup ? throw new InvalidOperationException("driver gone") : Task.CompletedTask;
        }

        public override Task ResetAsync(NovaConfig config, CancellationToken cancellationToken) => Record("reset");

        [PeriodicTask(Spacing = 3600, RunImmediately = true)]
        private Task Audit(CancellationToken cancellationToken)
        {
            Calls.Enqueue("periodic audit");
            PeriodicRan.TrySetResult();
            return Task.CompletedTask;
        }

        private Task Record(string hook)
        {
            Calls.Enqueue($"{hook} (record {(recordExists() ? "exists" : "absent")})");
            return Task.CompletedTask;
        }
    }

    /// <summary>No signal handlers in the test process: the test stops the host itself.</summary>
    private sealed class TestLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private DirectoryInfo _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("nova-hooks-");

    [TearDown]
    public void TearDown() => _dir.Delete(recursive: true);

    private (IHost Host, RecordingManager Manager, LogCollector Logs) Build(bool throwOnCleanup = false)
    {
        var file = Path.Combine(_dir.FullName, "nova.conf");
        var hostName = "hooks-" + Guid.NewGuid().ToString("N")[..8];
        File.WriteAllText(file, $"""
            [DEFAULT]
            host = {hostName}
            state_path = {_dir.FullName}
            compute_driver = fake.FakeDriver
            periodic_fuzzy_delay = 0
            report_interval = 0
            [database]
            connection = sqlite:///{_dir.FullName}/nova.sqlite
            """);
        var loader = new ConfigLoader(OptionCatalog.All, new ConfigSearch { Directories = [], Environment = new Dictionary<string, string>() });
        var config = loader.Load(new ConfigArguments { Sources = [new(ConfigSourceKind.File, file)] }).Config!;
        var identity = new ServiceIdentity(hostName, ServiceIdentity.ComputeBinary, ServiceIdentity.ComputeTopic);
        var logs = new LogCollector();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Trace).AddProvider(logs);
        RecordingManager? manager = null;
        var repository = new ServiceRepository(new DbConnectionFactory(DatabaseOptions.Url(config)));
        bool RecordExists() => repository.GetByHostAndBinaryAsync(hostName, identity.Binary, CancellationToken.None).GetAwaiter().GetResult() is not null;
        manager = new RecordingManager(hostName, () =>
        {
            try
            {
                return RecordExists();
            }
            catch (Exception ex) when (ex is Microsoft.Data.Sqlite.SqliteException)
            {
                return false; // no schema yet: certainly no record
            }
        })
        { ThrowOnCleanup = throwOnCleanup };
        builder.Services.AddSingleton<Manager>(manager);
        builder.Services.AddNovaCompute(config, loader, identity);
        builder.Services.RemoveAll<IHostLifetime>();
        builder.Services.AddSingleton<IHostLifetime, TestLifetime>();
        return (builder.Build(), manager, logs);
    }

    [Test]
    public async Task StartAndStop_RecordingManager_HooksRunInNovasOrderAroundRegistration()
    {
        var (host, manager, logs) = Build();
        using (host)
        {
            await host.StartAsync();
            await manager.PeriodicRan.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await host.Services.GetRequiredService<Reloader>().ReloadAsync(CancellationToken.None);
            await host.StopAsync();
        }
        Assert.That(manager.Calls, Is.EqualTo(new[]
        {
            "init_host (record absent)",
            "pre_start_hook (record exists)",
            "post_start_hook (record exists)",
            "periodic audit",
            "reset (record exists)",
            "cleanup_host",
        }));
        var messages = logs.Entries.Select(e => e.Message).ToList();
        var starting = messages.FindIndex(m => m.StartsWith("Starting compute node (version ", StringComparison.Ordinal));
        var creatingRpc = messages.IndexOf("Creating RPC server for service compute");
        Assert.That(starting, Is.GreaterThanOrEqualTo(0));
        Assert.That(creatingRpc, Is.GreaterThan(starting));
    }

    [Test]
    public async Task Stop_CleanupHostThrows_LoggedAndStopCompletes()
    {
        var (host, manager, logs) = Build(throwOnCleanup: true);
        using (host)
        {
            await host.StartAsync();
            await host.StopAsync();
        }
        var error = logs.Entries.Single(e => e.Message == "Service error occurred during cleanup_host");
        Assert.That(error.Level, Is.EqualTo(LogLevel.Error));
        Assert.That(error.Exception?.Message, Is.EqualTo("driver gone"));
        Assert.That(logs.Entries.Any(e => e.Message == "Stopped compute node"), Is.True);
    }
}
