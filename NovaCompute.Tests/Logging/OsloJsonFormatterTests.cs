using System.Diagnostics;
using System.Text.Json;
using NovaCompute.Logging;
using NovaCompute.Tests.Support;
using Serilog.Events;

namespace NovaCompute.Tests.Logging;

public class OsloJsonFormatterTests
{
    private static readonly LoggingEnvironment Environment = new()
    {
        ProcessId = 17908,
        TimeZone = LogEvents.Zone,
        HostName = "compute-01",
        StartTime = LogEvents.Instant.AddSeconds(-1),
    };

    private static JsonElement Format(LogEvent logEvent)
    {
        var output = new StringWriter();
        new OsloJsonFormatter(new LoggingSettings(), Environment).Format(logEvent, output);
        var text = output.ToString();
        Assert.That(text, Does.EndWith("\n"));
        Assert.That(text.TrimEnd('\n'), Does.Not.Contain("\n"), "one record, one line");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    [Test]
    public void Format_Event_HasOslosFieldsAndValues()
    {
        var json = Format(LogEvents.Make(LogEventLevel.Warning, "Heartbeat to {Host} late", [("Host", "h1"), ("RequestId", "req-1"), ("UserId", "u1"), ("InstanceUuid", "i-1")],
            sourceContext: "NovaCompute.ServiceGroup.HeartbeatWriter", eventId: (2102, "HeartbeatLate")));
        Assert.Multiple(() =>
        {
            Assert.That(json.GetProperty("message").GetString(), Is.EqualTo("Heartbeat to h1 late"));
            Assert.That(json.GetProperty("msg").GetString(), Is.EqualTo("Heartbeat to {Host} late"));
            Assert.That(json.GetProperty("args").GetProperty("Host").GetString(), Is.EqualTo("h1"));
            Assert.That(json.GetProperty("asctime").GetString(), Is.EqualTo("2024-05-14 09:12:44"));
            Assert.That(json.GetProperty("name").GetString(), Is.EqualTo("nova.servicegroup.heartbeat_writer"));
            Assert.That(json.GetProperty("levelname").GetString(), Is.EqualTo("WARNING"));
            Assert.That(json.GetProperty("levelno").GetInt32(), Is.EqualTo(30));
            Assert.That(json.GetProperty("funcname").GetString(), Is.EqualTo("HeartbeatLate"));
            Assert.That(json.GetProperty("lineno").GetInt32(), Is.EqualTo(2102));
            Assert.That(json.GetProperty("created").GetDouble(), Is.EqualTo(1715670764.106).Within(0.0005));
            Assert.That(json.GetProperty("msecs").GetDouble(), Is.EqualTo(106.0).Within(0.001));
            Assert.That(json.GetProperty("relative_created").GetDouble(), Is.EqualTo(1000.0).Within(0.001));
            Assert.That(json.GetProperty("process").GetInt32(), Is.EqualTo(17908));
            Assert.That(json.GetProperty("hostname").GetString(), Is.EqualTo("compute-01"));
            Assert.That(json.GetProperty("traceback").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(json.GetProperty("error_summary").GetString(), Is.Empty);
            Assert.That(json.GetProperty("context").GetProperty("request_id").GetString(), Is.EqualTo("req-1"));
            Assert.That(json.GetProperty("context").GetProperty("user").GetString(), Is.EqualTo("u1"));
            Assert.That(json.GetProperty("extra").GetProperty("instance_uuid").GetString(), Is.EqualTo("i-1"));
            Assert.That(json.GetProperty("extra").GetProperty("host").GetString(), Is.EqualTo("h1"));
        });
    }

    [Test]
    public void Format_Exception_TracebackAsLinesAndErrorSummary()
    {
        var exception = LogEvents.Thrown(new InvalidOperationException("bad\nthings"));
        var json = Format(LogEvents.Make(LogEventLevel.Error, "failed", exception: exception));
        var traceback = json.GetProperty("traceback").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.That(traceback[0], Is.EqualTo("System.InvalidOperationException: bad"));
        Assert.That(traceback, Has.Some.StartsWith("   at "));
        Assert.That(json.GetProperty("error_summary").GetString(), Is.EqualTo("System.InvalidOperationException: bad"));
    }

    [Test]
    public void Format_NoRequestContext_ContextIsEmptyObject()
    {
        var json = Format(LogEvents.Make(LogEventLevel.Information, "x"));
        Assert.That(json.GetProperty("context").EnumerateObject(), Is.Empty);
    }

    [Test]
    public void Format_SecretInMessage_IsMasked()
    {
        var output = new StringWriter();
        new OsloJsonFormatter(new LoggingSettings(), Environment).Format(
            LogEvents.Make(LogEventLevel.Information, "{Url}", [("Url", "rabbit://nova:s3cret@h/")]), output);
        Assert.That(output.ToString(), Does.Not.Contain("s3cret").And.Contain("rabbit://nova:****@h/"));
    }

    [Test]
    public void Format_TopLevelKeys_AreExactlyOslosJsonFormatterKeys()
    {
        const string script = """
            import json, logging
            from oslo_log import formatters
            record = logging.LogRecord('nova.service', logging.INFO, '/x.py', 1, 'hello %s', ('w',), None)
            print(json.dumps(sorted(json.loads(formatters.JSONFormatter().format(record)).keys())))
            """;
        var start = new ProcessStartInfo(TestServices.SystemPython, ["-c", script]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            TestServices.Unavailable("oslo_log is not importable here: " + process.StandardError.ReadToEnd());
        }
        var osloKeys = JsonSerializer.Deserialize<List<string>>(output)!;

        var ours = Format(LogEvents.Make(LogEventLevel.Information, "hello {W}", [("W", "w")])).EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal);
        Assert.That(ours, Is.EqualTo(osloKeys));
    }
}
