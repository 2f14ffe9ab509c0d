using System.Reflection;
using Microsoft.Extensions.Logging;

namespace NovaCompute.Tests.Logging;

public class LogEventIdsTests
{
    /// <summary>Every [LoggerMessage] method in the daemon, nested Log classes included.</summary>
    private static List<(int Id, string Method)> LoggerMessages() =>
        typeof(Daemon).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(x => x.Attribute is not null)
            .Select(x => (x.Attribute!.EventId, $"{x.Method.DeclaringType!.FullName}.{x.Method.Name}"))
            .ToList();

    [Test]
    public void LoggerMessages_EveryEvent_HasAnIdOfItsOwn()
    {
        var messages = LoggerMessages();
        Assert.That(messages, Has.Count.GreaterThan(100), "the reflection found the daemon's log events");
        Assert.That(messages.Where(m => m.Id <= 0).Select(m => m.Method), Is.Empty, "events without an explicit id");

        var duplicates = messages.GroupBy(m => m.Id)
            .Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Method))}")
            .ToList();

        Assert.That(duplicates, Is.Empty, "an event id names one event, so `journalctl` and log searches can rely on it");
    }
}
