using Microsoft.Extensions.Logging;

namespace NovaCompute.Config;

/// <summary>The current configuration, replaced in place when a reload applies mutable changes.</summary>
public interface IConfigMonitor
{
    NovaConfig Current { get; }

    /// <summary>Raised after a reload changed at least one mutable option; receives the changed options.</summary>
    event Action<NovaConfig, IReadOnlyList<Opt>>? Changed;
}

/// <summary>
/// oslo's restart method <c>mutate</c>: re-read every source with the original arguments, apply
/// the mutable options that changed (logging each), warn about and ignore immutable changes.
/// Unlike oslo, a file that no longer parses leaves the daemon running on its old values.
/// </summary>
public sealed partial class ConfigMonitor(NovaConfig initial, Func<ConfigArguments, ConfigLoadResult> load, ILogger<ConfigMonitor> logger) : IConfigMonitor
{
    private readonly object _gate = new();
    private NovaConfig _current = initial;

    public NovaConfig Current => Volatile.Read(ref _current);

    public event Action<NovaConfig, IReadOnlyList<Opt>>? Changed;

    /// <summary>Re-reads the configuration. Returns false, keeping the old values, when it is invalid.</summary>
    public bool Reload()
    {
        NovaConfig next;
        List<Opt> changed;
        lock (_gate)
        {
            var old = _current;
            var result = load(old.Arguments);
            foreach (var warning in result.Warnings)
            {
                Log.ConfigWarning(logger, warning.ToString());
            }
            if (!result.Succeeded)
            {
                Log.ReloadRejected(logger, result.Errors.Count, string.Join("; ", ConfigReport.Capped(result.Errors)));
                return false;
            }
            var fresh = result.Config!;
            changed = [];
            var keep = new List<OptValue>();
            foreach (var newValue in fresh.All)
            {
                var oldValue = old.Describe(newValue.Opt);
                if (SameValue(oldValue, newValue))
                {
                    continue;
                }
                if (newValue.Opt.Mutable)
                {
                    changed.Add(newValue.Opt);
                    Log.OptionChanged(logger, GroupName(newValue.Opt), newValue.Opt.Name, Shown(oldValue), Shown(newValue));
                }
                else
                {
                    Log.ImmutableIgnored(logger, GroupName(newValue.Opt), newValue.Opt.Name);
                    keep.Add(oldValue);
                }
            }
            next = fresh.With(keep);
            Volatile.Write(ref _current, next);
        }
        if (changed.Count > 0)
        {
            Changed?.Invoke(next, changed);
        }
        return true;
    }

    private static bool SameValue(OptValue a, OptValue b) =>
        a.Opt.FormatObject(a.Value) == b.Opt.FormatObject(b.Value);

    private static string Shown(OptValue value) => value.Opt.Secret ? "****" : value.Raw ?? value.Opt.FormatObject(value.Value);

    private static string GroupName(Opt opt) => opt.Group;

    private static partial class Log
    {
        [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Option {Group}.{Option} changed from [{OldValue}] to [{NewValue}]")]
        public static partial void OptionChanged(ILogger logger, string group, string option, string oldValue, string newValue);

        [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "Ignoring change to immutable option {Group}.{Option}")]
        public static partial void ImmutableIgnored(ILogger logger, string group, string option);

        [LoggerMessage(EventId = 1103, Level = LogLevel.Error, Message = "Configuration reload rejected, keeping the running configuration; {ProblemCount} problem(s): {Problems}")]
        public static partial void ReloadRejected(ILogger logger, int problemCount, string problems);

        [LoggerMessage(EventId = 1104, Level = LogLevel.Warning, Message = "{Problem}")]
        public static partial void ConfigWarning(ILogger logger, string problem);
    }
}
