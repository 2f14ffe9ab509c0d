using System.Globalization;
using System.Text;

namespace NovaCompute.Messaging;

/// <summary>One broker of a <see cref="TransportUrl"/>. <see cref="ToString"/> never shows the password.</summary>
public sealed record TransportHost(string Host, int? Port, string? UserName, string? Password)
{
    /// <summary><c>host:port</c> as oslo logs it (IPv6 hosts in brackets), with the port the driver will use.</summary>
    public string Display(int defaultPort) =>
        (Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host) + ":" + (Port ?? defaultPort).ToString(CultureInfo.InvariantCulture);

    public override string ToString() => Display(5672);
}

/// <summary>
/// oslo.messaging's <c>transport_url</c>:
/// <c>rabbit://[user:pass@]host[:port][,[user:pass@]host[:port]...]/[virtual_host][?option=value&amp;...]</c>,
/// parsed with the same rules as <c>oslo_messaging.TransportURL.parse</c> (last <c>@</c> separates the
/// credentials, user and password percent-decoded, IPv6 in brackets, repeated query keys joined with commas).
/// </summary>
public sealed class TransportUrl
{
    private TransportUrl(string scheme, IReadOnlyList<TransportHost> hosts, string? virtualHost, IReadOnlyDictionary<string, string> query)
    {
        Scheme = scheme;
        Hosts = hosts;
        VirtualHost = virtualHost;
        Query = query;
    }

    /// <summary>Driver name: <c>rabbit</c> (or its alias <c>kombu</c>).</summary>
    public string Scheme { get; }

    /// <summary>Brokers in the order written; empty for <c>rabbit://</c> (meaning guest:guest@localhost).</summary>
    public IReadOnlyList<TransportHost> Hosts { get; }

    /// <summary>The path after the first <c>/</c>, percent-decoded; null when the URL has no path.</summary>
    public string? VirtualHost { get; }

    /// <summary>Per-transport overrides of <c>[oslo_messaging_rabbit]</c> options.</summary>
    public IReadOnlyDictionary<string, string> Query { get; }

    /// <summary>The vhost the broker is asked for: an empty or missing path means <c>/</c>, as kombu does.</summary>
    public string EffectiveVirtualHost => string.IsNullOrEmpty(VirtualHost) ? "/" : VirtualHost;

    public static TransportUrl Parse(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd <= 0)
        {
            throw new InvalidTransportUrlException(url, "No scheme specified");
        }
        var scheme = url[..schemeEnd];
        var rest = url[(schemeEnd + 3)..];

        // urlparse order: fragment, then query, then path.
        var fragment = rest.IndexOf('#', StringComparison.Ordinal);
        if (fragment >= 0)
        {
            rest = rest[..fragment];
        }
        var queryText = "";
        var queryStart = rest.IndexOf('?', StringComparison.Ordinal);
        if (queryStart >= 0)
        {
            queryText = rest[(queryStart + 1)..];
            rest = rest[..queryStart];
        }
        string netloc;
        string? path = null;
        var pathStart = rest.IndexOf('/', StringComparison.Ordinal);
        if (pathStart >= 0)
        {
            netloc = rest[..pathStart];
            path = rest[pathStart..];
        }
        else
        {
            netloc = rest;
        }

        var hosts = new List<TransportHost>();
        foreach (var entry in netloc.Split(','))
        {
            if (entry.Length == 0)
            {
                continue;
            }
            hosts.Add(ParseHost(url, entry));
        }

        var withCredentials = hosts.Where(h => h.UserName is not null).Select(h => h.ToString()).ToList();
        var withoutCredentials = hosts.Where(h => h.UserName is null).Select(h => h.ToString()).ToList();
        return new TransportUrl(scheme, hosts, path is null ? null : Unquote(path[1..]), ParseQuery(url, queryText))
        {
            HostsWithAndWithoutCredentials = withCredentials.Count > 0 && withoutCredentials.Count > 0
                ? (withCredentials, withoutCredentials)
                : null,
        };
    }

    /// <summary>Set when some hosts carry credentials and others do not (oslo logs a warning for it).</summary>
    public (IReadOnlyList<string> With, IReadOnlyList<string> Without)? HostsWithAndWithoutCredentials { get; private init; }

    private static TransportHost ParseHost(string url, string entry)
    {
        string? user = null;
        string? password = null;
        var hostPart = entry;
        var at = entry.LastIndexOf('@');
        if (at >= 0)
        {
            var credentials = entry[..at];
            hostPart = entry[(at + 1)..];
            var colon = credentials.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0)
            {
                password = Unquote(credentials[(colon + 1)..]);
                credentials = credentials[..colon];
            }
            user = Unquote(credentials);
        }

        string host;
        string? portText = null;
        if (hostPart.StartsWith('['))
        {
            var close = hostPart.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw new InvalidTransportUrlException(url, "Invalid IPv6 URL");
            }
            host = hostPart[1..close];
            var after = hostPart[close..];
            var colon = after.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0)
            {
                portText = after[(colon + 1)..];
            }
        }
        else
        {
            var colon = hostPart.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0)
            {
                host = hostPart[..colon];
                portText = hostPart[(colon + 1)..];
            }
            else
            {
                host = hostPart;
            }
        }

        int? port = null;
        if (!string.IsNullOrEmpty(portText))
        {
            if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p is < 0 or > 65535)
            {
                throw new InvalidTransportUrlException(url, $"Invalid port '{portText}'");
            }
            port = p;
        }
        if (host.Length == 0)
        {
            // kombu would quietly connect to localhost; a host entry with credentials or a port
            // but no name is a typo, not a wish for the local broker.
            throw new InvalidTransportUrlException(url, "empty host name");
        }
        return new TransportHost(host, port, user, password);
    }

    private static Dictionary<string, string> ParseQuery(string url, string query)
    {
        var values = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var pair in query.Split('&', ';'))
        {
            if (pair.Length == 0)
            {
                continue;
            }
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0)
            {
                throw new InvalidTransportUrlException(url, $"Query option '{pair}' has no value");
            }
            var key = Unquote(pair[..eq].Replace('+', ' '));
            var value = Unquote(pair[(eq + 1)..].Replace('+', ' '));
            // parse_qs drops blank values by default.
            if (value.Length == 0)
            {
                continue;
            }
            if (!values.TryGetValue(key, out var list))
            {
                values[key] = list = [];
            }
            list.Add(value);
        }
        return values.ToDictionary(kv => kv.Key, kv => string.Join(',', kv.Value), StringComparer.Ordinal);
    }

    private static string Unquote(string value)
    {
        if (!value.Contains('%', StringComparison.Ordinal))
        {
            return value;
        }
        var bytes = new List<byte>(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '%' && i + 2 < value.Length &&
                byte.TryParse(value.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var b))
            {
                bytes.Add(b);
                i += 2;
            }
            else
            {
                // A surrogate pair must be encoded as one scalar, not as two lone halves.
                var length = char.IsHighSurrogate(value[i]) && i + 1 < value.Length ? 2 : 1;
                bytes.AddRange(Encoding.UTF8.GetBytes(value.Substring(i, length)));
                i += length - 1;
            }
        }
        return Encoding.UTF8.GetString([.. bytes]);
    }

    /// <summary>The URL with every password replaced by <c>****</c>, safe for logs.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder(Scheme).Append("://");
        sb.AppendJoin(',', Hosts.Select(h =>
            (h.UserName is null ? "" : Uri.EscapeDataString(h.UserName) + (h.Password is null ? "" : ":****") + "@") +
            (h.Host.Contains(':', StringComparison.Ordinal) ? $"[{h.Host}]" : h.Host) +
            (h.Port is { } p ? ":" + p.ToString(CultureInfo.InvariantCulture) : "")));
        if (VirtualHost is not null)
        {
            sb.Append('/').Append(Uri.EscapeDataString(VirtualHost));
        }
        if (Query.Count > 0)
        {
            sb.Append('?').AppendJoin('&', Query.Select(kv => $"{kv.Key}={kv.Value}"));
        }
        return sb.ToString();
    }
}

/// <summary>oslo's <c>InvalidTransportURL</c>. The message never contains the URL's password.</summary>
public sealed class InvalidTransportUrlException(string url, string reason)
    : Exception($"Invalid transport URL: {Mask(url)}: {reason}")
{
    public string Reason { get; } = reason;

    private static string Mask(string url)
    {
        // user:password@ → user:****@ for every host, without parsing what just failed to parse.
        var sb = new StringBuilder(url.Length);
        var start = url.IndexOf("://", StringComparison.Ordinal);
        var end = start < 0 ? -1 : url.IndexOfAny(['/', '?', '#'], start + 3);
        if (start < 0)
        {
            return url;
        }
        var netloc = end < 0 ? url[(start + 3)..] : url[(start + 3)..end];
        var masked = string.Join(',', netloc.Split(',').Select(h =>
        {
            var at = h.LastIndexOf('@');
            if (at < 0)
            {
                return h;
            }
            var colon = h.IndexOf(':', StringComparison.Ordinal);
            return colon >= 0 && colon < at ? h[..colon] + ":****" + h[at..] : h;
        }));
        sb.Append(url, 0, start + 3).Append(masked);
        if (end >= 0)
        {
            sb.Append(url, end, url.Length - end);
        }
        return sb.ToString();
    }
}
