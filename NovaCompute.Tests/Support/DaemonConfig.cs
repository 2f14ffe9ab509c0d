using System.Text;

namespace NovaCompute.Tests.Support;

/// <summary>
/// The configuration file of a test's daemon: <c>[DEFAULT]</c> with a host of its own, the fake
/// driver, the test environment's <c>transport_url</c>, a state path and a 20 s
/// <c>graceful_shutdown_timeout</c>; then the database, chosen on purpose by the factory used,
/// because a <c>[database]</c> section's presence is meaningful (without a connection the daemon
/// runs in conductor mode, nova/conductor/api.py's indirection). Options are overridden, added
/// or removed with <see cref="With(string, string, string)"/> and <see cref="Without"/>; each returns
/// a new configuration, so a test keeps its base and writes variants (a SIGHUP reload).
/// </summary>
internal sealed class DaemonConfig
{
    private const string Default = "DEFAULT";
    private readonly IReadOnlyList<(string Section, string Key, string Value)> _options;

    private DaemonConfig(IReadOnlyList<(string Section, string Key, string Value)> options, string mode)
    {
        _options = options;
        Mode = mode;
    }

    /// <summary>Direct mode on a SQLite file of the test's own, <c>nova.sqlite</c> in <paramref name="directory"/> (also the state path).</summary>
    public static DaemonConfig Sqlite(string directory, string? host = null) =>
        Database(directory, $"sqlite:///{Path.Combine(directory, "nova.sqlite")}", host);

    /// <summary>Direct mode on <paramref name="connection"/> (the test PostgreSQL's, an unreachable one, a file elsewhere).</summary>
    public static DaemonConfig Database(string directory, string connection, string? host = null) =>
        Common(directory, host, "direct").With("database", "connection", connection);

    /// <summary>Conductor mode: no <c>[database]</c> section; every record goes through nova-conductor.</summary>
    public static DaemonConfig Conductor(string statePath, string? host = null) => Common(statePath, host, "conductor");

    /// <summary>
    /// The second file of the installed unit (deploy/nova-compute.service reads
    /// <c>/etc/nova/nova.conf</c>, then <c>/etc/nova/nova-compute.conf</c>): no state path and no
    /// <c>[database]</c> here, as <c>./build.sh install</c>'s nova.conf holds direct mode's
    /// connection under the default state path <c>/var/lib/nova</c>.
    /// </summary>
    public static DaemonConfig InstalledUnit(string host) =>
        Common(null, host, "direct, from the installed nova.conf");

    private static DaemonConfig Common(string? statePath, string? host, string mode)
    {
        var options = new List<(string, string, string)>
        {
            (Default, "host", host ?? $"daemon-test-{Guid.NewGuid():N}"),
            (Default, "compute_driver", "fake.FakeDriver"),
            (Default, "transport_url", TestServices.TransportUrl),
            (Default, "graceful_shutdown_timeout", "20"),
        };
        if (statePath is not null)
        {
            options.Insert(2, (Default, "state_path", statePath));
        }
        return new DaemonConfig(options, mode);
    }

    /// <summary>Which way records are reached: "direct", "conductor", ...</summary>
    public string Mode { get; }

    /// <summary>The daemon's <c>[DEFAULT] host</c>.</summary>
    public string Host => Get(Default, "host") ?? throw new InvalidOperationException("this configuration sets no host");

    /// <summary>The value of one option, null when the file does not set it.</summary>
    public string? Get(string section, string key) =>
        _options.Where(o => o.Section == section && o.Key == key).Select(o => o.Value).FirstOrDefault();

    /// <summary>Sets a <c>[DEFAULT]</c> option.</summary>
    public DaemonConfig With(string key, string value) => With(Default, key, value);

    /// <summary>Sets an option, replacing its value in place or adding it at the end of its section.</summary>
    public DaemonConfig With(string section, string key, string value)
    {
        var options = _options.ToList();
        var index = options.FindIndex(o => o.Section == section && o.Key == key);
        if (index >= 0)
        {
            options[index] = (section, key, value);
        }
        else
        {
            options.Add((section, key, value));
        }
        return new DaemonConfig(options, Mode);
    }

    /// <summary>Leaves an option out (the daemon then uses its default).</summary>
    public DaemonConfig Without(string section, string key) =>
        new([.. _options.Where(o => o.Section != section || o.Key != key)], Mode);

    /// <summary>The file's text: sections in the order first set, <c>[DEFAULT]</c> first.</summary>
    public string Render()
    {
        var text = new StringBuilder();
        foreach (var section in _options.Select(o => o.Section).Prepend(Default).Distinct())
        {
            var options = _options.Where(o => o.Section == section).ToList();
            if (options.Count == 0 && section != Default)
            {
                continue;
            }
            text.Append('[').Append(section).Append("]\n");
            foreach (var (_, key, value) in options)
            {
                text.Append(key).Append(" = ").Append(value).Append('\n');
            }
        }
        return text.ToString();
    }

    /// <summary>Writes the file and returns its path.</summary>
    public string WriteTo(string path)
    {
        File.WriteAllText(path, Render());
        return path;
    }

    public override string ToString() => Render();
}
