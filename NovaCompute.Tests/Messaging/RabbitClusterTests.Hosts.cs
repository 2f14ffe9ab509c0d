using System.Diagnostics;
using System.Net;
using System.Text.Json;
using NovaCompute.Db;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Messaging;

/// <summary>
/// Several daemons, each on a host of its own (a network namespace with its own address), sharing
/// the test PostgreSQL and the three-node cluster as computes of one deployment share a database
/// and a broker: every host's <c>service list</c> shows all of them up, and the loss of one host
/// (its daemon killed, or its link pulled) is seen by the others once <c>service_down_time</c>
/// passes without its heartbeat. The database and the cluster listen on loopback, so the hosts
/// reach them through forwarders on the bridge's address in the root namespace.
/// </summary>
public partial class RabbitClusterTests
{
    private const int NamespaceHostCount = 3;
    private const int HostsServiceDownTime = 5;

    [Test]
    public async Task Hosts_InNetworkNamespacesOnTheCluster_EachListsAllUpAndSeesALostHostDown()
    {
        await using var network = await NetworkNamespaces.CreateAsync(NamespaceHostCount);
        await using var database = await TestDatabase.CreateAsync(DatabaseDialect.PostgreSql);
        var postgres = new Uri(TestServices.PostgresUrl);
        await using var postgresForwarder = new TcpForwarder(postgres.Host, postgres.Port, network.Gateway);
        var rabbitForwarders = RabbitCluster.Nodes.Select(n => new TcpForwarder(IPAddress.Loopback.ToString(), n.Port, network.Gateway)).ToList();
        var daemons = new List<DaemonProcess>();
        // A vhost of this test's own: its quorum queues (compute, …) are declared with other
        // arguments than the failover test's, and a queue's arguments are fixed once declared.
        var vhost = await RabbitCluster.AddVhostAsync(RabbitTestBroker.UniqueName("nova-hosts"));
        try
        {
            postgresForwarder.Start();
            rabbitForwarders.ForEach(f => f.Start());
            // The schema is the test's own (search_path in the URL); only the server address changes.
            var connection = database.ConnectionText.Replace($"@{postgres.Host}:{postgres.Port}/", $"@{network.Gateway}:{postgresForwarder.Port}/",
                StringComparison.Ordinal);
            var transportUrl = "rabbit://" + string.Join(",", rabbitForwarders.Select(f => $"guest:guest@{network.Gateway}:{f.Port}")) + "/" + vhost;
            var prefix = RabbitTestBroker.UniqueName("nshost");
            var hosts = network.Hosts.Select((h, i) => (Network: h, Name: $"{prefix}-{i + 1}", Config: WriteHostConfig($"{prefix}-{i + 1}", transportUrl, connection))).ToList();

            foreach (var host in hosts)
            {
                daemons.Add(DaemonProcess.Start(["--config-file", host.Config], launcher: host.Network.Launcher));
            }
            foreach (var daemon in daemons)
            {
                await daemon.WaitForLineAsync("Service ready", TimeSpan.FromSeconds(120));
            }
            // Each reached the cluster at the bridge's address, from its own.
            Assert.That(daemons[0].Output, Does.Contain($"to AMQP server on {network.Gateway}:"));

            // 1. Every host sees every host up.
            var names = hosts.Select(h => h.Name).ToList();
            foreach (var host in hosts)
            {
                await Eventually.Until(async () => (await StatesSeenFromAsync(host.Network, host.Config, prefix)).Count(s => s.Value == "up") == NamespaceHostCount,
                    TimeSpan.FromSeconds(30), () => $"{host.Name} to list all {NamespaceHostCount} hosts up", TimeSpan.FromSeconds(1));
                Assert.That((await StatesSeenFromAsync(host.Network, host.Config, prefix)).Keys, Is.EquivalentTo(names));
            }

            // 2. kill -9 of the third host's daemon: the first two see it down, and only it. Until
            // its first heartbeat (nova's INITIAL_REPORTING_DELAY, 5 s after start) a row counts
            // as up from created_at alone; once it beats, the verdict runs from its last beat.
            foreach (var host in hosts)
            {
                await Eventually.Until(async () => await database.ScalarAsync<int>(
                        "SELECT report_count FROM services WHERE host = @host AND deleted = 0", new { host = host.Name }) >= 2,
                    TimeSpan.FromSeconds(30), () => $"{host.Name} to have reported twice", TimeSpan.FromMilliseconds(250));
            }
            daemons[2].Signal(DaemonProcess.SIGKILL);
            await daemons[2].WaitForExitAsync();
            var killed = Stopwatch.StartNew();
            foreach (var host in hosts.Take(2))
            {
                await Eventually.Until(async () => (await StatesSeenFromAsync(host.Network, host.Config, prefix))[hosts[2].Name] == "down",
                    TimeSpan.FromSeconds(30), () => $"{host.Name} to see {hosts[2].Name} down", TimeSpan.FromSeconds(1));
            }
            // Its last beat was about one interval (1 s) before the kill; a second more of slack for
            // a beat slowed on its way through two forwarders on a loaded machine.
            Assert.That(killed.Elapsed, Is.GreaterThan(TimeSpan.FromSeconds(HostsServiceDownTime - 3)),
                $"down only after service_down_time; the killed daemon's output:\n{daemons[2].Output}");
            var seenByFirst = await StatesSeenFromAsync(hosts[0].Network, hosts[0].Config, prefix);
            Assert.That(seenByFirst[hosts[0].Name], Is.EqualTo("up"));
            Assert.That(seenByFirst[hosts[1].Name], Is.EqualTo("up"));

            // 3. The second host's link pulled: its daemon runs on but reaches nothing; the first sees it down.
            await NetworkNamespaces.SetLinkAsync(hosts[1].Network, up: false);
            await Eventually.Until(async () => (await StatesSeenFromAsync(hosts[0].Network, hosts[0].Config, prefix))[hosts[1].Name] == "down",
                TimeSpan.FromSeconds(30), () => $"{hosts[0].Name} to see {hosts[1].Name} down after its link went down", TimeSpan.FromSeconds(1));
            Assert.That((await StatesSeenFromAsync(hosts[0].Network, hosts[0].Config, prefix))[hosts[0].Name], Is.EqualTo("up"));

            // 4. The link back: the partitioned daemon's heartbeat resumes by itself and the first sees it up again.
            await NetworkNamespaces.SetLinkAsync(hosts[1].Network, up: true);
            await Eventually.Until(async () => (await StatesSeenFromAsync(hosts[0].Network, hosts[0].Config, prefix))[hosts[1].Name] == "up",
                TimeSpan.FromSeconds(60), () => $"{hosts[0].Name} to see {hosts[1].Name} up again; its output:\n{daemons[1].Output}", TimeSpan.FromSeconds(1));

            foreach (var daemon in daemons.Take(2))
            {
                daemon.Signal(DaemonProcess.SIGTERM);
                Assert.That(await daemon.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.Zero, daemon.Output);
            }
        }
        finally
        {
            daemons.ForEach(d => d.Dispose());
            foreach (var forwarder in rabbitForwarders)
            {
                await forwarder.DisposeAsync();
            }
            await RabbitCluster.CtlAsync(RabbitCluster.Nodes[0].Name, "delete_vhost", vhost);
        }
    }

    private string WriteHostConfig(string host, string transportUrl, string connection)
    {
        var state = Directory.CreateDirectory(Path.Combine(_dir.FullName, host)).FullName;
        var conf = Path.Combine(state, "nova-compute.conf");
        File.WriteAllText(conf, $"""
            [DEFAULT]
            host = {host}
            compute_driver = fake.FakeDriver
            state_path = {state}
            transport_url = {transportUrl}
            report_interval = 1
            service_down_time = {HostsServiceDownTime}
            graceful_shutdown_timeout = 10
            [oslo_messaging_rabbit]
            rabbit_quorum_queue = true
            [database]
            connection = {connection}
            """);
        return conf;
    }

    /// <summary><c>nova-compute service list</c> run on a host (inside its namespace): the state of this test's hosts, by host.</summary>
    private static async Task<Dictionary<string, string>> StatesSeenFromAsync(NamespaceHost network, string config, string prefix)
    {
        var result = await Shell.RunAsync("ip", ["netns", "exec", network.Namespace, TestServices.PublishedDaemon, "service", "list", "--format", "json",
            "--config-file", config], TimeSpan.FromSeconds(60));
        Assert.That(result.ExitCode, Is.Zero, result.Output);
        using var document = JsonDocument.Parse(result.Stdout);
        return document.RootElement.GetProperty("services").EnumerateArray()
            .Where(s => s.GetProperty("host").GetString()!.StartsWith(prefix, StringComparison.Ordinal))
            .ToDictionary(s => s.GetProperty("host").GetString()!, s => s.GetProperty("state").GetString()!, StringComparer.Ordinal);
    }
}
