using NovaCompute.Config;
using NovaCompute.Periodic;

namespace NovaCompute.Tests.Periodic;

public class PeriodicTaskTests
{
    internal static readonly IntOpt TestSpacing = new("test_spacing_option", 30) { Mutable = true };

    private sealed class Manager : PeriodicTasks
    {
        [PeriodicTask(Spacing = 10)]
        public Task HealInstanceInfoCache(CancellationToken cancellationToken) => Task.CompletedTask;

        [PeriodicTask(Name = "_sync_power_states", RunImmediately = true, Spacing = 600)]
        private Task SyncPowerStates(CancellationToken cancellationToken) => Task.CompletedTask;

        [PeriodicTask]
        public Task UpdateAvailableResource(CancellationToken cancellationToken) => Task.CompletedTask;

        [PeriodicTask(Spacing = -1)]
        public Task Negative(CancellationToken cancellationToken) => Task.CompletedTask;

        [PeriodicTask(Enabled = false)]
        public Task Disabled(CancellationToken cancellationToken) => Task.CompletedTask;

        [PeriodicTask(SpacingOption = "test_spacing_option", ExternalProcessOk = true)]
        public Task FromOption(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed class BadSignature : PeriodicTasks
    {
        [PeriodicTask]
        public void NotAsync()
        {
        }
    }

    private sealed class UnknownOption : PeriodicTasks
    {
        [PeriodicTask(SpacingOption = "no_such_option")]
        public Task Run(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private static readonly IReadOnlyList<Opt> Catalog = [.. OptionCatalog.All, TestSpacing];

    [Test]
    public void Collect_Manager_TasksInDeclarationOrderWithOsloNames()
    {
        var tasks = PeriodicTask.Collect(new Manager(), Catalog);
        Assert.That(tasks.Select(t => t.FullName), Is.EqualTo(new[]
        {
            "Manager.heal_instance_info_cache", "Manager._sync_power_states", "Manager.update_available_resource",
            "Manager.negative", "Manager.disabled", "Manager.from_option",
        }));
    }

    [Test]
    public void Spacing_FollowsOsloRules()
    {
        var tasks = PeriodicTask.Collect(new Manager(), Catalog).ToDictionary(t => t.Name);
        var config = NovaConfig.FromValues(Catalog, new Dictionary<Opt, string> { [TestSpacing] = "45" });
        Assert.That(tasks["heal_instance_info_cache"].Spacing(config), Is.EqualTo(10));
        Assert.That(tasks["update_available_resource"].Spacing(config), Is.EqualTo(60), "0 means the 60 s default");
        Assert.That(tasks["negative"].Spacing(config), Is.Null);
        Assert.That(tasks["disabled"].Spacing(config), Is.Null);
        Assert.That(tasks["from_option"].Spacing(config), Is.EqualTo(45));
    }

    [Test]
    public void Collect_WrongSignature_FailsNamingTheMethod() =>
        Assert.That(() => PeriodicTask.Collect(new BadSignature(), Catalog),
            Throws.InvalidOperationException.With.Message.Contains("BadSignature.NotAsync"));

    [Test]
    public void Collect_UnknownSpacingOption_FailsAtCollection() =>
        Assert.That(() => PeriodicTask.Collect(new UnknownOption(), Catalog),
            Throws.InvalidOperationException.With.Message.Contains("no_such_option"));
}
