using System.Text;
using System.Text.RegularExpressions;

namespace NovaCompute.Config;

/// <summary>
/// Writes a sample configuration file in oslo-config-generator's format: <c>[DEFAULT]</c> first,
/// other groups sorted, a <c># From &lt;namespace&gt;</c> banner per library, each option's help
/// wrapped at 70 columns with its type, bounds, choices, mutability and deprecations, then the
/// commented default.
/// </summary>
public static partial class SampleGenerator
{
    private const int WrapWidth = 70;

    public static string Generate(IEnumerable<Opt> options)
    {
        var sb = new StringBuilder();
        var groups = options
            .GroupBy(o => o.Group)
            .OrderBy(g => g.Key == ConfigGroups.Default ? "" : g.Key, StringComparer.Ordinal)
            .ToList();
        for (var g = 0; g < groups.Count; g++)
        {
            if (g > 0)
            {
                sb.Append("\n\n");
            }
            sb.Append('[').Append(groups[g].Key).Append("]\n");
            foreach (var ns in groups[g].GroupBy(o => o.Namespace).OrderBy(n => n.Key, StringComparer.Ordinal))
            {
                sb.Append("\n#\n# From ").Append(ns.Key).Append("\n#\n");
                // oslo sorts by "advanced" only; the stable sort keeps declaration order otherwise.
                foreach (var opt in ns.OrderBy(o => o.Advanced))
                {
                    sb.Append('\n');
                    FormatOption(sb, opt);
                }
            }
        }
        return sb.ToString();
    }

    private static void FormatOption(StringBuilder sb, Opt opt)
    {
        var prefix = opt.DeprecatedForRemoval && !opt.Help.StartsWith("DEPRECATED", StringComparison.Ordinal) ? "DEPRECATED: " : "";
        var help = opt.Help.Length > 0 ? $"{prefix}{opt.Help} ({opt.TypeDescription})" : $"({opt.TypeDescription})";
        AppendHelp(sb, help);
        foreach (var line in opt.SampleBoundsLines())
        {
            sb.Append("# ").Append(line).Append('\n');
        }
        var choices = opt.Choices.Count > 0
            ? opt.Choices
            : opt is ListOpt { ItemChoices.Count: > 0 } list ? list.ItemChoices.Select(c => new OptChoice(c)).ToList() : [];
        if (choices.Count > 0)
        {
            sb.Append("# Possible values:\n");
            foreach (var choice in choices)
            {
                sb.Append("# ").Append(choice.Value).Append(" - ").Append(choice.Description ?? "<No description provided>").Append('\n');
            }
        }
        if (opt.Mutable)
        {
            sb.Append("# Note: This option can be changed without restarting.\n");
        }
        foreach (var alias in opt.DeprecatedNames.Where(d => d.Name is not null))
        {
            sb.Append("# Deprecated group/name - [").Append(alias.Group ?? opt.Group).Append("]/").Append(alias.Name).Append('\n');
        }
        if (opt.DeprecatedForRemoval)
        {
            sb.Append(opt.DeprecatedSince is null
                ? "# This option is deprecated for removal.\n"
                : $"# This option is deprecated for removal since {opt.DeprecatedSince}.\n");
            sb.Append("# Its value may be silently ignored in the future.\n");
            if (opt.DeprecatedReason is not null)
            {
                AppendHelp(sb, "Reason: " + opt.DeprecatedReason);
            }
        }
        if (opt.Advanced)
        {
            sb.Append("# Advanced Option: intended for advanced users and not used\n")
              .Append("# by the majority of users, and might have a significant\n")
              .Append("# effect on stability and/or performance.\n");
        }
        if (opt.SampleDefault is not null)
        {
            sb.Append("#\n# This option has a sample default set, which means that\n")
              .Append("# its actual default value may vary from the one documented\n")
              .Append("# below.\n");
        }
        foreach (var value in DefaultLines(opt))
        {
            sb.Append('#').Append(opt.Name).Append(" =").Append(value.Length > 0 ? " " + value : "").Append('\n');
        }
    }

    private static IEnumerable<string> DefaultLines(Opt opt)
    {
        if (opt.SampleDefault is not null)
        {
            return [opt.SampleDefault];
        }
        if (opt.IsMulti)
        {
            var values = (IReadOnlyList<string>)opt.DefaultObject!;
            return values.Count == 0 ? [""] : values;
        }
        return [opt.FormatObject(opt.DefaultObject)];
    }

    /// <summary>Python's <c>textwrap.wrap(line, 70, initial_indent='# ', subsequent_indent='# ', break_long_words=False)</c>, per line.</summary>
    private static void AppendHelp(StringBuilder sb, string help)
    {
        foreach (var line in help.Split('\n'))
        {
            var wrapped = Wrap(line);
            if (wrapped.Count == 0)
            {
                sb.Append("#\n");
                continue;
            }
            foreach (var w in wrapped)
            {
                sb.Append(w).Append('\n');
            }
        }
    }

    internal static List<string> Wrap(string text)
    {
        var lines = new List<string>();
        var current = new StringBuilder("# ");
        var empty = true;
        foreach (var chunk in Chunks().Split(text).Where(c => c.Length > 0))
        {
            var isSpace = char.IsWhiteSpace(chunk[0]);
            // textwrap drops white space at line starts, except the paragraph's own indentation.
            if (isSpace && empty && (lines.Count > 0 || string.IsNullOrWhiteSpace(text)))
            {
                continue;
            }
            if (current.Length + chunk.Length <= WrapWidth || (empty && !isSpace))
            {
                current.Append(chunk);
                empty &= isSpace;
                continue;
            }
            lines.Add(current.ToString().TrimEnd());
            current.Clear().Append("# ");
            empty = true;
            if (!isSpace)
            {
                current.Append(chunk);
                empty = false;
            }
        }
        if (!empty)
        {
            lines.Add(current.ToString().TrimEnd());
        }
        return lines;
    }

    [GeneratedRegex(@"(\s+)")]
    private static partial Regex Chunks();
}
