using NovaCompute.Logging.Journald;
using Serilog.Events;

namespace NovaCompute.Tests.Logging.Journald;

public class SyslogLevelsTests
{
    [TestCase(LogEventLevel.Fatal, 2, "CRITICAL", 50)]
    [TestCase(LogEventLevel.Error, 3, "ERROR", 40)]
    [TestCase(LogEventLevel.Warning, 4, "WARNING", 30)]
    [TestCase(LogEventLevel.Information, 6, "INFO", 20)]
    [TestCase(LogEventLevel.Debug, 7, "DEBUG", 10)]
    [TestCase(LogEventLevel.Verbose, 7, "TRACE", 5)]
    public void Level_MapsAsOsloDoes(LogEventLevel level, int priority, string name, int number)
    {
        Assert.Multiple(() =>
        {
            Assert.That(SyslogLevels.Priority(level), Is.EqualTo(priority));
            Assert.That(SyslogLevels.PythonLevelName(level), Is.EqualTo(name));
            Assert.That(SyslogLevels.PythonLevelNumber(level), Is.EqualTo(number));
        });
    }

    [TestCase("LOG_USER", 1)]
    [TestCase("user", 1)]
    [TestCase("log_local0", 16)]
    [TestCase("LOCAL7", 23)]
    [TestCase("LOG_DAEMON", 3)]
    [TestCase(" LOG_AUTHPRIV ", 10)]
    public void TryParseFacility_Name_GivesFacilityNumberNotShiftedConstant(string name, int expected)
    {
        Assert.That(SyslogLevels.TryParseFacility(name, out var facility), Is.True);
        Assert.That(facility, Is.EqualTo(expected));
    }

    [TestCase("LOG_NOPE")]
    [TestCase("")]
    [TestCase(null)]
    public void TryParseFacility_Unknown_Fails(string? name)
    {
        Assert.That(SyslogLevels.TryParseFacility(name, out _), Is.False);
    }
}
