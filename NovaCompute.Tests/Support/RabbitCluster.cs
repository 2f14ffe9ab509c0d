namespace NovaCompute.Tests.Support;

/// <summary>
/// A real three-node RabbitMQ cluster beside the machine's shared node: Debian's rabbitmq-server
/// run three more times as the <c>rabbitmq</c> user (so the nodes share its Erlang cookie), each
/// with its own node name, AMQP and distribution ports and data directory, no plugins, then
/// <c>join_cluster</c>. Nodes found running from an earlier run are reused; <see cref="StopAsync"/>
/// stops these three nodes only, never the shared one.
/// </summary>
internal sealed class RabbitCluster
{
    public const string BaseDirectory = "/tmp/nova-test-rabbit-cluster";

    public static readonly IReadOnlyList<(string Name, int Port)> Nodes =
    [
        ("nc1@localhost", 5701),
        ("nc2@localhost", 5702),
        ("nc3@localhost", 5703),
    ];

    private RabbitCluster(string vhost)
    {
        Vhost = vhost;
    }

    public string Vhost { get; }

    /// <summary>All three nodes, for failover: <c>rabbit://guest:guest@127.0.0.1:5701,…/vhost</c>.</summary>
    public string TransportUrl => "rabbit://" + string.Join(",", Nodes.Select(n => $"guest:guest@127.0.0.1:{n.Port}")) + "/" + Vhost;

    public static async Task<RabbitCluster> StartAsync()
    {
        Directory.CreateDirectory(BaseDirectory);
        var plugins = Path.Combine(BaseDirectory, "enabled_plugins");
        await File.WriteAllTextAsync(plugins, "[].");
        foreach (var (name, port) in Nodes)
        {
            if ((await CtlAsync(name, "status")).ExitCode == 0)
            {
                // Left by an earlier run, perhaps with its application stopped mid-test.
                await ExpectAsync(CtlAsync(name, "start_app"), $"start_app {name}");
                continue;
            }
            var data = Path.Combine(BaseDirectory, name.Split('@')[0]);
            Directory.CreateDirectory(Path.Combine(data, "mnesia"));
            Directory.CreateDirectory(Path.Combine(data, "log"));
            await ExpectAsync(Shell.RunAsync("chown", ["-R", "rabbitmq:rabbitmq", BaseDirectory]), "chown");
            await ExpectAsync(Shell.RunAsync("runuser", ["-u", "rabbitmq", "--", "env", "HOME=/var/lib/rabbitmq",
                $"RABBITMQ_NODENAME={name}", $"RABBITMQ_NODE_PORT={port}", $"RABBITMQ_DIST_PORT={port + 20000}",
                $"RABBITMQ_MNESIA_BASE={Path.Combine(data, "mnesia")}", $"RABBITMQ_LOG_BASE={Path.Combine(data, "log")}",
                $"RABBITMQ_ENABLED_PLUGINS_FILE={plugins}", $"RABBITMQ_PID_FILE={Path.Combine(data, "pid")}",
                "/usr/lib/rabbitmq/bin/rabbitmq-server", "-detached"]), $"start {name}");
        }
        foreach (var (name, _) in Nodes)
        {
            await ExpectAsync(CtlAsync(name, "await_startup", "--timeout", "300"), $"await_startup {name}");
        }
        var primary = Nodes[0].Name;
        foreach (var (name, _) in Nodes.Skip(1))
        {
            var status = await CtlAsync(primary, "cluster_status", "--formatter", "json");
            if (status.Stdout.Contains($"\"{name}\"", StringComparison.Ordinal))
            {
                continue;
            }
            await ExpectAsync(CtlAsync(name, "stop_app"), $"stop_app {name}");
            await ExpectAsync(CtlAsync(name, "reset"), $"reset {name}");
            await ExpectAsync(CtlAsync(name, "join_cluster", primary), $"join_cluster {name}");
            await ExpectAsync(CtlAsync(name, "start_app"), $"start_app {name}");
        }
        return new RabbitCluster(await AddVhostAsync(RabbitTestBroker.UniqueName("nova-cluster")));
    }

    /// <summary>Adds a vhost on the cluster that <c>guest</c> may use (the caller deletes it).</summary>
    public static async Task<string> AddVhostAsync(string vhost)
    {
        await ExpectAsync(CtlAsync(Nodes[0].Name, "add_vhost", vhost), "add_vhost");
        await ExpectAsync(CtlAsync(Nodes[0].Name, "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"), "set_permissions");
        return vhost;
    }

    /// <summary>Stops the RabbitMQ application on one node (the Erlang VM stays, so it rejoins fast).</summary>
    public static Task StopNodeAsync(string name) => ExpectAsync(CtlAsync(name, "stop_app"), $"stop_app {name}");

    public static Task StartNodeAsync(string name) => ExpectAsync(CtlAsync(name, "start_app"), $"start_app {name}");

    /// <summary>The node listening on an AMQP port.</summary>
    public static string NodeOfPort(int port) => Nodes.Single(n => n.Port == port).Name;

    /// <summary>Removes the test's vhost, then stops the three nodes (not the shared one).</summary>
    public async Task StopAsync()
    {
        await CtlAsync(Nodes[0].Name, "delete_vhost", Vhost);
        foreach (var (name, _) in Nodes)
        {
            await CtlAsync(name, "stop");
        }
    }

    public static Task<ShellResult> CtlAsync(string node, params string[] args) =>
        Shell.RunAsync("runuser", ["-u", "rabbitmq", "--", "env", "HOME=/var/lib/rabbitmq", "rabbitmqctl", "-n", node, .. args],
            TimeSpan.FromMinutes(6));

    private static async Task ExpectAsync(Task<ShellResult> run, string what)
    {
        var result = await run;
        if (result.ExitCode != 0)
        {
            Assert.Fail($"RabbitMQ cluster: {what} failed ({result.ExitCode}): {result.Output}");
        }
    }
}
