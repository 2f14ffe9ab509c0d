using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace NovaCompute.Tests.Support;

/// <summary>One captured log call, with its named properties and the scope properties active when it was made.</summary>
internal sealed record LogEntry(
    string Category,
    LogLevel Level,
    EventId EventId,
    string Message,
    Exception? Exception,
    IReadOnlyDictionary<string, object?> Properties,
    IReadOnlyDictionary<string, object?> Scope);

/// <summary>
/// The tests' one log collector (Serilog's tests keep a <c>CollectingSink</c>): an
/// <see cref="ILoggerProvider"/> that keeps every entry with its properties and the scopes active
/// at the time (as Serilog would see them), so tests assert on named events. Thread-safe.
/// </summary>
/// <remarks>
/// It keeps its own scope stack instead of taking a factory's (no <see cref="ISupportExternalScope"/>):
/// a test may create loggers from several factories over one collector, and each factory would
/// otherwise replace the stack the others push to.
/// </remarks>
internal sealed class LogCollector : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();
    private readonly LoggerExternalScopeProvider _scopes = new();
    private readonly Lazy<ILoggerFactory> _factory;

    public LogCollector()
    {
        _factory = new Lazy<ILoggerFactory>(() => CreateFactory());
    }

    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    /// <summary>The messages logged, oldest first, at one level or at all.</summary>
    public IEnumerable<string> Messages(LogLevel? level = null) =>
        Entries.Where(e => level is null || e.Level == level).Select(e => e.Message);

    /// <summary>A factory whose loggers write here (and nowhere else), from <paramref name="minimum"/> up.</summary>
    public ILoggerFactory CreateFactory(LogLevel minimum = LogLevel.Trace) =>
        LoggerFactory.Create(b => b.SetMinimumLevel(minimum).AddProvider(this));

    public ILogger CreateLogger(string categoryName) => new CollectingLogger(this, categoryName);

    /// <summary>A typed logger (category = <typeparamref name="T"/>'s full name) writing here.</summary>
    public ILogger<T> CreateLogger<T>() => _factory.Value.CreateLogger<T>();

    /// <summary>Waits until an entry matching <paramref name="predicate"/> was logged and returns the first such.</summary>
    public async Task<LogEntry> WaitForAsync(Func<LogEntry, bool> predicate, TimeSpan? timeout = null)
    {
        LogEntry? found = null;
        await Eventually.Until(() => (found = _entries.FirstOrDefault(predicate)) is not null, timeout ?? TimeSpan.FromSeconds(15),
            () => "a matching log entry; have:\n" + string.Join("\n", _entries.Select(e => $"{e.Level} {e.EventId.Id} {e.Message}")));
        return found!;
    }

    public void Dispose()
    {
    }

    private sealed class CollectingLogger(LogCollector owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var properties = new Dictionary<string, object?>();
            if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
            {
                foreach (var (key, value) in pairs)
                {
                    properties[key] = value;
                }
            }
            var scope = new Dictionary<string, object?>();
            owner._scopes.ForEachScope((s, acc) =>
            {
                if (s is IEnumerable<KeyValuePair<string, object?>> scopePairs)
                {
                    foreach (var (key, value) in scopePairs)
                    {
                        acc[key] = value;
                    }
                }
            }, scope);
            owner._entries.Enqueue(new LogEntry(category, logLevel, eventId, formatter(state, exception), exception, properties, scope));
        }
    }
}
