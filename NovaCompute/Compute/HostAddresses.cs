using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace NovaCompute.Compute;

/// <summary>
/// The default of <c>my_ip</c>. oslo's <c>get_my_ipv4</c> connects a UDP socket towards 8.8.8.8 to
/// learn the source address the kernel would pick; this reads the same answer without touching the
/// network: the IPv4 address of the interface holding the default route (<c>/proc/net/route</c>),
/// else the first IPv4 address of an interface that is up, else 127.0.0.1 (oslo's fallback).
/// </summary>
internal static class HostAddresses
{
    public static string DefaultIPv4()
    {
        try
        {
            var interfaces = NetworkInterface.GetAllNetworkInterfaces();
            var routed = DefaultRouteInterface("/proc/net/route");
            var candidates = interfaces
                .Where(i => i.OperationalStatus is OperationalStatus.Up or OperationalStatus.Unknown && i.NetworkInterfaceType != NetworkInterfaceType.Loopback)
                .OrderBy(i => i.Name == routed ? 0 : 1);
            foreach (var nic in candidates)
            {
                var address = nic.GetIPProperties().UnicastAddresses
                    .Select(a => a.Address)
                    .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
                if (address is not null)
                {
                    return address.ToString();
                }
            }
        }
        catch (Exception ex) when (ex is NetworkInformationException or IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            // As oslo: no usable interface information means the loopback address.
        }
        return "127.0.0.1";
    }

    /// <summary>The interface of the lowest-metric default route in a <c>/proc/net/route</c> table, or null.</summary>
    internal static string? DefaultRouteInterface(string routeTable)
    {
        if (!File.Exists(routeTable))
        {
            return null;
        }
        string? best = null;
        var bestMetric = int.MaxValue;
        foreach (var line in File.ReadLines(routeTable).Skip(1))
        {
            // Iface Destination Gateway Flags RefCnt Use Metric Mask ...
            var fields = line.Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 8 || fields[1] != "00000000" || fields[7] != "00000000")
            {
                continue;
            }
            if (int.TryParse(fields[6], NumberStyles.Integer, CultureInfo.InvariantCulture, out var metric) && metric < bestMetric)
            {
                best = fields[0];
                bestMetric = metric;
            }
        }
        return best;
    }
}
