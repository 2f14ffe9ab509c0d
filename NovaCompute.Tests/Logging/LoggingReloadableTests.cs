using NovaCompute.Config;
using NovaCompute.Logging;

namespace NovaCompute.Tests.Logging;

public class LoggingReloadableTests
{
    [Test]
    public async Task ResetAsync_DebugChanged_MovesRootLevelBothWays()
    {
        var output = new StringWriter();
        using var logging = LoggingSetup.CreateLogger(new LoggingSettings(), new LoggingEnvironment { Stdout = output, Stderr = new StringWriter() });
        var reloadable = new LoggingReloadable(logging);

        await reloadable.ResetAsync(NovaConfig.FromValues(LoggingOptions.All, new Dictionary<Opt, string> { [LoggingOptions.Debug] = "true" }), CancellationToken.None);
        logging.Logger.Debug("visible");
        await reloadable.ResetAsync(NovaConfig.FromValues(LoggingOptions.All), CancellationToken.None);
        logging.Logger.Debug("hidden");

        Assert.That(output.ToString(), Does.Contain(" DEBUG root [-] visible").And.Not.Contain("hidden"));
    }
}
