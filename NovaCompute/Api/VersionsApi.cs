using System.Text.Json.Nodes;

namespace NovaCompute.Api;

/// <summary>
/// nova's version documents (nova/api/openstack/compute/versions.py and views/versions.py).
/// keystoneauth reads <c>GET /v2.1</c> to learn the microversion range before it sends any
/// microversion, so clients refuse an endpoint without it.
/// </summary>
internal static class VersionsApi
{
    private const string Docs = "http://docs.openstack.org/";

    private sealed record VersionInfo(string Id, string Status, string Version, string MinVersion, string Updated, string MediaType);

    // Sorted by id, as nova's views iterate them.
    private static readonly VersionInfo[] Versions =
    [
        new("v2.0", "SUPPORTED", "", "", "2011-01-21T11:33:21Z", "application/vnd.openstack.compute+json;version=2"),
        new("v2.1", "CURRENT", Microversion.Max.ToString(), Microversion.Min.ToString(), "2013-07-23T11:33:21Z",
            "application/vnd.openstack.compute+json;version=2.1"),
    ];

    /// <summary><c>GET /</c> (200): every version with its range.</summary>
    public static JsonObject Index(string baseUrl) => new()
    {
        ["versions"] = new JsonArray(Versions.Select(v => (JsonNode)new JsonObject
        {
            ["id"] = v.Id,
            ["status"] = v.Status,
            ["version"] = v.Version,
            ["min_version"] = v.MinVersion,
            ["updated"] = v.Updated,
            ["links"] = new JsonArray(new JsonObject { ["rel"] = "self", ["href"] = Href(baseUrl, v.Id, "") }),
        }).ToArray()),
    };

    /// <summary>Any other path outside the API (300 Multiple Choices): where the path lives in each version.</summary>
    public static JsonObject Choices(string baseUrl, string path) => new()
    {
        ["choices"] = new JsonArray(Versions.Select(v => (JsonNode)new JsonObject
        {
            ["id"] = v.Id,
            ["status"] = v.Status,
            ["links"] = new JsonArray(new JsonObject { ["rel"] = "self", ["href"] = Href(baseUrl, v.Id, path) }),
            ["media-types"] = MediaTypes(v),
        }).ToArray()),
    };

    /// <summary><c>GET /v2.1</c>: the document keystoneauth's discovery reads.</summary>
    public static JsonObject V21(string baseUrl)
    {
        var v = Versions[1];
        return new JsonObject
        {
            ["version"] = new JsonObject
            {
                ["id"] = v.Id,
                ["status"] = v.Status,
                ["version"] = v.Version,
                ["min_version"] = v.MinVersion,
                ["updated"] = v.Updated,
                ["links"] = new JsonArray(
                    new JsonObject { ["rel"] = "self", ["href"] = baseUrl.TrimEnd('/') + "/v2.1/" },
                    new JsonObject { ["rel"] = "describedby", ["type"] = "text/html", ["href"] = Docs }),
                ["media-types"] = MediaTypes(v),
            },
        };
    }

    private static JsonArray MediaTypes(VersionInfo v) =>
        new(new JsonObject { ["base"] = "application/json", ["type"] = v.MediaType });

    /// <summary>nova's <c>generate_href</c> + <c>url_join</c>: v2.1 under <c>/v2.1</c>, v2.0 under <c>/v2</c>; an empty path ends in a slash.</summary>
    private static string Href(string baseUrl, string versionId, string path)
    {
        var prefix = versionId.StartsWith("v2.1", StringComparison.Ordinal) ? "v2.1" : "v2";
        var parts = new[] { baseUrl, prefix, path }.Where(p => p.Length > 0).Select(p => p.Trim('/')).ToList();
        if (path.Length == 0)
        {
            parts.Add("");
        }
        return string.Join("/", parts);
    }
}
