using System.Globalization;
using System.Text;

namespace NovaCompute.Config;

/// <summary>Human-readable renderings of a configuration: problems, check-config's table, oslo's option dump.</summary>
public static class ConfigReport
{
    /// <summary>
    /// At most this many problems are printed or logged one by one: a large garbage file has one per
    /// line, and a hundred thousand lines of errors would bury the first, which matters most.
    /// </summary>
    public const int MaxListedProblems = 20;

    /// <summary>The first errors, one per line (control characters escaped), then how many more and a summary; to stderr.</summary>
    public static void WriteErrors(TextWriter writer, ConfigLoadResult result) => WriteErrors(writer, result.Errors);

    /// <inheritdoc cref="WriteErrors(TextWriter, ConfigLoadResult)"/>
    public static void WriteErrors(TextWriter writer, IReadOnlyList<ConfigProblem> errors)
    {
        foreach (var line in Capped(errors))
        {
            writer.WriteLine("nova-compute: configuration error: " + line);
        }
        writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"nova-compute: {errors.Count} configuration error(s); nothing was started"));
    }

    /// <summary>
    /// The first <see cref="MaxListedProblems"/> problems as text with control characters escaped
    /// (a file's bytes are echoed, and must not drive the terminal), then "and N more" if any.
    /// </summary>
    public static IEnumerable<string> Capped(IReadOnlyList<ConfigProblem> problems)
    {
        foreach (var problem in problems.Take(MaxListedProblems))
        {
            yield return Logging.LogText.Escape(problem.ToString());
        }
        if (problems.Count > MaxListedProblems)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"... and {problems.Count - MaxListedProblems} more");
        }
    }

    /// <summary>check-config: every option's effective value and where it came from, by group.</summary>
    public static string EffectiveValues(NovaConfig config)
    {
        var sb = new StringBuilder();
        sb.Append("Configuration files: ").Append(config.Files.Count == 0 ? "(none)" : string.Join(", ", config.Files)).Append('\n');
        foreach (var group in config.All.GroupBy(v => v.Opt.Group).OrderBy(g => g.Key == ConfigGroups.Default ? "" : g.Key, StringComparer.Ordinal))
        {
            sb.Append('\n').Append('[').Append(group.Key).Append("]\n");
            foreach (var value in group.OrderBy(v => v.Opt.Name, StringComparer.Ordinal))
            {
                sb.Append(value.Opt.Name.PadRight(40)).Append(" = ").Append(OneLine(value.Display).PadRight(30))
                  .Append("  (").Append(value.Source).Append(")\n");
            }
        }
        return sb.ToString();
    }

    /// <summary>oslo's <c>log_opt_values</c> block, line by line (the launcher logs each at DEBUG).</summary>
    public static IEnumerable<string> OptionDump(NovaConfig config)
    {
        var stars = new string('*', 80);
        yield return stars;
        yield return "Configuration options gathered from:";
        yield return "command line args: [" + string.Join(", ", config.Arguments.CommandLine.Select(a => $"'{a}'")) + "]";
        yield return "config files: [" + string.Join(", ", config.Files.Select(f => $"'{f}'")) + "]";
        yield return new string('=', 80);
        foreach (var group in config.All.GroupBy(v => v.Opt.Group).OrderBy(g => g.Key == ConfigGroups.Default ? "" : g.Key, StringComparer.Ordinal))
        {
            foreach (var value in group.OrderBy(v => v.Opt.Name, StringComparer.Ordinal))
            {
                var name = group.Key == ConfigGroups.Default ? value.Opt.Name : value.Opt.Key;
                yield return $"{name.PadRight(30)} = {OneLine(value.Display)}";
            }
        }
        yield return stars;
    }

    private static string OneLine(string text) => text.Replace("\n", "\\n", StringComparison.Ordinal);
}
