namespace NovaCompute.Config;

/// <summary>One <c>key = value</c> assignment, where it was written.</summary>
public sealed record IniEntry(string Section, string Key, string Value, string File, int Line);

/// <summary>A problem in a configuration source, located precisely enough for an operator to fix it.</summary>
public sealed record ConfigProblem(string Message, string? File = null, int? Line = null, string? Option = null)
{
    public override string ToString()
    {
        var where = File is null ? "" : Line is null ? $"{File}: " : $"{File}:{Line}: ";
        return where + Message;
    }

    /// <summary>
    /// A problem with <paramref name="opt"/>'s value: located where that value was set (file and line,
    /// environment variable or flag), and naming the option's group when the message does not.
    /// </summary>
    public static ConfigProblem For(NovaConfig config, Opt opt, string message)
    {
        var source = config.Describe(opt).Source;
        var named = InGroup(opt.Group, message).Message;
        return source.Kind switch
        {
            ValueSourceKind.File => new ConfigProblem(named, source.Location, source.Line, opt.Key),
            ValueSourceKind.Default => new ConfigProblem(named, Option: opt.Key),
            _ => new ConfigProblem(named, source.ToString(), Option: opt.Key),
        };
    }

    /// <summary>A problem with settings of <paramref name="group"/> that no single value explains (two options that conflict).</summary>
    public static ConfigProblem InGroup(string group, string message) =>
        new(message.Contains($"[{group}]", StringComparison.Ordinal) ? message : $"{message} (in group [{group}])");
}

/// <summary>
/// oslo.config's INI dialect (oslo_config/iniparser.py): <c>[section]</c>, <c>key = value</c> or
/// <c>key: value</c>, whole-line <c>#</c>/<c>;</c> comments, continuation lines that start with
/// white space, one pair of matching quotes removed, no inline comments. Unlike oslo, a bad line
/// does not stop the parse: every problem in the file is reported in one go.
/// </summary>
public static class IniParser
{
    public static (IReadOnlyList<IniEntry> Entries, IReadOnlyList<ConfigProblem> Problems) Parse(string text, string file)
    {
        var entries = new List<IniEntry>();
        var problems = new List<ConfigProblem>();
        string? section = null;
        // The assignment a continuation line extends; null after a blank line or a section.
        (string Key, List<string> Lines, int Line)? pending = null;

        void Flush()
        {
            if (pending is { } p && section is not null)
            {
                entries.Add(new IniEntry(section, p.Key, Unquote(string.Join("\n", p.Lines)), file, p.Line));
            }
            pending = null;
        }

        void Problem(int lineNo, string reason, string line) =>
            problems.Add(new ConfigProblem($"{reason}: '{line}'", file, lineNo));

        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var lineNo = i + 1;
            var line = lines[i].TrimEnd();
            if (i == 0 && line.Length > 0 && line[0] == '\uFEFF')
            {
                line = line[1..];
            }
            if (line.Length == 0)
            {
                Flush();
                continue;
            }
            if (line[0] is '#' or ';')
            {
                continue;
            }
            if (line[0] is ' ' or '\t')
            {
                if (pending is { } p)
                {
                    p.Lines.Add(line.Trim());
                }
                else
                {
                    Problem(lineNo, "Unexpected continuation line", line);
                }
                continue;
            }
            Flush();
            if (line[0] == '[')
            {
                if (line[^1] != ']')
                {
                    Problem(lineNo, "Invalid section (must end with ])", line);
                    section = null;
                    continue;
                }
                var name = line[1..^1].Trim();
                if (name.Length == 0)
                {
                    Problem(lineNo, "Empty section name", line);
                    section = null;
                    continue;
                }
                // oslo matches group names case-insensitively, except that only "DEFAULT" is the default group.
                section = name == ConfigGroups.Default ? name : name.ToLowerInvariant();
                continue;
            }
            var separator = line.IndexOfAny(['=', ':']);
            if (separator < 0)
            {
                Problem(lineNo, "No ':' or '=' found in assignment", line);
                continue;
            }
            var key = line[..separator].Trim();
            if (key.Length == 0)
            {
                Problem(lineNo, "Key cannot be empty", line);
                continue;
            }
            if (section is null)
            {
                Problem(lineNo, "Section must be started before assignment", line);
                continue;
            }
            pending = (key, [line[(separator + 1)..].Trim()], lineNo);
        }
        Flush();
        return (entries, problems);
    }

    private static string Unquote(string value) =>
        value.Length >= 2 && value[0] is '"' or '\'' && value[^1] == value[0] ? value[1..^1] : value;
}
