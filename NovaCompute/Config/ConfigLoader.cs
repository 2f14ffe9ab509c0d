using System.Text;

namespace NovaCompute.Config;

/// <summary>The outcome of reading every configuration source: a config, or every problem found.</summary>
public sealed record ConfigLoadResult(NovaConfig? Config, IReadOnlyList<ConfigProblem> Errors, IReadOnlyList<ConfigProblem> Warnings)
{
    public bool Succeeded => Config is not null && Errors.Count == 0;
}

/// <summary>
/// Reads configuration the way oslo.config does for nova: files (explicit or found by the default
/// search), <c>OS_GROUP__OPTION</c> environment variables, command-line flags, in oslo's precedence
/// (flags &gt; environment &gt; files, later files win), with <c>$name</c> interpolation. Every value is
/// validated up front (oslo validates lazily, on first use) and every problem is reported at once.
/// </summary>
public sealed class ConfigLoader(IReadOnlyList<Opt> catalog, ConfigSearch? search = null)
{
    private readonly ConfigSearch _search = search ?? new ConfigSearch();

    public ConfigLoadResult Load(ConfigArguments arguments)
    {
        var errors = new List<ConfigProblem>();
        var warnings = new List<ConfigProblem>();

        var files = ResolveFiles(arguments, errors);
        var entries = new List<IniEntry>();
        foreach (var file in files)
        {
            string text;
            if (Directory.Exists(file))
            {
                // Opening a directory fails with EISDIR, which .NET reports as UnauthorizedAccessException.
                errors.Add(new ConfigProblem("Failed to read config file " + file + ": is a directory", file));
                continue;
            }
            try
            {
                text = File.ReadAllText(file, Encoding.UTF8);
            }
            catch (FileNotFoundException)
            {
                errors.Add(new ConfigProblem("Failed to find some config files: " + file, file));
                continue;
            }
            catch (DirectoryNotFoundException)
            {
                errors.Add(new ConfigProblem("Failed to find some config files: " + file, file));
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                errors.Add(new ConfigProblem("Failed to open some config files: " + file + " (permission denied)", file));
                continue;
            }
            catch (IOException ex)
            {
                errors.Add(new ConfigProblem($"Failed to read config file: {ex.Message}", file));
                continue;
            }
            var (parsed, problems) = IniParser.Parse(text, file);
            entries.AddRange(parsed);
            errors.AddRange(problems.Select(p => p with { Message = "parse error: " + p.Message }));
        }

        var raw = CollectRaw(entries, arguments, warnings);
        ReportUnknown(entries, warnings);

        var values = new Dictionary<Opt, OptValue>();
        foreach (var opt in catalog)
        {
            if (!raw.TryGetValue(opt, out var found))
            {
                var defaultValue = opt.DefaultObject;
                if (defaultValue is string text && text.Contains('$'))
                {
                    defaultValue = Interpolate(text, opt, raw, []);
                }
                values[opt] = new OptValue(opt, defaultValue, null, ValueSource.Default);
                continue;
            }
            try
            {
                object? value;
                if (opt.IsMulti)
                {
                    value = found.Values.Select(v => Interpolate(v, opt, raw, [])).ToList();
                }
                else
                {
                    value = opt.ParseObject(Interpolate(found.Values[^1], opt, raw, []));
                }
                values[opt] = new OptValue(opt, value, string.Join("\n", found.Values), found.Source);
            }
            catch (FormatException ex)
            {
                var shown = opt.Secret ? "****" : found.Values[^1];
                // The reason may quote the value (e.g. "invalid literal ... 'x'"): never for a secret.
                var reason = opt.Secret ? ex.Message.Replace(found.Values[^1].Trim(), "****", StringComparison.Ordinal) : ex.Message;
                errors.Add(new ConfigProblem(
                    $"Value for option {opt.Name} in group [{opt.Group}] ({shown}) is not valid: {reason}",
                    found.Source.Kind == ValueSourceKind.File ? found.Source.Location : found.Source.ToString(),
                    found.Source.Line,
                    opt.Key));
            }
        }

        var config = errors.Count == 0 ? new NovaConfig(values, files, arguments) : null;
        return new ConfigLoadResult(config, InFileOrder(errors), InFileOrder(warnings));
    }

    private static List<ConfigProblem> InFileOrder(List<ConfigProblem> problems) =>
        problems.Select((p, i) => (p, i)).OrderBy(x => x.p.File ?? "", StringComparer.Ordinal).ThenBy(x => x.p.Line ?? 0).ThenBy(x => x.i).Select(x => x.p).ToList();

    private List<string> ResolveFiles(ConfigArguments arguments, List<ConfigProblem> errors)
    {
        var files = new List<string>();
        var explicitFiles = arguments.Sources.Any(s => s.Kind == ConfigSourceKind.File);
        var explicitDirs = arguments.Sources.Any(s => s.Kind == ConfigSourceKind.Directory);

        if (!explicitFiles)
        {
            foreach (var name in new[] { _search.Project + ".conf", _search.Program + ".conf" })
            {
                var first = _search.Directories.Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
                if (first is not null)
                {
                    files.Add(first);
                }
            }
        }
        foreach (var source in arguments.Sources)
        {
            if (source.Kind == ConfigSourceKind.File)
            {
                files.Add(Path.GetFullPath(source.Path));
            }
            else if (!Directory.Exists(source.Path))
            {
                errors.Add(new ConfigProblem($"Failed to read config directory {source.Path}: not found", source.Path));
            }
            else
            {
                files.AddRange(ConfFilesIn(source.Path, errors));
            }
        }
        if (!explicitDirs)
        {
            foreach (var name in new[] { _search.Project + ".conf.d", _search.Program + ".conf.d" })
            {
                var first = _search.Directories.Select(d => Path.Combine(d, name)).FirstOrDefault(Directory.Exists);
                if (first is not null)
                {
                    files.AddRange(ConfFilesIn(first, errors));
                }
            }
        }
        return files;
    }

    private static IEnumerable<string> ConfFilesIn(string directory, List<ConfigProblem> errors)
    {
        try
        {
            return Directory.GetFiles(Path.GetFullPath(directory), "*.conf").OrderBy(f => f, StringComparer.Ordinal).ToList();
        }
        catch (UnauthorizedAccessException)
        {
            errors.Add(new ConfigProblem($"Failed to read config directory {directory}: permission denied", directory));
        }
        catch (IOException ex)
        {
            errors.Add(new ConfigProblem($"Failed to read config directory {directory}: {ex.Message}", directory));
        }
        return [];
    }

    private sealed record RawValue(List<string> Values, ValueSource Source);

    private Dictionary<Opt, RawValue> CollectRaw(List<IniEntry> entries, ConfigArguments arguments, List<ConfigProblem> warnings)
    {
        // Latest assignment per (section, key); multi-valued options keep every occurrence.
        var bySectionKey = entries.GroupBy(e => (e.Section, e.Key)).ToDictionary(g => g.Key, g => g.ToList());
        var result = new Dictionary<Opt, RawValue>();

        foreach (var opt in catalog)
        {
            var candidates = new List<(IniEntry Entry, bool Deprecated)>();
            foreach (var (group, name, deprecated) in Locations(opt))
            {
                if (bySectionKey.TryGetValue((group, name), out var found))
                {
                    candidates.AddRange(found.Select(e => (e, deprecated)));
                }
            }
            if (candidates.Count > 0)
            {
                // Entries are in parse order (files in order, lines in order): the last one wins.
                var ordered = candidates.OrderBy(c => entries.IndexOf(c.Entry)).ToList();
                var last = ordered[^1].Entry;
                if (ordered.FirstOrDefault(c => c.Deprecated) is { Entry: { } old })
                {
                    warnings.Add(new ConfigProblem(
                        $"Deprecated: Option \"{old.Key}\" from group \"{old.Section}\" is deprecated. Use option \"{opt.Name}\" from group \"{opt.Group}\".",
                        old.File, old.Line, opt.Key));
                }
                var values = opt.IsMulti ? ordered.Select(c => c.Entry.Value).ToList() : [last.Value];
                result[opt] = new RawValue(values, new ValueSource(ValueSourceKind.File, last.File, last.Line));
            }

            var variable = $"OS_{opt.Group.ToUpperInvariant()}__{opt.Name.ToUpperInvariant()}";
            if (_search.Environment.TryGetValue(variable, out var fromEnvironment))
            {
                result[opt] = new RawValue([fromEnvironment], new ValueSource(ValueSourceKind.Environment, variable));
            }
        }

        foreach (var (opt, rawValue, flag) in arguments.Overrides)
        {
            result[opt] = new RawValue([rawValue], new ValueSource(ValueSourceKind.CommandLine, flag));
        }
        return result;
    }

    private static IEnumerable<(string Group, string Name, bool Deprecated)> Locations(Opt opt)
    {
        yield return (opt.Group, opt.Name, false);
        foreach (var alias in opt.DeprecatedNames)
        {
            yield return (alias.Group ?? opt.Group, alias.Name ?? opt.Name, true);
        }
    }

    private void ReportUnknown(List<IniEntry> entries, List<ConfigProblem> warnings)
    {
        var known = new HashSet<(string, string)>(catalog.SelectMany(o => Locations(o).Select(l => (l.Group, l.Name))));
        var knownGroups = new HashSet<string>(known.Select(k => k.Item1));
        foreach (var section in entries.GroupBy(e => (e.File, e.Section)))
        {
            if (!knownGroups.Contains(section.Key.Section))
            {
                var first = section.First();
                warnings.Add(new ConfigProblem($"Unknown section [{first.Section}] ignored ({section.Count()} option(s))", first.File, first.Line));
                continue;
            }
            foreach (var entry in section.Where(e => !known.Contains((e.Section, e.Key))))
            {
                warnings.Add(new ConfigProblem($"Unknown option {entry.Key} in [{entry.Section}] ignored", entry.File, entry.Line));
            }
        }
    }

    /// <summary>
    /// oslo's <c>string.Template.safe_substitute</c>: <c>$name</c>, <c>${name}</c>, <c>$group.name</c>;
    /// unknown names stay as written, <c>$$</c> is a literal <c>$</c>, unset options become empty.
    /// </summary>
    private string Interpolate(string text, Opt owner, Dictionary<Opt, RawValue> raw, HashSet<Opt> resolving)
    {
        if (!text.Contains('$'))
        {
            return text;
        }
        var sb = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\\' && i + 1 < text.Length && text[i + 1] == '$')
            {
                sb.Append('$');
                i++;
                continue;
            }
            if (c != '$' || i + 1 >= text.Length)
            {
                sb.Append(c);
                continue;
            }
            if (text[i + 1] == '$')
            {
                sb.Append('$');
                i++;
                continue;
            }
            var braced = text[i + 1] == '{';
            var start = braced ? i + 2 : i + 1;
            var end = start;
            if (end < text.Length && (char.IsAsciiLetterLower(text[end]) || char.IsAsciiLetterUpper(text[end]) || text[end] == '_'))
            {
                end++;
                while (end < text.Length && (char.IsAsciiLetterOrDigit(text[end]) || text[end] is '_' or '.'))
                {
                    end++;
                }
            }
            if (end == start || (braced && (end >= text.Length || text[end] != '}')))
            {
                sb.Append(c);
                continue;
            }
            var name = text[start..end];
            var target = Lookup(name, owner);
            if (target is null)
            {
                sb.Append(text, i, end - i + (braced ? 1 : 0));
            }
            else if (!resolving.Add(target))
            {
                throw new FormatException($"interpolation loop through ${name}");
            }
            else
            {
                var replacement = raw.TryGetValue(target, out var value)
                    ? Interpolate(value.Values[^1], target, raw, resolving)
                    : target.DefaultObject is { } d ? Interpolate(target.FormatObject(d), target, raw, resolving) : "";
                resolving.Remove(target);
                sb.Append(replacement == "<None>" ? "" : replacement);
            }
            i = end - (braced ? 0 : 1);
        }
        return sb.ToString();
    }

    private Opt? Lookup(string name, Opt owner)
    {
        var dot = name.IndexOf('.');
        if (dot > 0)
        {
            var group = name[..dot];
            var option = name[(dot + 1)..];
            var inGroup = catalog.FirstOrDefault(o => o.Group == group && o.Name == option);
            if (inGroup is not null)
            {
                return inGroup;
            }
        }
        return catalog.FirstOrDefault(o => o.Group == owner.Group && o.Name == name)
            ?? catalog.FirstOrDefault(o => o.Group == ConfigGroups.Default && o.Name == name);
    }
}
