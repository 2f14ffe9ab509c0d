using NovaCompute.Logging;
using Serilog.Events;

namespace NovaCompute.Tests.Logging;

public class ConsoleSinkTests
{
    private static readonly OsloFormatter Formatter = new(new LoggingSettings(), new LoggingEnvironment { ProcessId = 1, TimeZone = LogEvents.Zone });

    [Test]
    public void Emit_Event_WritesOsloLineWithoutAnsiReset()
    {
        var output = new StringWriter();
        new ConsoleSink(Formatter, output).Emit(LogEvents.Make(LogEventLevel.Warning, "careful"));
        Assert.That(output.ToString(), Is.EqualTo("2024-05-14 09:12:44.106 1 WARNING nova.service [-] careful\n"));
        Assert.That(output.ToString(), Does.Not.Contain("\u001b"));
    }

    [Test]
    public void Emit_ConcurrentThreads_LinesNeverInterleave()
    {
        var output = new StringWriter();
        var sink = new ConsoleSink(Formatter, output);
        Parallel.For(0, 500, i => sink.Emit(LogEvents.Make(LogEventLevel.Information, "{N}", [("N", i)], exception: new InvalidOperationException("x"))));
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1000));
        for (var i = 0; i < lines.Length; i += 2)
        {
            Assert.That(lines[i], Does.Contain(" INFO nova.service [-] "));
            Assert.That(lines[i + 1], Does.EndWith(" ERROR nova.service System.InvalidOperationException: x"));
        }
    }

    [Test]
    public void Emit_ClosedOutput_DoesNotThrow()
    {
        var output = new StringWriter();
        output.Dispose();
        Assert.DoesNotThrow(() => new ConsoleSink(Formatter, output).Emit(LogEvents.Make(LogEventLevel.Information, "x")));
    }
}
