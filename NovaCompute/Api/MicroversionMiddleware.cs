using Microsoft.AspNetCore.Http;

namespace NovaCompute.Api;

/// <summary>
/// nova's <c>wsgi.Resource</c> before a controller method, for every route of the compute API
/// (those marked with <see cref="ComputeApiEndpoint"/>, unknown paths under <c>/v2.1</c> included):
/// the microversion is negotiated (400/406 when it cannot be) and every answer from then on carries
/// it, errors too, with <c>Vary</c>.
/// </summary>
internal sealed class MicroversionMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<ComputeApiEndpoint>() is null)
        {
            return next(context);
        }
        var version = Microversion.Negotiate(context.Request.Headers);
        context.Features.Set(new MicroversionFeature(version));
        context.Response.OnStarting(static state =>
        {
            var (response, negotiated) = ((HttpResponse, Microversion))state;
            negotiated.AddResponseHeaders(response.Headers);
            return Task.CompletedTask;
        }, (context.Response, version));
        return next(context);
    }
}

/// <summary>The microversion negotiated for this request (<see cref="Microversion.Of"/>).</summary>
internal sealed record MicroversionFeature(Microversion Version);

/// <summary>Endpoint metadata: a route of the compute API v2.1 (microversioned, JSON bodies).</summary>
internal sealed class ComputeApiEndpoint
{
    public static readonly ComputeApiEndpoint Instance = new();

    private ComputeApiEndpoint()
    {
    }
}
