using System.Collections.Concurrent;
using System.Globalization;
using Serilog.Core;
using Serilog.Events;

namespace NovaCompute.Logging;

/// <summary>
/// Python logging's level model on a Serilog pipeline: a root level (INFO, or DEBUG with
/// <c>debug = true</c>, changeable at run time for SIGHUP) and <c>default_log_levels</c> pairs that
/// set a level for a logger name and everything below it (<c>amqp=WARN</c> covers
/// <c>amqp.channel</c>); the longest matching prefix wins, and it wins over the root level in
/// both directions, as in Python. Names are the mapped nova-style names (<see cref="LoggerNames"/>).
/// <para>
/// Serilog's own minimum (<see cref="MinimumLevelSwitch"/>) is kept at the lowest level any
/// logger may use, so with the defaults a disabled DEBUG call costs one comparison and never
/// builds an event; this filter then settles the per-logger question.
/// </para>
/// </summary>
internal sealed class LogLevelController : ILogEventFilter
{
    private readonly (string Prefix, LogEventLevel Level)[] _overrides;
    private readonly ConcurrentDictionary<string, int> _overrideByContext = new(StringComparer.Ordinal);
    private volatile int _root;

    public LogLevelController(bool debug, IReadOnlyList<(string Prefix, LogEventLevel Level)> overrides)
    {
        // Longest prefix first, so the first match is the most specific one.
        _overrides = [.. overrides.OrderByDescending(o => o.Prefix.Length)];
        MinimumLevelSwitch = new LoggingLevelSwitch();
        Debug = debug;
    }

    /// <summary>Serilog's global gate: the lowest level any logger can currently emit.</summary>
    public LoggingLevelSwitch MinimumLevelSwitch { get; }

    /// <summary>The <c>debug</c> option: DEBUG instead of INFO on the root logger.</summary>
    public bool Debug
    {
        get => RootLevel == LogEventLevel.Debug;
        set => RootLevel = value ? LogEventLevel.Debug : LogEventLevel.Information;
    }

    public LogEventLevel RootLevel
    {
        get => (LogEventLevel)_root;
        set
        {
            _root = (int)value;
            var minimum = value;
            foreach (var (_, level) in _overrides)
            {
                if (level < minimum)
                {
                    minimum = level;
                }
            }
            MinimumLevelSwitch.MinimumLevel = minimum;
        }
    }

    public bool IsEnabled(LogEvent logEvent)
    {
        var context = logEvent.Properties.TryGetValue("SourceContext", out var value) && value is ScalarValue { Value: string s } ? s : null;
        return logEvent.Level >= LevelFor(context);
    }

    /// <summary>The effective level of the logger a .NET category maps to.</summary>
    public LogEventLevel LevelFor(string? sourceContext)
    {
        var index = sourceContext is null ? -1 : _overrideByContext.GetOrAdd(sourceContext, FindOverride);
        return index < 0 ? RootLevel : _overrides[index].Level;
    }

    private int FindOverride(string sourceContext)
    {
        var name = LoggerNames.FromCategory(sourceContext);
        for (var i = 0; i < _overrides.Length; i++)
        {
            var prefix = _overrides[i].Prefix;
            if (name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)
                && (name.Length == prefix.Length || name[prefix.Length] == '.'))
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>
    /// Parses <c>default_log_levels</c> (<c>logger=LEVEL</c>; levels as Python names them, or
    /// numbers). Every bad pair is reported, not only the first.
    /// </summary>
    public static IReadOnlyList<(string Prefix, LogEventLevel Level)> ParsePairs(IEnumerable<string> pairs, List<string> problems)
    {
        var result = new List<(string, LogEventLevel)>();
        foreach (var raw in pairs)
        {
            var pair = raw.Trim();
            if (pair.Length == 0)
            {
                continue;
            }
            var equals = pair.IndexOf('=');
            var name = equals < 0 ? "" : pair[..equals].Trim();
            var levelName = equals < 0 ? "" : pair[(equals + 1)..].Trim();
            if (name.Length == 0 || !TryParseLevel(levelName, out var level))
            {
                problems.Add($"default_log_levels: '{pair}' is not a logger=LEVEL pair with a level of CRITICAL, ERROR, WARNING, INFO, DEBUG, TRACE or a number");
                continue;
            }
            result.Add((name, level));
        }
        return result;
    }

    /// <summary>A Python level name (<c>WARN</c>, <c>warning</c>, <c>CRITICAL</c>…) or number.</summary>
    public static bool TryParseLevel(string text, out LogEventLevel level)
    {
        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number))
        {
            level = number switch
            {
                >= 50 => LogEventLevel.Fatal,
                >= 40 => LogEventLevel.Error,
                >= 30 => LogEventLevel.Warning,
                >= 20 => LogEventLevel.Information,
                >= 10 => LogEventLevel.Debug,
                _ => LogEventLevel.Verbose,
            };
            return true;
        }
        switch (text.ToUpperInvariant())
        {
            case "CRITICAL" or "FATAL":
                level = LogEventLevel.Fatal;
                return true;
            case "ERROR":
                level = LogEventLevel.Error;
                return true;
            case "WARNING" or "WARN":
                level = LogEventLevel.Warning;
                return true;
            case "INFO":
                level = LogEventLevel.Information;
                return true;
            case "DEBUG":
                level = LogEventLevel.Debug;
                return true;
            case "TRACE" or "NOTSET":
                level = LogEventLevel.Verbose;
                return true;
            default:
                level = default;
                return false;
        }
    }
}
