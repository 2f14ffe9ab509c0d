using System.Text.Json;
using NovaCompute.Messaging.Rpc;

namespace NovaCompute.Bench;

/// <summary>
/// A request context of the size and shape nova's ComputeAPI sends when a user's API request turns
/// into an RPC call (nova/compute/rpcapi.py over nova/context.py's <c>to_dict()</c> over
/// oslo_context/context.py): user and project ids and names, domains, three roles, a Keystone token, request and
/// global request ids, the caller's address and the service catalog nova keeps (entries of type
/// image, block-storage, volumev3, key-manager, placement, network; keystonemiddleware's v2
/// layout). The oslo captures in shared/reference carry an empty catalog and no roles because
/// they came from a test client; an API-originated call is three to four times that size, and
/// every server parses all of it.
/// </summary>
internal static class NovaRequest
{
    private const string ProjectId = "5a8e1d3c0b6f4e2a9c7d1b3e5f7a9c0d";
    private const string UserId = "c0ffee5e4b1d4e8f9a2b6c3d7e1f0a9b";

    private static readonly string[] Roles = ["reader", "member", "admin"];

    // A Fernet token is 180-250 URL-safe base64 characters; this one is 220.
    private static readonly string Token = "gAAAAABnQ" + string.Concat(Enumerable.Repeat("x7Kq2Vd9Lm4Rt8Wb1Yc6Zp3Nh5Fj0Gs", 7)).Substring(0, 211);

    private static readonly JsonElement Catalog = JsonDocument.Parse(CatalogJson()).RootElement.Clone();

    /// <summary>A fresh context (new request id and timestamp) as nova-api would build it for one user request.</summary>
    public static RequestContext Context() => new()
    {
        UserId = UserId,
        ProjectId = ProjectId,
        UserName = "demo",
        ProjectName = "demo-project",
        UserDomainId = "default",
        ProjectDomainId = "default",
        IsAdmin = false,
        Roles = Roles,
        AuthToken = Token,
        GlobalRequestId = RequestContext.NewRequestId(),
        RemoteAddress = "10.20.30.40",
        ServiceCatalog = Catalog,
        Timestamp = DateTime.UtcNow,
    };

    private static string CatalogJson()
    {
        (string Type, string Name, string Path)[] services =
        [
            ("image", "glance", ":9292"),
            ("block-storage", "cinder", ":8776/v3/" + ProjectId),
            ("volumev3", "cinderv3", ":8776/v3/" + ProjectId),
            ("key-manager", "barbican", ":9311"),
            ("placement", "placement", "/placement"),
            ("network", "neutron", ":9696"),
        ];
        var entries = services.Select(s =>
            $$"""{"endpoints": [{"adminURL": "http://192.168.24.10{{s.Path}}", "region": "RegionOne", "internalURL": "http://192.168.24.10{{s.Path}}", "publicURL": "https://cloud.example.org{{s.Path}}"}], "type": "{{s.Type}}", "name": "{{s.Name}}"}""");
        return "[" + string.Join(", ", entries) + "]";
    }
}
