using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace NovaCompute.Api;

/// <summary>A compute API microversion (nova's <c>APIVersionRequest</c>): <c>2.53</c>.</summary>
internal readonly partial record struct Microversion(int Major, int Minor) : IComparable<Microversion>
{
    /// <summary>The range nova 26 (Zed) serves, and so this daemon: clients negotiate within it.</summary>
    public static readonly Microversion Min = new(2, 1);
    public static readonly Microversion Max = new(2, 93);

    /// <summary>forced_down in the service view and the force-down action.</summary>
    public static readonly Microversion ForcedDown = new(2, 11);

    /// <summary>Services are identified by uuid; PUT /os-services/{uuid}.</summary>
    public static readonly Microversion UuidForId = new(2, 53);

    /// <summary>Unknown query parameters of GET /os-services are refused.</summary>
    public static readonly Microversion StrictQuery = new(2, 75);

    public const string Header = "OpenStack-API-Version";
    public const string LegacyHeader = "X-OpenStack-Nova-API-Version";
    private const string ServiceType = "compute";

    [GeneratedRegex(@"^([1-9]\d*)\.([1-9]\d*|0)$", RegexOptions.CultureInvariant)]
    private static partial Regex Format();

    public static bool TryParse(string text, out Microversion version)
    {
        var match = Format().Match(text);
        if (match.Success
            && int.TryParse(match.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var major)
            && int.TryParse(match.Groups[2].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var minor))
        {
            version = new Microversion(major, minor);
            return true;
        }
        version = default;
        return false;
    }

    /// <summary>
    /// nova's <c>set_api_version_request</c> over microversion_parse's <c>get_version</c>: the
    /// <c>compute</c> entry of <c>OpenStack-API-Version</c>, else <c>X-OpenStack-Nova-API-Version</c>;
    /// none means 2.1, <c>latest</c> means 2.93.
    /// </summary>
    /// <exception cref="ComputeFault">400 for a malformed version, 406 outside 2.1–2.93.</exception>
    public static Microversion Negotiate(IHeaderDictionary headers)
    {
        var requested = FromStandardHeader(headers) ?? FromLegacyHeader(headers);
        if (requested is null)
        {
            return Min;
        }
        if (requested == "latest")
        {
            return Max;
        }
        if (!TryParse(requested, out var version))
        {
            throw new ComputeFault(StatusCodes.Status400BadRequest,
                $"API Version String {requested} is of invalid format. Must be of format MajorNum.MinorNum.");
        }
        if (version < Min || version > Max)
        {
            throw new ComputeFault(StatusCodes.Status406NotAcceptable,
                $"Version {version} is not supported by the API. Minimum is {Min} and maximum is {Max}.");
        }
        return version;
    }

    /// <summary><c>OpenStack-API-Version: compute 2.53, placement 1.10</c> (several headers fold into one list).</summary>
    private static string? FromStandardHeader(IHeaderDictionary headers)
    {
        if (!headers.TryGetValue(Header, out var values))
        {
            return null;
        }
        foreach (var value in values)
        {
            foreach (var entry in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var parts = entry.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length == 2 && parts[0].Equals(ServiceType, StringComparison.OrdinalIgnoreCase))
                {
                    return parts[1].Trim();
                }
            }
        }
        return null;
    }

    private static string? FromLegacyHeader(IHeaderDictionary headers) =>
        headers.TryGetValue(LegacyHeader, out var values) && values.Count > 0
            ? string.Join(",", values.Select(v => v?.Trim())).Trim()
            : null;

    /// <summary>The version <see cref="MicroversionMiddleware"/> negotiated for this request.</summary>
    public static Microversion Of(HttpContext context) => context.Features.GetRequiredFeature<MicroversionFeature>().Version;

    /// <summary>nova's response headers for a negotiated version (also on errors once negotiated).</summary>
    public void AddResponseHeaders(IHeaderDictionary headers)
    {
        headers[Header] = $"{ServiceType} {this}";
        headers[LegacyHeader] = ToString();
        headers.Append("Vary", Header);
        headers.Append("Vary", LegacyHeader);
    }

    public int CompareTo(Microversion other) => Major != other.Major ? Major.CompareTo(other.Major) : Minor.CompareTo(other.Minor);

    public static bool operator <(Microversion a, Microversion b) => a.CompareTo(b) < 0;
    public static bool operator >(Microversion a, Microversion b) => a.CompareTo(b) > 0;
    public static bool operator <=(Microversion a, Microversion b) => a.CompareTo(b) <= 0;
    public static bool operator >=(Microversion a, Microversion b) => a.CompareTo(b) >= 0;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Major}.{Minor}");
}
