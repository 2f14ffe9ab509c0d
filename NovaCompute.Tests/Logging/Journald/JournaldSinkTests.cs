using System.Diagnostics;
using System.Text.Json;
using NovaCompute.Logging;
using NovaCompute.Logging.Journald;
using NovaCompute.Tests.Support;
using Serilog.Debugging;
using Serilog.Events;

namespace NovaCompute.Tests.Logging.Journald;

public class JournaldSinkTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static readonly LoggingEnvironment Environment = new()
    {
        ProcessId = 17908,
        TimeZone = LogEvents.Zone,
    };

    private string _directory = "";

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("nova-journald-").FullName;

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_directory, recursive: true);

    private static JournaldSinkOptions Options(string socketPath, TextWriter? fallback = null) => new()
    {
        SocketPath = socketPath,
        MessageFormatter = new OsloFormatter(new LoggingSettings(), Environment),
        LoggerName = LoggerNames.FromCategory,
        Redact = SecretMasker.Mask,
        Fallback = fallback ?? new StringWriter(),
    };

    [Test]
    public void Emit_EventInRequestContext_SendsOsloJournalFields()
    {
        using var receiver = new JournalReceiver(_directory);
        using var sink = new JournaldSink(Options(receiver.Path) with { SyslogFacility = 16 });

        sink.Emit(LogEvents.Make(LogEventLevel.Warning, "Heartbeat to {Host} late by {Seconds}s",
            [("Host", "compute-01"), ("Seconds", 1.5), ("RequestId", "req-1"), ("GlobalRequestId", "req-g"),
             ("UserId", "u1"), ("ProjectId", "p1"), ("UserName", "admin"), ("ProjectName", "demo"),
             ("InstanceUuid", Guid.Parse("8f2a1c3e-0000-4000-8000-000000000001"))],
            sourceContext: "NovaCompute.ServiceGroup.HeartbeatWriter", eventId: (2102, "HeartbeatLate")));

        var fields = receiver.ReceiveFields(Wait);
        Assert.Multiple(() =>
        {
            Assert.That(fields["MESSAGE"], Is.EqualTo(
                "2024-05-14 09:12:44.106 17908 WARNING nova.servicegroup.heartbeat_writer [req-g req-1 u1 p1 - - - -] "
                + "[instance: 8f2a1c3e-0000-4000-8000-000000000001] Heartbeat to compute-01 late by 1.5s"));
            Assert.That(fields["PRIORITY"], Is.EqualTo("4"));
            Assert.That(fields["SYSLOG_IDENTIFIER"], Is.EqualTo("nova-compute"));
            Assert.That(fields["SYSLOG_FACILITY"], Is.EqualTo("16"));
            Assert.That(fields["LOGGER_NAME"], Is.EqualTo("nova.servicegroup.heartbeat_writer"));
            Assert.That(fields["LOGGER_LEVEL"], Is.EqualTo("WARNING"));
            Assert.That(fields["REQUEST_ID"], Is.EqualTo("req-1"));
            Assert.That(fields["GLOBAL_REQUEST_ID"], Is.EqualTo("req-g"));
            Assert.That(fields["USER_ID"], Is.EqualTo("u1"));
            Assert.That(fields["PROJECT_ID"], Is.EqualTo("p1"));
            Assert.That(fields["USER_NAME"], Is.EqualTo("admin"));
            Assert.That(fields["PROJECT_NAME"], Is.EqualTo("demo"));
            Assert.That(fields["INSTANCE_UUID"], Is.EqualTo("8f2a1c3e-0000-4000-8000-000000000001"));
            Assert.That(fields["HOST"], Is.EqualTo("compute-01"));
            Assert.That(fields["SECONDS"], Is.EqualTo("1.5"));
            Assert.That(fields["CODE_FUNC"], Is.EqualTo("HeartbeatLate"));
            Assert.That(fields["EVENT_ID"], Is.EqualTo("2102"));
            Assert.That(int.Parse(fields["TID"], System.Globalization.CultureInfo.InvariantCulture), Is.GreaterThan(0));
            Assert.That(fields, Does.Not.ContainKey("SOURCE_CONTEXT"));
            Assert.That(fields, Does.Not.ContainKey("EXCEPTION_INFO"));
        });
    }

    [Test]
    public void Emit_DefaultFacility_IsLogUserNumberOne()
    {
        using var receiver = new JournalReceiver(_directory);
        using var sink = new JournaldSink(Options(receiver.Path));
        sink.Emit(LogEvents.Make(LogEventLevel.Information, "x"));
        Assert.That(receiver.ReceiveFields(Wait)["SYSLOG_FACILITY"], Is.EqualTo("1"));
    }

    [TestCase(LogEventLevel.Fatal, "2", "CRITICAL")]
    [TestCase(LogEventLevel.Error, "3", "ERROR")]
    [TestCase(LogEventLevel.Information, "6", "INFO")]
    [TestCase(LogEventLevel.Debug, "7", "DEBUG")]
    [TestCase(LogEventLevel.Verbose, "7", "TRACE")]
    public void Emit_Level_SetsPriorityAndLoggerLevel(LogEventLevel level, string priority, string name)
    {
        using var receiver = new JournalReceiver(_directory);
        using var sink = new JournaldSink(Options(receiver.Path));
        sink.Emit(LogEvents.Make(level, "x"));
        var fields = receiver.ReceiveFields(Wait);
        Assert.That((fields["PRIORITY"], fields["LOGGER_LEVEL"]), Is.EqualTo((priority, name)));
    }

    [Test]
    public void Emit_Exception_SendsSameMaskedTextAsExceptionInfoAndText()
    {
        using var receiver = new JournalReceiver(_directory);
        using var sink = new JournaldSink(Options(receiver.Path));
        var exception = LogEvents.Thrown(new InvalidOperationException("cannot reach rabbit://nova:s3cret@broker/"));

        sink.Emit(LogEvents.Make(LogEventLevel.Error, "Failed", exception: exception));

        var fields = receiver.ReceiveFields(Wait);
        Assert.Multiple(() =>
        {
            Assert.That(fields["EXCEPTION_INFO"], Is.EqualTo(exception.ToString().Replace("s3cret", "****", StringComparison.Ordinal)));
            Assert.That(fields["EXCEPTION_TEXT"], Is.EqualTo(fields["EXCEPTION_INFO"]));
            Assert.That(fields["MESSAGE"], Does.StartWith(
                "2024-05-14 09:12:44.106 17908 ERROR nova.service [-] Failed: System.InvalidOperationException: cannot reach rabbit://nova:****@broker/\n"
                + "2024-05-14 09:12:44.106 17908 ERROR nova.service System.InvalidOperationException"));
            Assert.That(fields.Values.Any(v => v.Contains("s3cret", StringComparison.Ordinal)), Is.False);
        });
    }

    [Test]
    public void Emit_PropertiesNamedLikeReservedFields_DoNotOverwriteThem()
    {
        using var receiver = new JournalReceiver(_directory);
        using var sink = new JournaldSink(Options(receiver.Path));

        sink.Emit(LogEvents.Make(LogEventLevel.Information, "real",
            [("Message", "fake"), ("Priority", 0), ("SyslogIdentifier", "evil"), ("_Pid", 1), ("Tid", 5)]));

        var fields = receiver.ReceiveFields(Wait);
        Assert.Multiple(() =>
        {
            Assert.That(fields["MESSAGE"], Does.EndWith("[-] real"));
            Assert.That(fields["PRIORITY"], Is.EqualTo("6"));
            Assert.That(fields["SYSLOG_IDENTIFIER"], Is.EqualTo("nova-compute"));
            Assert.That(fields["PROPERTY_MESSAGE"], Is.EqualTo("fake"));
            Assert.That(fields["PROPERTY_PRIORITY"], Is.EqualTo("0"));
            Assert.That(fields["PROPERTY_SYSLOG_IDENTIFIER"], Is.EqualTo("evil"));
            Assert.That(fields["PROPERTY_TID"], Is.EqualTo("5"));
            Assert.That(fields["PID"], Is.EqualTo("1"));
        });
    }

    [Test]
    public void Emit_EmptyNullAndStructuredProperties_AreLeftOut()
    {
        using var receiver = new JournalReceiver(_directory);
        using var sink = new JournaldSink(Options(receiver.Path));

        sink.Emit(LogEvents.Make(LogEventLevel.Information, "x",
            [("RequestId", "req-1"), ("UserId", null), ("ProjectId", ""), ("Scope", new SequenceValue([new ScalarValue("s")])),
             ("Flag", false), ("When", new DateTimeOffset(2024, 5, 14, 9, 0, 0, TimeSpan.FromHours(2)))]));

        var fields = receiver.ReceiveFields(Wait);
        Assert.Multiple(() =>
        {
            Assert.That(fields, Does.Not.ContainKey("USER_ID"));
            Assert.That(fields, Does.Not.ContainKey("PROJECT_ID"));
            Assert.That(fields, Does.Not.ContainKey("SCOPE"));
            Assert.That(fields["FLAG"], Is.EqualTo("False"));
            Assert.That(fields["WHEN"], Is.EqualTo("2024-05-14T09:00:00.0000000+02:00"));
        });
    }

    [Test]
    public void Emit_MultiLineMessage_IsOneEntryWithOneMultiLineMessage()
    {
        using var receiver = new JournalReceiver(_directory);
        using var sink = new JournaldSink(Options(receiver.Path));
        sink.Emit(LogEvents.Make(LogEventLevel.Information, "first\nsecond\nthird"));

        var received = receiver.Receive(Wait);
        Assert.That(received, Is.Not.Null);
        var fields = JournalEntry.DecodeToDictionary(received!.Entry);
        Assert.That(fields["MESSAGE"], Does.EndWith("[-] first\nsecond\nthird"));
        Assert.That(receiver.Receive(TimeSpan.FromMilliseconds(200)), Is.Null, "one event, one entry");
    }

    [Test]
    public void Emit_EntryTooLargeForADatagram_GoesThroughMemfdWhole()
    {
        using var receiver = new JournalReceiver(_directory);
        using var sink = new JournaldSink(Options(receiver.Path) with { SendBufferSize = 16 * 1024 });
        var big = new string('z', 300 * 1024);

        sink.Emit(LogEvents.Make(LogEventLevel.Information, "{Big}", [("Big", big)]));

        var received = receiver.Receive(Wait);
        Assert.That(received, Is.Not.Null);
        Assert.That(received!.ViaMemfd, Is.True);
        var fields = JournalEntry.DecodeToDictionary(received.Entry);
        Assert.That(fields["MESSAGE"], Does.EndWith("[-] " + big));
        Assert.That(sink.WaitUntilIdle(Wait), Is.True);
        Assert.That(sink.MemfdEntries, Is.EqualTo(1));
    }

    [Test]
    public void Emit_NoJournalListening_WritesLinesToFallbackAndReportsOnce()
    {
        var fallback = new StringWriter();
        var selfLog = new StringWriter();
        SelfLog.Enable(TextWriter.Synchronized(selfLog));
        try
        {
            using var sink = new JournaldSink(Options(Path.Combine(_directory, "absent.socket"), fallback));
            sink.Emit(LogEvents.Make(LogEventLevel.Information, "one"));
            sink.Emit(LogEvents.Make(LogEventLevel.Warning, "two\nlines"));
            Assert.That(sink.WaitUntilIdle(Wait), Is.True);

            Assert.That(fallback.ToString(), Is.EqualTo(
                "2024-05-14 09:12:44.106 17908 INFO nova.service [-] one\n"
                + "2024-05-14 09:12:44.106 17908 WARNING nova.service [-] two\nlines\n"));
            Assert.That(sink.FallbackLines, Is.EqualTo(2));
        }
        finally
        {
            SelfLog.Disable();
        }
        var reports = selfLog.ToString().Split('\n').Count(l => l.Contains("no journal listens", StringComparison.Ordinal));
        Assert.That(reports, Is.EqualTo(1), selfLog.ToString());
    }

    [Test]
    public void Emit_JournalComesBack_EntriesGoToItAgain()
    {
        var fallback = new StringWriter();
        var path = Path.Combine(_directory, "journal.socket");
        using var sink = new JournaldSink(Options(path, fallback));
        sink.Emit(LogEvents.Make(LogEventLevel.Information, "while down"));
        Assert.That(sink.WaitUntilIdle(Wait), Is.True);

        using var receiver = new JournalReceiver(_directory);
        sink.Emit(LogEvents.Make(LogEventLevel.Information, "after restart"));

        Assert.That(receiver.ReceiveFields(Wait)["MESSAGE"], Does.EndWith("after restart"));
        Assert.That(fallback.ToString(), Does.Contain("while down").And.Not.Contain("after restart"));
    }

    [Test]
    public async Task Emit_QueueFull_DropsWithoutBlockingAndReportsEveryDrop()
    {
        using var receiver = new JournalReceiver(_directory);
        // Nobody reads the receiver at first: after a handful of datagrams the kernel blocks the
        // writer thread in send, exactly as a stalled journald would.
        var sink = new JournaldSink(Options(receiver.Path) with { QueueCapacity = 4 });

        var watch = Stopwatch.StartNew();
        for (var i = 0; i < 500; i++)
        {
            sink.Emit(LogEvents.Make(LogEventLevel.Information, "event {N}", [("N", i)]));
        }
        watch.Stop();
        var dropped = sink.DroppedTotal;
        Assert.That(dropped, Is.GreaterThan(400), "the writer is stuck, so nearly everything must be dropped");
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "Emit never waits for the journal");

        // Disposing reports whatever was not reported yet; it needs the receiver drained to finish.
        var disposing = Task.Run(sink.Dispose);
        var events = 0;
        var warnings = new List<Dictionary<string, string>>();
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            // Until Dispose has finished and nothing more arrives: its final drop report may come
            // after a quiet half second on a loaded machine.
            var disposed = disposing.IsCompleted; // before the receive: then nothing can come after it
            if (receiver.Receive(TimeSpan.FromMilliseconds(500)) is not { } received)
            {
                if (disposed)
                {
                    break;
                }
                continue;
            }
            var fields = JournalEntry.DecodeToDictionary(received.Entry);
            if (fields.TryGetValue("EVENT_ID", out var id) && id == JournaldSink.DroppedEventId.ToString(System.Globalization.CultureInfo.InvariantCulture))
            {
                warnings.Add(fields);
            }
            else
            {
                events++;
            }
        }
        await disposing.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Multiple(() =>
        {
            Assert.That(events + dropped, Is.EqualTo(500), "every event was either written or counted as dropped");
            Assert.That(warnings, Is.Not.Empty);
            Assert.That(warnings.Sum(w => long.Parse(w["DROPPED_COUNT"], System.Globalization.CultureInfo.InvariantCulture)), Is.EqualTo(dropped),
                "the warnings account for every dropped entry");
            Assert.That(warnings.All(w => w["PRIORITY"] == "4"), Is.True);
            Assert.That(warnings[0]["MESSAGE"], Does.Match(@"WARNING nova\.logging\.journald\.journald_sink \[-\] \d+ journal entries dropped"));
        });
    }

    [Test]
    public void Emit_DropsAgainWithinInterval_NextReportWaitsForTheInterval()
    {
        using var receiver = new JournalReceiver(_directory);
        var time = new FakeTimeProvider();
        using var sink = new JournaldSink(Options(receiver.Path) with { QueueCapacity = 1, TimeProvider = time, DropReportInterval = TimeSpan.FromSeconds(30) });

        List<Dictionary<string, string>> DrainUntilIdle()
        {
            // Until the writer has taken every accepted entry (the drop report goes out before that
            // is counted) and nothing more arrives: a quiet 300 ms alone may just be a slow writer.
            var all = new List<Dictionary<string, string>>();
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < Wait)
            {
                if (receiver.Receive(TimeSpan.FromMilliseconds(300)) is { } r)
                {
                    all.Add(JournalEntry.DecodeToDictionary(r.Entry));
                }
                else if (sink.WaitUntilIdle(TimeSpan.Zero))
                {
                    break;
                }
            }
            return all;
        }
        bool IsDropReport(Dictionary<string, string> f) => f.TryGetValue("EVENT_ID", out var id) && id == "1490";

        for (var i = 0; i < 100; i++)
        {
            sink.Emit(LogEvents.Make(LogEventLevel.Information, "burst one"));
        }
        Assert.That(DrainUntilIdle().Count(IsDropReport), Is.EqualTo(1), "the first drops are reported at once");

        for (var i = 0; i < 100; i++)
        {
            sink.Emit(LogEvents.Make(LogEventLevel.Information, "burst two"));
        }
        Assert.That(DrainUntilIdle().Count(IsDropReport), Is.Zero, "within the interval the count is kept, not reported");

        time.Advance(TimeSpan.FromSeconds(30));
        sink.Emit(LogEvents.Make(LogEventLevel.Information, "wake the writer"));
        Assert.That(DrainUntilIdle().Count(IsDropReport), Is.EqualTo(1));
    }

    [Test]
    public void Dispose_WithQueuedEntries_WritesThemFirst()
    {
        using var receiver = new JournalReceiver(_directory);
        var sink = new JournaldSink(Options(receiver.Path));
        for (var i = 0; i < 5; i++)
        {
            sink.Emit(LogEvents.Make(LogEventLevel.Information, "queued {N}", [("N", i)]));
        }
        sink.Dispose();

        var messages = Enumerable.Range(0, 5).Select(_ => receiver.ReceiveFields(Wait)["N"]);
        Assert.That(messages, Is.EqualTo(new[] { "0", "1", "2", "3", "4" }));
    }

    [Test]
    public void Emit_AfterDispose_NeitherThrowsNorSends()
    {
        using var receiver = new JournalReceiver(_directory);
        var sink = new JournaldSink(Options(receiver.Path));
        sink.Dispose();
        Assert.DoesNotThrow(() => sink.Emit(LogEvents.Make(LogEventLevel.Information, "late")));
        Assert.That(sink.DroppedTotal, Is.EqualTo(1));
        Assert.That(receiver.Receive(TimeSpan.FromMilliseconds(200)), Is.Null);
    }

    [Test]
    public void Emit_FormatterThrows_CostsOneEntryNotTheWriter()
    {
        using var receiver = new JournalReceiver(_directory);
        using var sink = new JournaldSink(Options(receiver.Path) with { MessageFormatter = new ThrowOnceFormatter() });
        sink.Emit(LogEvents.Make(LogEventLevel.Information, "bad"));
        sink.Emit(LogEvents.Make(LogEventLevel.Information, "good"));
        Assert.That(receiver.ReceiveFields(Wait)["MESSAGE"], Is.EqualTo("good"));
    }

    private sealed class ThrowOnceFormatter : Serilog.Formatting.ITextFormatter
    {
        private int _calls;

        public void Format(LogEvent logEvent, TextWriter output)
        {
            if (Interlocked.Increment(ref _calls) == 1)
            {
                throw new InvalidOperationException("formatter bug");
            }
            output.Write(logEvent.MessageTemplate.Text);
        }
    }

    // ---- The real journald (systemd-journald started by ./build.sh services) ----

    [Test]
    public void RealJournal_Entry_ReadBackWithItsFields()
    {
        var socket = RequireJournal();
        var testId = Guid.NewGuid().ToString("N");
        var exception = LogEvents.Thrown(new InvalidOperationException("broken"));
        using (var sink = new JournaldSink(Options(socket)))
        {
            sink.Emit(LogEvents.Make(LogEventLevel.Error, "Real journal entry {NovaTestId}\nsecond line",
                [("NovaTestId", testId), ("RequestId", "req-" + testId)], exception: exception,
                sourceContext: "NovaCompute.ServiceGroup.HeartbeatWriter"));
        }

        var entry = ReadJournal(testId).Single();
        Assert.Multiple(() =>
        {
            Assert.That(entry["MESSAGE"], Does.StartWith(
                $"2024-05-14 09:12:44.106 17908 ERROR nova.servicegroup.heartbeat_writer [None req-{testId} - - - - - -] Real journal entry {testId}\nsecond line: System.InvalidOperationException: broken\n"));
            Assert.That(entry["PRIORITY"], Is.EqualTo("3"));
            Assert.That(entry["SYSLOG_IDENTIFIER"], Is.EqualTo("nova-compute"));
            Assert.That(entry["SYSLOG_FACILITY"], Is.EqualTo("1"));
            Assert.That(entry["LOGGER_NAME"], Is.EqualTo("nova.servicegroup.heartbeat_writer"));
            Assert.That(entry["LOGGER_LEVEL"], Is.EqualTo("ERROR"));
            Assert.That(entry["REQUEST_ID"], Is.EqualTo("req-" + testId));
            Assert.That(entry["EXCEPTION_INFO"], Is.EqualTo(exception.ToString()));
            Assert.That(entry["_PID"], Is.EqualTo(System.Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.That(entry["_TRANSPORT"], Is.EqualTo("journal"));
        });
    }

    [Test]
    public void RealJournal_300KilobyteMessage_ArrivesWholeThroughMemfd()
    {
        var socket = RequireJournal();
        var testId = Guid.NewGuid().ToString("N");
        var big = string.Concat(Enumerable.Range(0, 300 * 1024 / 16).Select(i => $"{i:D15}."));
        long memfdEntries;
        // The default send buffer (8 MiB asked, capped by net.core.wmem_max) may take 300 KB in one
        // datagram; a small one makes sure the entry really takes the memfd route.
        using (var sink = new JournaldSink(Options(socket) with { SendBufferSize = 64 * 1024 }))
        {
            sink.Emit(LogEvents.Make(LogEventLevel.Information, "{Big}", [("NovaTestId", testId), ("Big", "x")]));
            sink.Emit(LogEvents.Make(LogEventLevel.Information, "{Big}", [("NovaTestId", testId), ("Big", big)]));
            Assert.That(sink.WaitUntilIdle(Wait), Is.True);
            memfdEntries = sink.MemfdEntries;
        }

        var entries = ReadJournal(testId, expected: 2);
        Assert.That(memfdEntries, Is.EqualTo(1));
        var large = entries.Single(e => e["BIG"].Length > 1);
        Assert.That(large["MESSAGE"], Is.EqualTo("2024-05-14 09:12:44.106 17908 INFO nova.service [-] " + big));
        Assert.That(large["BIG"], Is.EqualTo(big));
    }

    private static string RequireJournal()
    {
        const string path = JournalSocket.DefaultPath;
        if (!File.Exists(path))
        {
            const string why = "systemd-journald is not running (no " + path + "; ./build.sh services starts it)";
            if (TestServices.Required)
            {
                Assert.Fail("required test service unavailable: " + why);
            }
            Assert.Ignore("test service unavailable: " + why);
        }
        return path;
    }

    /// <summary>Polls <c>journalctl</c> until the test's entries are there (journald indexes asynchronously).</summary>
    private static List<Dictionary<string, string>> ReadJournal(string testId, int expected = 1)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            var start = new ProcessStartInfo("journalctl", ["-o", "json", "--all", "--no-pager", $"NOVA_TEST_ID={testId}"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            var entries = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(line)!
                    .ToDictionary(p => p.Key, p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.ToString()))
                .ToList();
            if (entries.Count >= expected)
            {
                return entries;
            }
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"journalctl shows {entries.Count} of {expected} entries for NOVA_TEST_ID={testId}");
            }
            Thread.Sleep(100);
        }
    }
}
