using System.Diagnostics;
using System.Text.Json;
using NovaCompute.Messaging;
using RabbitMQ.Client;

namespace NovaCompute.Tests.Support;

/// <summary>
/// The tests' RabbitMQ vhost (from <see cref="TestServices"/>): settings with a connection name
/// unique to the test, raw channels for looking at what went over the wire, and the few
/// <c>rabbitmqctl</c> calls the tests need. Every name a test uses is unique, so parallel test runs
/// on a shared broker never see each other's messages.
/// </summary>
internal static class RabbitTestBroker
{
    /// <summary>Transport settings for the test vhost; connections are named <c>&lt;prefix&gt;:&lt;pid&gt;:&lt;uuid&gt;</c>.</summary>
    public static RabbitSettings Settings(string? connectionPrefix = null) => new()
    {
        TransportUrl = TransportUrl.Parse(TestServices.TransportUrl),
        ConnectionNamePrefix = connectionPrefix ?? UniqueName("nova-test"),
        RabbitRetryInterval = 1,
        KombuReconnectDelay = 0,
        // Test queues must not outlive the test run for half an hour.
        RabbitTransientQueuesTtl = 120,
    };

    /// <summary><paramref name="stem"/> and 12 random hex digits.</summary>
    public static string UniqueName(string stem) => $"{stem}-{Guid.NewGuid():N}"[..(stem.Length + 13)];

    /// <summary>A plain RabbitMQ.Client connection to the test vhost, for observing and injecting messages.</summary>
    public static async Task<IConnection> RawConnectionAsync()
    {
        var url = TransportUrl.Parse(TestServices.TransportUrl);
        var host = url.Hosts[0];
        var factory = new ConnectionFactory
        {
            HostName = host.Host,
            Port = host.Port ?? 5672,
            UserName = host.UserName ?? "guest",
            Password = host.Password ?? "guest",
            VirtualHost = url.EffectiveVirtualHost,
            ClientProvidedName = UniqueName("nova-test-raw"),
        };
        return await factory.CreateConnectionAsync();
    }

    /// <summary>Runs <c>rabbitmqctl</c> (the tests run where the broker runs) and returns its stdout.</summary>
    public static async Task<string> RabbitmqctlAsync(params string[] args)
    {
        var start = new ProcessStartInfo("rabbitmqctl") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-q");
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            TestServices.Unavailable("rabbitmqctl is not available on this machine (./build.sh services installs rabbitmq-server)");
            throw;
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"rabbitmqctl {string.Join(' ', args)} failed: {await stderr}");
            }
            return await stdout;
        }
    }

    /// <summary>
    /// Force-closes the connections of the test vhost whose client-provided name starts with
    /// <paramref name="namePrefix"/>. The broker is shared with other test runs, so restarting the
    /// node is not an option; a forced close (what the broker does to every connection when it
    /// goes down) drives the same client recovery path. Returns how many were closed.
    /// </summary>
    public static async Task<int> CloseConnectionsAsync(string namePrefix)
    {
        // Plain output: the pid in the form close_connection takes, then the client properties,
        // which carry the client-provided name as {"connection_name","..."}.
        var listing = await RabbitmqctlAsync("list_connections", "pid", "vhost", "client_properties", "--no-table-headers");
        var closed = 0;
        foreach (var line in listing.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var columns = line.Split('\t');
            if (columns.Length < 3 || columns[1] != TestServices.RabbitVhost)
            {
                continue;
            }
            var name = System.Text.RegularExpressions.Regex.Match(columns[2], "\\{\"connection_name\",\"([^\"]*)\"\\}");
            if (name.Success && name.Groups[1].Value.StartsWith(namePrefix, StringComparison.Ordinal))
            {
                await RabbitmqctlAsync("close_connection", columns[0], "test: forced close");
                closed++;
            }
        }
        return closed;
    }

    /// <summary>The names of the test vhost's queues, by one <c>rabbitmqctl list_queues</c>.</summary>
    public static async Task<HashSet<string>> QueueNamesAsync()
    {
        var listing = await RabbitmqctlAsync("list_queues", "-p", TestServices.RabbitVhost, "name", "--formatter", "json");
        using var document = JsonDocument.Parse(listing);
        return document.RootElement.EnumerateArray().Select(q => q.GetProperty("name").GetString()!).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Queue properties as the broker reports them (<c>rabbitmqctl list_queues</c>).</summary>
    public static async Task<QueueInfo?> QueueAsync(string name)
    {
        var listing = await RabbitmqctlAsync("list_queues", "-p", TestServices.RabbitVhost, "name", "durable", "auto_delete", "exclusive",
            "arguments", "--formatter", "json");
        using var document = JsonDocument.Parse(listing);
        foreach (var queue in document.RootElement.EnumerateArray())
        {
            if (queue.GetProperty("name").GetString() == name)
            {
                var arguments = new Dictionary<string, string>();
                if (queue.GetProperty("arguments") is { ValueKind: JsonValueKind.Array } args)
                {
                    foreach (var a in args.EnumerateArray())
                    {
                        arguments[a[0].GetString()!] = a[2].ToString();
                    }
                }
                return new QueueInfo(name, Flag(queue, "durable"), Flag(queue, "auto_delete"), Flag(queue, "exclusive"), arguments);
            }
        }
        return null;
    }

    // Quorum queues report some flags as "" rather than false.
    private static bool Flag(JsonElement queue, string name) =>
        queue.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;

    /// <summary>Exchange properties as the broker reports them.</summary>
    public static async Task<(string Type, bool Durable, bool AutoDelete)?> ExchangeAsync(string name)
    {
        var listing = await RabbitmqctlAsync("list_exchanges", "-p", TestServices.RabbitVhost, "name", "type", "durable", "auto_delete",
            "--formatter", "json");
        using var document = JsonDocument.Parse(listing);
        foreach (var exchange in document.RootElement.EnumerateArray())
        {
            if (exchange.GetProperty("name").GetString() == name)
            {
                return (exchange.GetProperty("type").GetString()!, exchange.GetProperty("durable").GetBoolean(),
                    exchange.GetProperty("auto_delete").GetBoolean());
            }
        }
        return null;
    }

    internal sealed record QueueInfo(string Name, bool Durable, bool AutoDelete, bool Exclusive, IReadOnlyDictionary<string, string> Arguments);
}
