using Serilog.Core;
using Serilog.Events;

namespace NovaCompute.Logging;

/// <summary>
/// Records the logging thread on the event, for formats that print <c>%(thread)d</c> or
/// <c>%(threadName)s</c>: the journald sink formats on its own writer thread, so "the current
/// thread" at format time would be the wrong one. Added only when a format asks for it.
/// </summary>
internal sealed class ThreadEnricher : ILogEventEnricher
{
    public const string ThreadIdProperty = "ThreadId";
    public const string ThreadNameProperty = "ThreadName";

    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        var thread = Thread.CurrentThread;
        logEvent.AddPropertyIfAbsent(new LogEventProperty(ThreadIdProperty, new ScalarValue(thread.ManagedThreadId)));
        logEvent.AddPropertyIfAbsent(new LogEventProperty(ThreadNameProperty, new ScalarValue(NameOf(thread))));
    }

    /// <summary>The thread's name, or <c>Thread-&lt;id&gt;</c> as Python names unnamed threads.</summary>
    public static string NameOf(Thread thread) => thread.Name ?? $"Thread-{thread.ManagedThreadId}";
}
