using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;

namespace NovaCompute.Logging;

/// <summary>
/// The one place where .NET logging categories become the dotted, lower-case logger names
/// operators know from nova (<c>%(name)s</c> in the line, <c>LOGGER_NAME</c> in the journal,
/// and the keys of <c>default_log_levels</c>).
/// <list type="bullet">
/// <item>Our own code reads like nova's modules: namespaces lower-cased, the class name in
/// snake_case: <c>NovaCompute.ServiceGroup.HeartbeatWriter</c> → <c>nova.servicegroup.heartbeat_writer</c>.</item>
/// <item>Our oslo.messaging equivalent logs as <c>oslo.messaging.*</c>, as nova-compute's RPC
/// layer does, so <c>default_log_levels = oslo.messaging=INFO</c> keeps its meaning.</item>
/// <item>Library categories only lose their capitals: <c>Microsoft.Hosting.Lifetime</c> →
/// <c>microsoft.hosting.lifetime</c>, <c>RabbitMQ.Client</c> → <c>rabbitmq.client</c>.</item>
/// </list>
/// </summary>
internal static class LoggerNames
{
    /// <summary>Python's name for events without a category.</summary>
    public const string Root = "root";

    /// <summary>
    /// Classes whose nova module has a different name, so an operator's <c>grep nova.compute.manager</c>
    /// or <c>default_log_levels = nova.service=DEBUG</c> finds them: nova/service.py, nova/compute/manager.py.
    /// </summary>
    private static readonly Dictionary<string, string> NovaModules = new(StringComparer.Ordinal)
    {
        ["NovaCompute.NovaService"] = "nova.service",
        ["NovaCompute.Compute.ComputeManager"] = "nova.compute.manager",
    };

    private static readonly (string Prefix, string Replacement)[] Aliases =
    [
        ("NovaCompute.Messaging", "oslo.messaging"),
        ("NovaCompute", "nova"),
    ];

    private const int CacheLimit = 4096;
    private static readonly ConcurrentDictionary<string, string> Cache = new(StringComparer.Ordinal);

    public static string FromCategory(string? category)
    {
        if (string.IsNullOrEmpty(category))
        {
            return Root;
        }
        if (Cache.TryGetValue(category, out var name))
        {
            return name;
        }
        name = Compute(category);
        if (Cache.Count < CacheLimit)
        {
            Cache.TryAdd(category, name);
        }
        return name;
    }

    private static string Compute(string category)
    {
        // Generic arity ("Foo`1") and nested-type separators ("Outer+Inner") are .NET noise.
        var cleaned = new StringBuilder(category.Length);
        for (var i = 0; i < category.Length; i++)
        {
            var c = category[i];
            if (c == '`')
            {
                while (i + 1 < category.Length && char.IsAsciiDigit(category[i + 1]))
                {
                    i++;
                }
                continue;
            }
            cleaned.Append(c == '+' ? '.' : c);
        }
        var text = cleaned.ToString();
        if (NovaModules.TryGetValue(text, out var module))
        {
            return module;
        }

        foreach (var (prefix, replacement) in Aliases)
        {
            if (text.Length == prefix.Length && text == prefix)
            {
                return replacement;
            }
            if (text.Length > prefix.Length && text.StartsWith(prefix, StringComparison.Ordinal) && text[prefix.Length] == '.')
            {
                var rest = text[(prefix.Length + 1)..].Split('.', StringSplitOptions.RemoveEmptyEntries);
                var sb = new StringBuilder(replacement);
                for (var i = 0; i < rest.Length; i++)
                {
                    sb.Append('.');
                    sb.Append(i == rest.Length - 1 ? JsonNamingPolicy.SnakeCaseLower.ConvertName(rest[i]) : rest[i].ToLowerInvariant());
                }
                return sb.ToString();
            }
        }
        return text.ToLowerInvariant();
    }
}
