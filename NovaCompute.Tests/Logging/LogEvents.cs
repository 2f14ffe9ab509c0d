using Serilog.Events;
using Serilog.Parsing;

namespace NovaCompute.Tests.Logging;

/// <summary>Builds Serilog events the way Serilog.Extensions.Logging delivers them, for formatter and sink tests.</summary>
internal static class LogEvents
{
    private static readonly MessageTemplateParser Parser = new();

    /// <summary>2024-05-14 07:12:44.106 UTC: 09:12:44.106 in <see cref="Zone"/> (the reference's observed line).</summary>
    public static readonly DateTimeOffset Instant = new(2024, 5, 14, 7, 12, 44, 106, TimeSpan.Zero);

    /// <summary>A fixed UTC+2 zone without daylight saving, abbreviated TST.</summary>
    public static readonly TimeZoneInfo Zone = TimeZoneInfo.CreateCustomTimeZone("Test/Plus2", TimeSpan.FromHours(2), "Test +2", "TST");

    public static LogEvent Make(
        LogEventLevel level,
        string template,
        IEnumerable<(string Name, object? Value)>? properties = null,
        Exception? exception = null,
        DateTimeOffset? at = null,
        string? sourceContext = "NovaCompute.Service",
        (int Id, string? Name)? eventId = null)
    {
        var list = new List<LogEventProperty>();
        foreach (var (name, value) in properties ?? [])
        {
            list.Add(new LogEventProperty(name, value as LogEventPropertyValue ?? new ScalarValue(value)));
        }
        if (sourceContext is not null)
        {
            list.Add(new LogEventProperty("SourceContext", new ScalarValue(sourceContext)));
        }
        if (eventId is { } id)
        {
            var parts = new List<LogEventProperty> { new("Id", new ScalarValue(id.Id)) };
            if (id.Name is not null)
            {
                parts.Add(new LogEventProperty("Name", new ScalarValue(id.Name)));
            }
            list.Add(new LogEventProperty("EventId", new StructureValue(parts)));
        }
        return new LogEvent(at ?? Instant, level, exception, Parser.Parse(template), list);
    }

    /// <summary>The request-context scope the RPC dispatcher sets (as in the reference's admin-context lines).</summary>
    public static (string, object?)[] RequestContext(string requestId = "req-fde9eb03-4ea8-4d74-bebb-504629746f1f") =>
        [("RequestId", requestId)];

    /// <summary>An exception with a real stack trace (thrown and caught).</summary>
    public static Exception Thrown(Exception exception)
    {
        try
        {
            throw exception;
        }
        catch (Exception caught)
        {
            return caught;
        }
    }
}
