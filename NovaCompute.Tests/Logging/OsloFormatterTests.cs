using NovaCompute.Logging;
using NovaCompute.Tests.Support;
using Serilog.Events;

namespace NovaCompute.Tests.Logging;

public class OsloFormatterTests
{
    private const string RequestId = "req-fde9eb03-4ea8-4d74-bebb-504629746f1f";

    private static readonly LoggingEnvironment Environment = new()
    {
        ProcessId = 17908,
        TimeZone = LogEvents.Zone,
        HostName = "compute-01",
        Version = "26.2.2",
        StartTime = LogEvents.Instant.AddSeconds(-2),
    };

    private static string Format(LogEvent logEvent, LoggingSettings? settings = null)
    {
        var formatter = new OsloFormatter(settings ?? new LoggingSettings(), Environment);
        var output = new StringWriter();
        formatter.Format(logEvent, output);
        return output.ToString();
    }

    [Test]
    public void Format_EventWithRequestId_UsesContextFormatAsNovaPrintsIt()
    {
        var logEvent = LogEvents.Make(LogEventLevel.Information, "Starting compute node (version {Version})",
            [("Version", "26.2.2"), .. LogEvents.RequestContext(RequestId), ("GlobalRequestId", null)]);

        Assert.That(Format(logEvent), Is.EqualTo(
            $"2024-05-14 09:12:44.106 17908 INFO nova.service [None {RequestId} - - - - - -] Starting compute node (version 26.2.2)\n"));
    }

    [Test]
    public void Format_EventWithoutRequestId_UsesDefaultFormat()
    {
        var logEvent = LogEvents.Make(LogEventLevel.Information, "Recovered from being unable to report status.",
            sourceContext: "NovaCompute.ServiceGroup.Drivers.Db");

        Assert.That(Format(logEvent), Is.EqualTo(
            "2024-05-14 09:12:44.106 17908 INFO nova.servicegroup.drivers.db [-] Recovered from being unable to report status.\n"));
    }

    [Test]
    public void Format_EmptyRequestId_UsesDefaultFormat()
    {
        var logEvent = LogEvents.Make(LogEventLevel.Information, "x", [("RequestId", "")]);
        Assert.That(Format(logEvent), Does.Contain(" nova.service [-] x"));
    }

    [Test]
    public void Format_GlobalRequestIdAbsent_PrintsNoneAsOslo()
    {
        var logEvent = LogEvents.Make(LogEventLevel.Information, "x", LogEvents.RequestContext("req-1"));
        Assert.That(Format(logEvent), Does.Contain("[None req-1 - - - - - -] x"));
    }

    [Test]
    public void Format_FullRequestContext_FillsUserIdentity()
    {
        var logEvent = LogEvents.Make(LogEventLevel.Information, "x",
        [
            ("RequestId", "req-1"), ("GlobalRequestId", "req-g"), ("UserId", "u1"), ("ProjectId", "p1"),
            ("DomainId", "d1"), ("SystemScope", "all"), ("UserDomainId", "ud"), ("ProjectDomainId", "pd"),
        ]);
        Assert.That(Format(logEvent), Does.Contain("[req-g req-1 u1 p1 d1 all ud pd] x"));
    }

    [Test]
    public void Format_PartialUserIdentity_PrintsDashForEachMissingOrEmptyPart()
    {
        var logEvent = LogEvents.Make(LogEventLevel.Information, "x",
            [("RequestId", "req-1"), ("UserId", "u1"), ("ProjectId", ""), ("DomainId", null)]);
        Assert.That(Format(logEvent), Does.Contain("[None req-1 u1 - - - - -] x"));
    }

    [Test]
    public void Format_CustomUserIdentityFormat_ResolvesContextKeys()
    {
        var settings = new LoggingSettings { LoggingUserIdentityFormat = "%(user_name)s@%(project_name)s/%(tenant)s" };
        var logEvent = LogEvents.Make(LogEventLevel.Information, "x",
            [("RequestId", "req-1"), ("UserName", "admin"), ("ProjectId", "p1")]);
        Assert.That(Format(logEvent, settings), Does.Contain("[None req-1 admin@-/p1] x"));
    }

    [Test]
    public void Format_DebugEvent_AppendsSuffixWithWhatIsKnown()
    {
        var logEvent = LogEvents.Make(LogEventLevel.Debug, "DB_Driver: join new ServiceGroup member {Host}",
            [("Host", "compute-01")], sourceContext: "NovaCompute.ServiceGroup.HeartbeatWriter", eventId: (2101, "Joined"));

        Assert.That(Format(logEvent), Is.EqualTo(
            "2024-05-14 09:12:44.106 17908 DEBUG nova.servicegroup.heartbeat_writer [-] DB_Driver: join new ServiceGroup member compute-01"
            + " Joined NovaCompute.ServiceGroup.HeartbeatWriter:2101\n"));
    }

    [Test]
    public void Format_DebugEventWithCallerInfo_SuffixUsesIt()
    {
        var logEvent = LogEvents.Make(LogEventLevel.Debug, "x",
            [("CodeFunc", "join"), ("CodeFile", "/src/NovaCompute/ServiceGroup/Db.cs"), ("CodeLine", 44)], eventId: (1, "Ignored"));
        Assert.That(Format(logEvent), Does.EndWith("[-] x join /src/NovaCompute/ServiceGroup/Db.cs:44\n"));
    }

    [Test]
    public void Format_DebugEventWithNothingKnown_SuffixPrintsDashes()
    {
        var logEvent = LogEvents.Make(LogEventLevel.Debug, "x", sourceContext: null);
        Assert.That(Format(logEvent), Does.EndWith(" DEBUG root [-] x - -:-\n"));
    }

    [Test]
    public void Format_EmptyDebugSuffix_AddsNothing()
    {
        var logEvent = LogEvents.Make(LogEventLevel.Debug, "x");
        Assert.That(Format(logEvent, new LoggingSettings { LoggingDebugFormatSuffix = "" }), Does.EndWith("[-] x\n"));
    }

    [Test]
    public void Format_InfoEvent_HasNoDebugSuffix()
    {
        Assert.That(Format(LogEvents.Make(LogEventLevel.Information, "x", eventId: (1, "Name"))), Does.EndWith("[-] x\n"));
    }

    [Test]
    public void Format_WarningWithException_AppendsSummaryAndPrefixedTraceback()
    {
        var exception = LogEvents.Thrown(new TimeoutException("Timed out waiting for a reply to message ID 1ffeefd9\nsecond line"));
        var logEvent = LogEvents.Make(LogEventLevel.Warning, "Lost connection to nova-conductor for reporting service status.",
            exception: exception, sourceContext: "NovaCompute.ServiceGroup.Drivers.Db");

        var lines = Format(logEvent).Split('\n');

        const string prefix = "2024-05-14 09:12:44.106 17908 ERROR nova.servicegroup.drivers.db ";
        Assert.Multiple(() =>
        {
            Assert.That(lines[0], Is.EqualTo(
                "2024-05-14 09:12:44.106 17908 WARNING nova.servicegroup.drivers.db [-] Lost connection to nova-conductor for reporting service status."
                + ": System.TimeoutException: Timed out waiting for a reply to message ID 1ffeefd9"));
            var traceback = exception.ToString().Split('\n');
            Assert.That(lines.Skip(1).Take(traceback.Length), Is.EqualTo(traceback.Select(l => prefix + l.TrimEnd('\r'))));
            Assert.That(lines[1], Is.EqualTo(prefix + "System.TimeoutException: Timed out waiting for a reply to message ID 1ffeefd9"));
            Assert.That(lines.Skip(1).Any(l => l.StartsWith(prefix + "   at ", StringComparison.Ordinal)), Is.True, "stack frames are prefixed too");
            // oslo's trailing prefix-only line is not reproduced: the record ends with the last frame.
            Assert.That(lines[^1], Is.Empty);
            Assert.That(lines[^2], Is.Not.EqualTo(prefix));
        });
    }

    [Test]
    public void Format_InfoWithException_HasTracebackButNoSummary()
    {
        var logEvent = LogEvents.Make(LogEventLevel.Information, "x", exception: new InvalidOperationException("boom"));
        Assert.That(Format(logEvent), Is.EqualTo(
            "2024-05-14 09:12:44.106 17908 INFO nova.service [-] x\n"
            + "2024-05-14 09:12:44.106 17908 ERROR nova.service System.InvalidOperationException: boom\n"));
    }

    [Test]
    public void Format_DebugWithException_SuffixComesBeforeTraceback()
    {
        var logEvent = LogEvents.Make(LogEventLevel.Debug, "x", exception: new InvalidOperationException("boom"), eventId: (7, "F"));
        Assert.That(Format(logEvent), Is.EqualTo(
            "2024-05-14 09:12:44.106 17908 DEBUG nova.service [-] x F NovaCompute.Service:7\n"
            + "2024-05-14 09:12:44.106 17908 ERROR nova.service System.InvalidOperationException: boom\n"));
    }

    [Test]
    public void Format_ErrorWithExceptionWithoutMessage_SummaryIsTheTypeAlone()
    {
        var logEvent = LogEvents.Make(LogEventLevel.Error, "failed", exception: new CustomEmptyException());
        Assert.That(Format(logEvent).Split('\n')[0], Does.EndWith("[-] failed: " + typeof(CustomEmptyException).FullName));
    }

    [Test]
    public void Format_FormatWithErrorSummaryField_PlacesItThereAndDashWhenNone()
    {
        var settings = new LoggingSettings { LoggingDefaultFormatString = "%(levelname)s %(message)s (%(error_summary)s)" };
        Assert.That(Format(LogEvents.Make(LogEventLevel.Warning, "w"), settings), Is.EqualTo("WARNING w (-)\n"));
        var withException = Format(LogEvents.Make(LogEventLevel.Error, "e", exception: new InvalidOperationException("bad")), settings);
        Assert.That(withException.Split('\n')[0], Is.EqualTo("ERROR e (System.InvalidOperationException: bad)"));
    }

    [Test]
    public void Format_ExceptionPrefixWithInstance_RepeatsInstanceOnEachLine()
    {
        var logEvent = LogEvents.Make(LogEventLevel.Error, "x", [("InstanceUuid", "9f3a")], exception: new InvalidOperationException("a\nb"));
        var lines = Format(logEvent).Split('\n');
        Assert.That(lines[1], Is.EqualTo("2024-05-14 09:12:44.106 17908 ERROR nova.service [instance: 9f3a] System.InvalidOperationException: a"));
        Assert.That(lines[2], Is.EqualTo("2024-05-14 09:12:44.106 17908 ERROR nova.service [instance: 9f3a] b"));
    }

    [Test]
    public void Format_InstanceUuid_PrintsInstancePart()
    {
        var logEvent = LogEvents.Make(LogEventLevel.Information, "Terminating instance",
            [("InstanceUuid", "8f2a1c3e-0000-4000-8000-000000000001"), .. LogEvents.RequestContext("req-1")]);
        Assert.That(Format(logEvent), Does.EndWith(
            "[None req-1 - - - - - -] [instance: 8f2a1c3e-0000-4000-8000-000000000001] Terminating instance\n"));
    }

    [Test]
    public void Format_InstanceUuidAsGuid_PrintsDashedForm()
    {
        var uuid = Guid.Parse("8f2a1c3e-0000-4000-8000-000000000001");
        var logEvent = LogEvents.Make(LogEventLevel.Information, "x", [("InstanceUuid", uuid)]);
        Assert.That(Format(logEvent), Does.EndWith("[-] [instance: 8f2a1c3e-0000-4000-8000-000000000001] x\n"));
    }

    [Test]
    public void Format_InstanceProperty_UsesInstanceFormatOverUuidFormat()
    {
        var settings = new LoggingSettings { InstanceFormat = "<i %(uuid)s> ", InstanceUuidFormat = "<u %(uuid)s> " };
        var both = LogEvents.Make(LogEventLevel.Information, "x", [("Instance", "i-1"), ("InstanceUuid", "u-1")]);
        var uuidOnly = LogEvents.Make(LogEventLevel.Information, "x", [("InstanceUuid", "u-1")]);
        var resourceOnly = LogEvents.Make(LogEventLevel.Information, "x", [("ResourceUuid", "r-1")]);
        Assert.Multiple(() =>
        {
            Assert.That(Format(both, settings), Does.EndWith("[-] <i i-1> x\n"));
            Assert.That(Format(uuidOnly, settings), Does.EndWith("[-] <u u-1> x\n"));
            Assert.That(Format(resourceOnly, settings), Does.EndWith("[-] <u r-1> x\n"));
        });
    }

    [Test]
    public void Format_NoInstance_InstancePartIsEmpty()
    {
        Assert.That(Format(LogEvents.Make(LogEventLevel.Information, "x", [("InstanceUuid", "")])), Does.EndWith("[-] x\n"));
    }

    [Test]
    public void Format_DateFormatDirectives_RenderInLocalTime()
    {
        var settings = new LoggingSettings
        {
            LogDateFormat = "%a %A %b %B %d %j %y %Y %H %I %p %M %S %z %Z %%",
            LoggingDefaultFormatString = "%(asctime)s|%(message)s",
        };
        // 2024-05-14 07:12:44 UTC = Tuesday 09:12:44 at UTC+2; day 135 of a leap year.
        Assert.That(Format(LogEvents.Make(LogEventLevel.Information, "m"), settings),
            Is.EqualTo("Tue Tuesday May May 14 135 24 2024 09 09 AM 12 44 +0200 TST %|m\n"));
    }

    [Test]
    public void Format_AfternoonTime_TwelveHourClockAndPm()
    {
        var settings = new LoggingSettings { LogDateFormat = "%I:%M %p", LoggingDefaultFormatString = "%(asctime)s" };
        var at = new DateTimeOffset(2024, 12, 31, 10, 5, 0, TimeSpan.Zero);
        Assert.That(Format(LogEvents.Make(LogEventLevel.Information, "m", at: at), settings), Is.EqualTo("12:05 PM\n"));
    }

    [Test]
    public void Format_PercentLiteralAndConversions_FollowPythonRules()
    {
        var settings = new LoggingSettings
        {
            LoggingDefaultFormatString = "100%% [%(levelname)-8s] [%(levelname)8s] %(process)08d %(msecs)03d %(levelno)d %(name).4s %(created).3f %(relativeCreated)d",
        };
        Assert.That(Format(LogEvents.Make(LogEventLevel.Warning, "m"), settings),
            Is.EqualTo("100% [WARNING ] [ WARNING] 00017908 106 30 nova 1715670764.106 2000\n"));
    }

    [Test]
    public void Format_MillisecondsBelowHundred_AreZeroPadded()
    {
        var at = new DateTimeOffset(2024, 5, 14, 7, 12, 44, 7, TimeSpan.Zero);
        Assert.That(Format(LogEvents.Make(LogEventLevel.Information, "m", at: at)), Does.StartWith("2024-05-14 09:12:44.007 17908 "));
    }

    [Test]
    public void Format_MessageTemplate_InsertsValuesUnquotedAndPythonStyle()
    {
        var logEvent = LogEvents.Make(LogEventLevel.Information, "{Name} {Count} {Ratio} {Flag} {Missing} {Nothing} {List}",
            [("Name", "compute-01"), ("Count", 3), ("Ratio", 0.5), ("Flag", true), ("Nothing", null),
             ("List", new SequenceValue([new ScalarValue("a"), new ScalarValue(2)]))]);
        Assert.That(Format(logEvent), Does.EndWith("[-] compute-01 3 0.5 True {Missing} None a, 2\n"));
    }

    [Test]
    public void Format_MessageTemplateWithFormatAndAlignment_Applied()
    {
        var logEvent = LogEvents.Make(LogEventLevel.Information, "[{Value:0.00}] [{Name,6}] [{Name,-6}]", [("Value", 1.5), ("Name", "ab")]);
        Assert.That(Format(logEvent), Does.EndWith("[-] [1.50] [    ab] [ab    ]\n"));
    }

    [Test]
    public void Format_ArbitraryPropertyKey_ResolvedFromSnakeCase()
    {
        var settings = new LoggingSettings { LoggingDefaultFormatString = "%(host_name)s|%(retry_count)03d|%(absent)s|%(hostname)s|%(version)s|%(project)s" };
        var logEvent = LogEvents.Make(LogEventLevel.Information, "m", [("HostName", "h1"), ("RetryCount", 7)]);
        Assert.That(Format(logEvent, settings), Is.EqualTo("h1|007||compute-01|26.2.2|nova\n"));
    }

    [Test]
    public void Format_ThreadFields_UseRecordedThreadWhenPresent()
    {
        var settings = new LoggingSettings { LoggingDefaultFormatString = "%(thread)d %(threadName)s %(processName)s" };
        var logEvent = LogEvents.Make(LogEventLevel.Information, "m", [("ThreadId", 42), ("ThreadName", "heartbeat")]);
        Assert.That(Format(logEvent, settings), Is.EqualTo("42 heartbeat MainProcess\n"));
        Assert.That(new OsloFormatter(settings, Environment).UsesThreadFields, Is.True);
        Assert.That(new OsloFormatter(new LoggingSettings(), Environment).UsesThreadFields, Is.False);
    }

    [Test]
    public void Format_IsoTime_HasMicrosecondsAndOffset()
    {
        var settings = new LoggingSettings { LoggingDefaultFormatString = "%(isotime)s" };
        Assert.That(Format(LogEvents.Make(LogEventLevel.Information, "m"), settings), Is.EqualTo("2024-05-14T09:12:44.106000+02:00\n"));
    }

    [Test]
    public void Format_LevelNames_ArePythonSpellings()
    {
        var settings = new LoggingSettings { LoggingDefaultFormatString = "%(levelname)s", LoggingDebugFormatSuffix = null };
        var names = new[] { LogEventLevel.Verbose, LogEventLevel.Debug, LogEventLevel.Information, LogEventLevel.Warning, LogEventLevel.Error, LogEventLevel.Fatal }
            .Select(level => Format(LogEvents.Make(level, "m"), settings).TrimEnd('\n'));
        Assert.That(names, Is.EqualTo(new[] { "TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL" }));
    }

    [Test]
    public void Format_MessageWithTransportUrl_IsMasked()
    {
        var logEvent = LogEvents.Make(LogEventLevel.Information, "Connecting to {Url}", [("Url", "rabbit://nova:s3cret@broker:5672/")]);
        var line = Format(logEvent);
        Assert.That(line, Does.Contain("Connecting to rabbit://nova:****@broker:5672/"));
        Assert.That(line, Does.Not.Contain("s3cret"));
    }

    [Test]
    public void Format_ExceptionTextWithPassword_IsMasked()
    {
        var logEvent = LogEvents.Make(LogEventLevel.Error, "db failed",
            exception: new InvalidOperationException("connect failed: Host=db;Password=hunter2;Username=nova"));
        var text = Format(logEvent);
        Assert.That(text, Does.Not.Contain("hunter2"));
        Assert.That(text, Does.Contain("Password=***;Username=nova"));
    }

    [Test]
    public void Format_InvalidFormatString_ThrowsWithTheFormat()
    {
        var settings = new LoggingSettings { LoggingContextFormatString = "%(asctime)s %s" };
        var e = Assert.Throws<FormatException>(() => _ = new OsloFormatter(settings, Environment));
        Assert.That(e!.Message, Does.Contain("%(asctime)s %s"));
    }

    [Test]
    public void Format_ManyThreadsAtOnce_LinesStayIntact()
    {
        var formatter = new OsloFormatter(new LoggingSettings(), Environment);
        var failures = 0;
        Parallel.For(0, 2000, i =>
        {
            var output = new StringWriter();
            formatter.Format(LogEvents.Make(LogEventLevel.Information, "event {N}", [("N", i)]), output);
            if (output.ToString() != $"2024-05-14 09:12:44.106 17908 INFO nova.service [-] event {i}\n")
            {
                Interlocked.Increment(ref failures);
            }
        });
        Assert.That(failures, Is.Zero);
    }

    [Test]
    public void Format_TypicalEvent_AllocatesNothingBeyondTheOutput()
    {
        var formatter = new OsloFormatter(new LoggingSettings(), Environment);
        var logEvent = LogEvents.Make(LogEventLevel.Information, "Reported state of {Host} after {Attempts} attempts ({Elapsed} s)",
            [("Host", "compute-01"), ("Attempts", 3), ("Elapsed", 0.25), .. LogEvents.RequestContext("req-1"), ("UserId", "u1"),
             ("InstanceUuid", Guid.Parse("8f2a1c3e-0000-4000-8000-000000000001"))],
            sourceContext: "NovaCompute.ServiceGroup.HeartbeatWriter", eventId: (2103, "Reported"));
        var output = new CharBufferWriter(4096);
        for (var i = 0; i < 10; i++)
        {
            output.Clear();
            formatter.Format(logEvent, output);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            output.Clear();
            formatter.Format(logEvent, output);
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That(output.ToString(), Does.Contain("[None req-1 u1 - - - - -] [instance: 8f2a1c3e-0000-4000-8000-000000000001] Reported state of compute-01 after 3 attempts (0.25 s)"));
        Assert.That(allocated, Is.LessThan(1000), "bytes allocated by 1000 formatted events");
    }

    private const string Forged = "nul\n2026-12-01 00:00:00.000 1 CRITICAL nova.forged [-] FORGED";

    [Test]
    public void Format_MessageBodyWithNewlineAndControls_StaysOneLineWithControlsEscaped()
    {
        var logEvent = LogEvents.Make(LogEventLevel.Warning, "Could not decode message body {Body}",
            [("Body", Forged + "\0\u001b[31m\r\t\u007f\u009b")]);

        var line = Format(logEvent);

        Assert.That(line, Is.EqualTo("2024-05-14 09:12:44.106 17908 WARNING nova.service [-] Could not decode message body "
            + "nul\\n2026-12-01 00:00:00.000 1 CRITICAL nova.forged [-] FORGED\\x00\\x1b[31m\\r\\t\\x7f\\x9b\n"));
    }

    [Test]
    public void Format_ForgedRequestIdAndSequenceValue_CannotStartALine()
    {
        var logEvent = LogEvents.Make(LogEventLevel.Information, "Ids {Ids}",
            [("Ids", new SequenceValue([new ScalarValue("a\nCRITICAL"), new ScalarValue(1)])), .. LogEvents.RequestContext("req-1\n" + Forged)]);

        var text = Format(logEvent);

        Assert.That(text.TrimEnd('\n'), Does.Not.Contain('\n'), text);
        Assert.That(text, Does.Contain("[None req-1\\nnul\\n2026-12-01"));
        Assert.That(text, Does.EndWith("Ids a\\nCRITICAL, 1\n"));
    }

    [Test]
    public void Format_ExceptionMessageWithForgedLine_EveryLineCarriesThePrefixAndNoRawControls()
    {
        var logEvent = LogEvents.Make(LogEventLevel.Error, "Failed", exception: LogEvents.Thrown(new InvalidOperationException(Forged + "\0\u001b")));

        var lines = Format(logEvent).TrimEnd('\n').Split('\n');

        Assert.That(lines[0], Does.EndWith("Failed: System.InvalidOperationException: nul"));
        Assert.That(lines.Skip(1), Has.All.StartWith("2024-05-14 09:12:44.106 17908 ERROR nova.service "));
        Assert.That(string.Join("\n", lines), Does.Not.Contain('\0').And.Not.Contain('\u001b'));
        Assert.That(lines, Has.Some.EndWith("CRITICAL nova.forged [-] FORGED\\x00\\x1b"));
    }

    [Test]
    public void Format_ExceptionFromTheDaemon_NamesNoBuildMachineSourcePath()
    {
        var thrown = Assert.Throws<NovaCompute.Messaging.InvalidTransportUrlException>(() => NovaCompute.Messaging.TransportUrl.Parse("no-scheme"))!;
        var logEvent = LogEvents.Make(LogEventLevel.Error, "Failed", exception: thrown);

        var text = Format(logEvent);

        Assert.That(text, Does.Contain("NovaCompute.Messaging.TransportUrl.Parse"), "the stack is still there");
        Assert.That(text, Does.Contain(" in /_/NovaCompute/Messaging/TransportUrl.cs:line "));
        Assert.That(text, Does.Not.Contain(Path.Combine(TestServices.RepositoryRoot, "NovaCompute") + "/"), "(the test's own frames may keep theirs)");
    }

    private sealed class CustomEmptyException : Exception
    {
        public override string Message => "";
    }
}
