using NovaCompute.Logging;
using Serilog.Events;

namespace NovaCompute.Tests.Logging;

public class LogLevelControllerTests
{
    private static LogLevelController Controller(bool debug, params string[] pairs)
    {
        var problems = new List<string>();
        var overrides = LogLevelController.ParsePairs(pairs, problems);
        Assert.That(problems, Is.Empty);
        return new LogLevelController(debug, overrides);
    }

    [Test]
    public void LevelFor_NoOverride_IsRootLevel()
    {
        Assert.That(Controller(debug: false).LevelFor("NovaCompute.Compute.ComputeManager"), Is.EqualTo(LogEventLevel.Information));
        Assert.That(Controller(debug: true).LevelFor("NovaCompute.Compute.ComputeManager"), Is.EqualTo(LogEventLevel.Debug));
    }

    [Test]
    public void LevelFor_OverrideOnMappedName_AppliesToItAndBelowOnly()
    {
        var controller = Controller(true, "oslo.messaging=INFO", "nova.servicegroup=WARN", "microsoft=ERROR");
        Assert.Multiple(() =>
        {
            Assert.That(controller.LevelFor("NovaCompute.Messaging.Rpc.RpcServer"), Is.EqualTo(LogEventLevel.Information));
            Assert.That(controller.LevelFor("NovaCompute.ServiceGroup.HeartbeatWriter"), Is.EqualTo(LogEventLevel.Warning));
            Assert.That(controller.LevelFor("NovaCompute.ServiceGroupExtra"), Is.EqualTo(LogEventLevel.Debug), "prefix stops at a dot");
            Assert.That(controller.LevelFor("Microsoft.Hosting.Lifetime"), Is.EqualTo(LogEventLevel.Error));
            Assert.That(controller.LevelFor(null), Is.EqualTo(LogEventLevel.Debug));
        });
    }

    [Test]
    public void LevelFor_NestedOverrides_LongestPrefixWins()
    {
        var controller = Controller(false, "nova=WARN", "nova.compute=DEBUG");
        Assert.That(controller.LevelFor("NovaCompute.Compute.ComputeManager"), Is.EqualTo(LogEventLevel.Debug));
        Assert.That(controller.LevelFor("NovaCompute.Db.Repository"), Is.EqualTo(LogEventLevel.Warning));
    }

    [Test]
    public void LevelFor_OverrideNamedInOtherCase_StillMatches()
    {
        Assert.That(Controller(false, "RabbitMQ.Client=ERROR").LevelFor("RabbitMQ.Client.Impl"), Is.EqualTo(LogEventLevel.Error));
    }

    [Test]
    public void MinimumLevelSwitch_FollowsLowestEffectiveLevel()
    {
        var controller = Controller(false, "amqp=WARN");
        Assert.That(controller.MinimumLevelSwitch.MinimumLevel, Is.EqualTo(LogEventLevel.Information));

        controller.Debug = true;
        Assert.That(controller.MinimumLevelSwitch.MinimumLevel, Is.EqualTo(LogEventLevel.Debug));

        var withDebugOverride = Controller(false, "nova.compute=DEBUG");
        Assert.That(withDebugOverride.MinimumLevelSwitch.MinimumLevel, Is.EqualTo(LogEventLevel.Debug),
            "a logger below the root level must still be able to emit");
    }

    [Test]
    public void Debug_ChangedAtRunTime_ChangesRootButNotOverrides()
    {
        var controller = Controller(false, "oslo.messaging=INFO");
        controller.Debug = true;
        Assert.Multiple(() =>
        {
            Assert.That(controller.Debug, Is.True);
            Assert.That(controller.LevelFor("NovaCompute.Compute.ComputeManager"), Is.EqualTo(LogEventLevel.Debug));
            Assert.That(controller.LevelFor("NovaCompute.Messaging.Rpc.RpcServer"), Is.EqualTo(LogEventLevel.Information));
        });
        controller.Debug = false;
        Assert.That(controller.LevelFor("NovaCompute.Compute.ComputeManager"), Is.EqualTo(LogEventLevel.Information));
    }

    [Test]
    public void IsEnabled_UsesEventSourceContext()
    {
        var controller = Controller(true, "nova.servicegroup=WARN");
        Assert.That(controller.IsEnabled(LogEvents.Make(LogEventLevel.Debug, "x", sourceContext: "NovaCompute.ServiceGroup.HeartbeatWriter")), Is.False);
        Assert.That(controller.IsEnabled(LogEvents.Make(LogEventLevel.Warning, "x", sourceContext: "NovaCompute.ServiceGroup.HeartbeatWriter")), Is.True);
        Assert.That(controller.IsEnabled(LogEvents.Make(LogEventLevel.Debug, "x", sourceContext: "NovaCompute.Compute.ComputeManager")), Is.True);
    }

    [TestCase("WARN", LogEventLevel.Warning)]
    [TestCase("warning", LogEventLevel.Warning)]
    [TestCase("CRITICAL", LogEventLevel.Fatal)]
    [TestCase("FATAL", LogEventLevel.Fatal)]
    [TestCase("ERROR", LogEventLevel.Error)]
    [TestCase("INFO", LogEventLevel.Information)]
    [TestCase("DEBUG", LogEventLevel.Debug)]
    [TestCase("TRACE", LogEventLevel.Verbose)]
    [TestCase("5", LogEventLevel.Verbose)]
    [TestCase("10", LogEventLevel.Debug)]
    [TestCase("35", LogEventLevel.Warning)]
    public void TryParseLevel_PythonNamesAndNumbers(string text, LogEventLevel expected)
    {
        Assert.That(LogLevelController.TryParseLevel(text, out var level), Is.True);
        Assert.That(level, Is.EqualTo(expected));
    }

    [Test]
    public void ParsePairs_BadPairs_AllReported()
    {
        var problems = new List<string>();
        var pairs = LogLevelController.ParsePairs(["amqp=WARN", "noequals", "=INFO", "x=LOUD", " ", "y = debug "], problems);
        Assert.That(pairs, Is.EqualTo(new[] { ("amqp", LogEventLevel.Warning), ("y", LogEventLevel.Debug) }));
        Assert.That(problems, Has.Count.EqualTo(3));
        Assert.That(problems, Has.Some.Contains("'x=LOUD'"));
    }
}
