using System.ComponentModel;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace NovaCompute.Tests.Support;

/// <summary>One host of <see cref="NetworkNamespaces"/>: its namespace, its address, and its link's end in the root namespace.</summary>
internal sealed record NamespaceHost(string Namespace, IPAddress Address, string RootLink)
{
    /// <summary>Runs a command inside the host's namespace: <c>ip netns exec NAME …</c>.</summary>
    public IReadOnlyList<string> Launcher => ["ip", "netns", "exec", Namespace];
}

/// <summary>
/// Hosts of the test's own making on this one machine: network namespaces (<c>ip netns</c>) joined
/// to the root namespace by veth pairs on a bridge, each with an address of its own in a /24 under
/// 10.77.0.0/16 that nothing here uses. The root namespace holds the bridge's address
/// (<see cref="Gateway"/>), where the test binds forwarders to the services that listen on loopback
/// only. Names carry the run's vhost, so two runs on this machine never touch each other's hosts;
/// a run's leftovers (a killed test process) are removed before the new ones are made.
/// <see cref="DisposeAsync"/> removes the namespaces (their veth pairs go with them) and the bridge.
/// Without <c>ip</c> or namespace support (not root, a restricted container) the test is
/// unavailable: skipped ad hoc, failed under <c>./build.sh test</c> (<see cref="TestServices"/>).
/// </summary>
internal sealed partial class NetworkNamespaces : IAsyncDisposable
{
    private readonly string _bridge;
    private readonly List<NamespaceHost> _hosts = [];

    private NetworkNamespaces(string bridge, IPAddress gateway)
    {
        _bridge = bridge;
        Gateway = gateway;
    }

    /// <summary>The bridge's address in the root namespace: what the hosts reach the shared services on.</summary>
    public IPAddress Gateway { get; }

    public IReadOnlyList<NamespaceHost> Hosts => _hosts;

    [GeneratedRegex("[^a-z0-9_]")]
    private static partial Regex NotNameCharacter();

    /// <summary>Makes <paramref name="count"/> hosts named <c>&lt;vhost&gt;-h1</c> … (the run's own prefix).</summary>
    public static async Task<NetworkNamespaces> CreateAsync(int count)
    {
        var vhost = TestServices.RabbitVhost;
        var prefix = NotNameCharacter().Replace(vhost.ToLowerInvariant(), "_");
        // Interface names hold 15 characters: a hash of the vhost keeps them short and still the run's own.
        var tag = ((uint)StableHash(vhost)).ToString("x8", CultureInfo.InvariantCulture)[..6];
        var bridge = "nb" + tag;
        await RemoveLeftoversAsync(prefix, bridge, count);

        var subnet = await FreeSubnetAsync(StableHash(vhost));
        var network = new NetworkNamespaces(bridge, IPAddress.Parse($"10.77.{subnet}.1"));
        try
        {
            await IpAsync("link", "add", bridge, "type", "bridge");
            await IpAsync("addr", "add", $"{network.Gateway}/24", "dev", bridge);
            await IpAsync("link", "set", bridge, "up");
            for (var i = 1; i <= count; i++)
            {
                var name = $"{prefix}-h{i}";
                var rootLink = $"nv{tag}h{i}";
                var hostLink = $"np{tag}h{i}";
                var address = IPAddress.Parse($"10.77.{subnet}.{10 + i}");
                await IpAsync("netns", "add", name);
                network._hosts.Add(new NamespaceHost(name, address, rootLink));
                await IpAsync("link", "add", rootLink, "type", "veth", "peer", "name", hostLink);
                await IpAsync("link", "set", hostLink, "netns", name);
                await IpAsync("link", "set", rootLink, "master", bridge);
                await IpAsync("link", "set", rootLink, "up");
                await IpAsync("-n", name, "addr", "add", $"{address}/24", "dev", hostLink);
                await IpAsync("-n", name, "link", "set", hostLink, "up");
                await IpAsync("-n", name, "link", "set", "lo", "up");
            }
            return network;
        }
        catch
        {
            await network.DisposeAsync();
            throw;
        }
    }

    /// <summary>Takes a host's link down (a cable pulled: its connections hang, nothing is reset) or brings it back.</summary>
    public static Task SetLinkAsync(NamespaceHost host, bool up) => IpAsync("link", "set", host.RootLink, up ? "up" : "down");

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await Shell.RunAsync("ip", "netns", "del", host.Namespace);
        }
        await Shell.RunAsync("ip", "link", "del", _bridge);
    }

    private static async Task RemoveLeftoversAsync(string prefix, string bridge, int count)
    {
        ShellResult list;
        try
        {
            list = await Shell.RunAsync("ip", "netns", "list");
        }
        catch (Win32Exception ex)
        {
            TestServices.Unavailable($"network namespaces ('ip' from iproute2 cannot run: {ex.Message})");
            throw;
        }
        if (list.ExitCode != 0)
        {
            TestServices.Unavailable($"network namespaces (ip netns list: {list.Output.Trim()})");
        }
        for (var i = 1; i <= count; i++)
        {
            if (list.Stdout.Split('\n').Any(l => l.Split(' ')[0] == $"{prefix}-h{i}"))
            {
                await Shell.RunAsync("ip", "netns", "del", $"{prefix}-h{i}");
            }
        }
        if ((await Shell.RunAsync("ip", "link", "show", bridge)).ExitCode == 0)
        {
            await Shell.RunAsync("ip", "link", "del", bridge);
        }
    }

    /// <summary>A 10.77.N.0/24 no interface or route of the root namespace uses, starting from the run's own N.</summary>
    private static async Task<int> FreeSubnetAsync(int seed)
    {
        var used = (await Shell.RunAsync("ip", "-4", "-o", "addr", "show")).Stdout + (await Shell.RunAsync("ip", "-4", "route", "show", "table", "all")).Stdout;
        var first = 20 + (int)((uint)seed % 200);
        for (var n = 0; n < 200; n++)
        {
            var subnet = 20 + (first - 20 + n) % 200;
            if (!used.Contains($"10.77.{subnet}.", StringComparison.Ordinal))
            {
                return subnet;
            }
        }
        Assert.Fail("no free 10.77.N.0/24 for the test's hosts");
        return 0;
    }

    private static async Task IpAsync(params string[] arguments)
    {
        var result = await Shell.RunAsync("ip", arguments);
        if (result.ExitCode != 0)
        {
            // The first command that the kernel refuses (no CAP_NET_ADMIN, no veth or bridge support).
            TestServices.Unavailable($"network namespaces (ip {string.Join(' ', arguments)}: {result.Output.Trim()})");
        }
    }

    /// <summary>FNV-1a: string.GetHashCode differs per process, and the names must not.</summary>
    private static int StableHash(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619u;
        }
        return (int)hash;
    }
}
