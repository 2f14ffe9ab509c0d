using System.Text.Json;
using NovaCompute.Cli;
using NovaCompute.Compute;
using NovaCompute.Periodic;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Cli;

public class PeriodicCommandsTests
{
    private sealed class Tasks : PeriodicTasks
    {
        [PeriodicTask(Spacing = 0, RunImmediately = true)]
        public Task Defaulted(CancellationToken cancellationToken) => Task.CompletedTask;

        [PeriodicTask(Spacing = 2400, ExternalProcessOk = true, Name = "_run_image_cache_manager_pass")]
        public Task External(CancellationToken cancellationToken) => Task.CompletedTask;

        [PeriodicTask(Spacing = 10, Enabled = false)]
        public Task Off(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    [Test]
    public void List_ComputeManager_ShowsUpdateAvailableResourceWithItsOption()
    {
        var output = new StringWriter();
        var status = PeriodicCommands.List(TestConfigMonitor.Build((ComputeOptions.UpdateResourcesInterval, "300")), "table", output);
        Assert.That(status, Is.EqualTo(0));
        Assert.That(output.ToString(), Does.Contain("| ComputeManager.update_available_resource | 300 s   | DEFAULT.update_resources_interval = 300 | False           | False               | True    |"));
    }

    [Test]
    public void Json_OslosRules_ZeroIsSixtyDisabledAndExternalExplained()
    {
        var output = new StringWriter();
        var tasks = PeriodicTask.Collect(new Tasks(), NovaCompute.Config.OptionCatalog.All);
        PeriodicCommands.Write(tasks, TestConfigMonitor.Build((PeriodicOptions.RunExternalPeriodicTasks, "false")), "json", output);
        using var json = JsonDocument.Parse(output.ToString());
        var rows = json.RootElement.EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!);
        Assert.That(rows["Tasks.defaulted"].GetProperty("spacing").GetDouble(), Is.EqualTo(60));
        Assert.That(rows["Tasks.defaulted"].GetProperty("run_immediately").GetBoolean(), Is.True);
        Assert.That(rows["Tasks.defaulted"].GetProperty("enabled").GetBoolean(), Is.True);
        Assert.That(rows["Tasks._run_image_cache_manager_pass"].GetProperty("enabled").GetBoolean(), Is.False);
        Assert.That(rows["Tasks._run_image_cache_manager_pass"].GetProperty("reason").GetString(), Is.EqualTo("run_external_periodic_tasks = false"));
        Assert.That(rows["Tasks.off"].GetProperty("spacing").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(rows["Tasks.off"].GetProperty("reason").GetString(), Is.EqualTo("disabled"));
    }

    [Test]
    public void Table_PeriodicDisabled_EveryTaskSaysWhy()
    {
        var output = new StringWriter();
        PeriodicCommands.List(TestConfigMonitor.Build((PeriodicOptions.PeriodicEnable, "false")), "table", output);
        Assert.That(output.ToString(), Does.Contain("False (periodic_enable = false)"));
    }
}
