namespace NovaCompute.Config;

public enum ConfigSourceKind
{
    File,
    Directory,
}

/// <summary>A <c>--config-file</c> or <c>--config-dir</c> argument, in command-line order.</summary>
public sealed record ConfigSourceArgument(ConfigSourceKind Kind, string Path);

/// <summary>
/// What the command line says about configuration: the files and directories to read, and
/// option values given as flags (e.g. <c>--debug</c>), which win over files and environment.
/// </summary>
public sealed record ConfigArguments
{
    public static ConfigArguments Empty { get; } = new();

    public IReadOnlyList<ConfigSourceArgument> Sources { get; init; } = [];

    /// <summary>Option values from flags, as raw strings, with the flag that set them.</summary>
    public IReadOnlyList<(Opt Opt, string Raw, string Flag)> Overrides { get; init; } = [];

    /// <summary>The command line as given, for the option dump's "command line args" line.</summary>
    public IReadOnlyList<string> CommandLine { get; init; } = [];
}

/// <summary>
/// Where the default search looks when no <c>--config-file</c>/<c>--config-dir</c> is given
/// (oslo's <c>find_config_files</c> for project <c>nova</c>, program <c>nova-compute</c>).
/// </summary>
public sealed record ConfigSearch
{
    public string Project { get; init; } = "nova";

    public string Program { get; init; } = "nova-compute";

    /// <summary><c>~/.nova/</c>, <c>~/</c>, <c>/etc/nova/</c>, <c>/etc/</c>, in that order.</summary>
    public IReadOnlyList<string> Directories { get; init; } = DefaultDirectories("nova");

    public IReadOnlyDictionary<string, string> Environment { get; init; } = ReadEnvironment();

    public static IReadOnlyList<string> DefaultDirectories(string project)
    {
        var home = System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile);
        var dirs = new List<string>();
        if (!string.IsNullOrEmpty(home))
        {
            dirs.Add(Path.Combine(home, "." + project));
            dirs.Add(home);
        }
        dirs.Add(Path.Combine("/etc", project));
        dirs.Add("/etc");
        return dirs;
    }

    public static IReadOnlyDictionary<string, string> ReadEnvironment()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in System.Environment.GetEnvironmentVariables())
        {
            if (entry.Key is string key && key.StartsWith("OS_", StringComparison.Ordinal) && entry.Value is string value)
            {
                result[key] = value;
            }
        }
        return result;
    }
}
