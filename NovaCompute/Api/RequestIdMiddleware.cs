using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace NovaCompute.Api;

/// <summary>
/// oslo.middleware's <c>request_id</c> (oslo_middleware/request_id.py): every answer carries a fresh
/// <c>req-&lt;uuid&gt;</c> as <c>x-openstack-request-id</c> and nova's <c>x-compute-request-id</c>; an
/// inbound <c>X-OpenStack-Request-ID</c> of the right form becomes the global request id. Both go
/// into the log scope of everything the request logs, the access line included; the id is also the
/// request's <see cref="HttpContext.TraceIdentifier"/> (the 500 body names it).
/// </summary>
internal sealed partial class RequestIdMiddleware(RequestDelegate next, ILogger logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var requestId = "req-" + Guid.NewGuid().ToString("D");
        context.TraceIdentifier = requestId;
        context.Response.Headers["x-openstack-request-id"] = requestId;
        context.Response.Headers["x-compute-request-id"] = requestId;
        var scope = new Dictionary<string, object?> { ["RequestId"] = requestId };
        if (GlobalRequestId(context.Request.Headers) is { } globalRequestId)
        {
            scope["GlobalRequestId"] = globalRequestId;
        }
        using (logger.BeginScope(scope))
        {
            await next(context).ConfigureAwait(false);
        }
    }

    private static string? GlobalRequestId(IHeaderDictionary headers) =>
        headers.TryGetValue("X-OpenStack-Request-ID", out var values) && values.Count == 1 && RequestIdFormat().IsMatch(values[0] ?? "")
            ? values[0]
            : null;

    [GeneratedRegex("^req-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$", RegexOptions.CultureInvariant)]
    private static partial Regex RequestIdFormat();
}
