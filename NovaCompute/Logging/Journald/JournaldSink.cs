using System.Collections.Concurrent;
using Serilog.Core;
using Serilog.Debugging;
using Serilog.Events;
using Serilog.Parsing;

namespace NovaCompute.Logging.Journald;

/// <summary>
/// A Serilog sink speaking journald's native protocol, with the fields oslo.log's
/// <c>OSJournalHandler</c> sends (so <c>journalctl REQUEST_ID=req-…</c> keeps working) plus the
/// event's other scalar properties.
/// <para>
/// It must never hurt the daemon: <see cref="Emit"/> only enqueues (no I/O on the caller's
/// thread), the queue is bounded, and when it is full entries are dropped and counted, then
/// reported by a periodic warning; one writer thread formats, encodes and sends. While no
/// journal listens, entries go to stderr as plain lines. Failures are reported through Serilog's
/// <see cref="SelfLog"/>, never thrown.
/// </para>
/// </summary>
internal sealed partial class JournaldSink : ILogEventSink, IDisposable
{
    /// <summary>Event id of the sink's own "entries dropped" warning.</summary>
    public const int DroppedEventId = 1490;

    private static readonly MessageTemplate DroppedTemplate = new MessageTemplateParser().Parse(
        "{DroppedCount} journal entries dropped: the journal writer fell behind (queue of {QueueCapacity} entries full)");

    private readonly JournaldSinkOptions _options;
    private readonly JournalSocket _socket;
    private readonly BlockingCollection<QueuedEvent> _queue;
    private readonly Thread _writer;
    private readonly TextWriter _fallback;
    private readonly object _idleGate = new();
    private long _accepted;
    private long _processed;
    private long _dropped;
    private long _droppedTotal;
    private long _fallbackLines;
    private long? _lastDropReport;
    private bool _journalWasUnavailable;
    private int _disposed;

    [ThreadStatic]
    private static int t_tid;

    public JournaldSink(JournaldSinkOptions options)
    {
        _options = options;
        _fallback = options.Fallback ?? Console.Error;
        _socket = new JournalSocket(options.SocketPath, options.SendBufferSize);
        _queue = new BlockingCollection<QueuedEvent>(new ConcurrentQueue<QueuedEvent>(), Math.Max(1, options.QueueCapacity));
        _writer = new Thread(WriteLoop) { IsBackground = true, Name = "journald-writer" };
        _writer.Start();
    }

    /// <summary>Entries dropped because the queue was full, since start.</summary>
    public long DroppedTotal => Interlocked.Read(ref _droppedTotal);

    /// <summary>Entries written to the fallback writer because no journal listened.</summary>
    public long FallbackLines => Interlocked.Read(ref _fallbackLines);

    /// <summary>Entries that went through the memfd route.</summary>
    public long MemfdEntries => _socket.MemfdEntries;

    public void Emit(LogEvent logEvent)
    {
        var item = new QueuedEvent(logEvent, CurrentTid(), Thread.CurrentThread.Name);
        bool added;
        try
        {
            added = _queue.TryAdd(item);
        }
        catch (InvalidOperationException)
        {
            // Disposed: the host is shutting down and logging late; nothing may throw here.
            added = false;
        }
        if (added)
        {
            Interlocked.Increment(ref _accepted);
        }
        else
        {
            Interlocked.Increment(ref _dropped);
            Interlocked.Increment(ref _droppedTotal);
        }
    }

    /// <summary>Waits until everything accepted so far has been written (tests, and shutdown).</summary>
    public bool WaitUntilIdle(TimeSpan timeout)
    {
        // A real wait on a real thread: bounded by the wall clock, whatever clock the sink reports with.
        var clock = TimeProvider.System;
        var deadline = clock.GetTimestamp() + (long)(timeout.TotalSeconds * clock.TimestampFrequency);
        lock (_idleGate)
        {
            while (Interlocked.Read(ref _processed) < Interlocked.Read(ref _accepted))
            {
                var remaining = clock.GetElapsedTime(clock.GetTimestamp(), deadline);
                if (remaining <= TimeSpan.Zero || !Monitor.Wait(_idleGate, remaining))
                {
                    return Interlocked.Read(ref _processed) >= Interlocked.Read(ref _accepted);
                }
            }
            return true;
        }
    }

    private void WriteLoop()
    {
        var builder = new EntryBuilder(_options);
        while (true)
        {
            bool taken;
            QueuedEvent item;
            try
            {
                // The timeout only lets a pending drop report go out while the daemon is quiet.
                taken = _queue.TryTake(out item, TimeSpan.FromSeconds(1));
            }
            catch (InvalidOperationException)
            {
                break;
            }
            if (!taken)
            {
                if (_queue.IsAddingCompleted)
                {
                    break;
                }
                ReportDrops(builder, force: false);
                continue;
            }
            Write(builder, item);
            ReportDrops(builder, force: false);
            lock (_idleGate)
            {
                _processed++;
                Monitor.PulseAll(_idleGate);
            }
        }
        ReportDrops(builder, force: true);
    }

    private void Write(EntryBuilder builder, in QueuedEvent item)
    {
        try
        {
            var entry = builder.Build(item);
            var result = _socket.Send(entry);
            switch (result)
            {
                case JournalSendResult.Sent or JournalSendResult.SentAsMemfd:
                    if (_journalWasUnavailable)
                    {
                        _journalWasUnavailable = false;
                        SelfLog.WriteLine("journald: the journal at {0} is reachable again", _socket.Path);
                    }
                    break;
                case JournalSendResult.Unavailable:
                    if (!_journalWasUnavailable)
                    {
                        _journalWasUnavailable = true;
                        SelfLog.WriteLine("journald: no journal listens ({0}); writing to stderr until it is back", _socket.LastError);
                    }
                    WriteFallback(builder.Message);
                    break;
                default:
                    SelfLog.WriteLine("journald: entry not written ({0}); writing it to stderr", _socket.LastError);
                    WriteFallback(builder.Message);
                    break;
            }
        }
        catch (Exception e)
        {
            // A formatter or property ToString() that throws must cost one entry, not the writer.
            SelfLog.WriteLine("journald: failed to write an entry: {0}", e);
        }
    }

    private void WriteFallback(string message)
    {
        try
        {
            _fallback.Write(message);
            _fallback.Write('\n');
            _fallback.Flush();
            Interlocked.Increment(ref _fallbackLines);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            SelfLog.WriteLine("journald: stderr fallback failed too: {0}", e.Message);
        }
    }

    private void ReportDrops(EntryBuilder builder, bool force)
    {
        if (Interlocked.Read(ref _dropped) == 0)
        {
            return;
        }
        var time = _options.TimeProvider;
        var now = time.GetTimestamp();
        if (!force && _lastDropReport is { } last && time.GetElapsedTime(last, now) < _options.DropReportInterval)
        {
            return;
        }
        _lastDropReport = now;
        var count = Interlocked.Exchange(ref _dropped, 0);
        SelfLog.WriteLine("journald: {0} entries dropped (queue full)", count);
        var warning = new LogEvent(
            time.GetLocalNow(),
            LogEventLevel.Warning,
            exception: null,
            DroppedTemplate,
            [
                new LogEventProperty("DroppedCount", new ScalarValue(count)),
                new LogEventProperty("QueueCapacity", new ScalarValue(_options.QueueCapacity)),
                new LogEventProperty("SourceContext", new ScalarValue(typeof(JournaldSink).FullName)),
                new LogEventProperty("EventId", new StructureValue(
                [
                    new LogEventProperty("Id", new ScalarValue(DroppedEventId)),
                    new LogEventProperty("Name", new ScalarValue("JournalEntriesDropped")),
                ])),
            ]);
        Write(builder, new QueuedEvent(warning, CurrentTid(), Thread.CurrentThread.Name));
    }

    private static int CurrentTid()
    {
        if (t_tid == 0)
        {
            try
            {
                t_tid = JournalNative.GetTid();
            }
            catch (EntryPointNotFoundException)
            {
                t_tid = -1;
            }
        }
        return t_tid;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _queue.CompleteAdding();
        if (_writer.Join(_options.DisposeTimeout))
        {
            _socket.Dispose();
            _queue.Dispose();
        }
        else
        {
            // The writer is stuck in a send (journald wedged); leave it and its socket to the
            // process exit rather than pull them from under it.
            SelfLog.WriteLine("journald: writer did not finish within {0}; {1} queued entries abandoned",
                _options.DisposeTimeout, _queue.Count);
        }
    }

    /// <summary>An event with what only the logging thread knows.</summary>
    internal readonly record struct QueuedEvent(LogEvent Event, int Tid, string? ThreadName);
}
