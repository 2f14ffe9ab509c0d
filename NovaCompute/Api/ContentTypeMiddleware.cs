using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace NovaCompute.Api;

/// <summary>
/// nova's <c>get_content_type</c> for the compute API's routes (<see cref="ComputeApiEndpoint"/>):
/// no type, an empty one or text/plain pass; JSON types pass; any other is 415.
/// </summary>
internal sealed class ContentTypeMiddleware(RequestDelegate next)
{
    private static readonly string[] JsonContentTypes = ["application/json", "application/vnd.openstack.compute+json"];

    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (context.GetEndpoint()?.Metadata.GetMetadata<ComputeApiEndpoint>() is null || !request.Headers.ContainsKey(HeaderNames.ContentType))
        {
            return next(context);
        }
        var mediaType = MediaTypeHeaderValue.TryParse(request.ContentType, out var parsed) ? parsed.MediaType.Value ?? "" : request.ContentType ?? "";
        if (mediaType.Length == 0 || mediaType.Equals("text/plain", StringComparison.OrdinalIgnoreCase)
            || JsonContentTypes.Contains(mediaType, StringComparer.OrdinalIgnoreCase))
        {
            return next(context);
        }
        throw new ComputeFault(StatusCodes.Status415UnsupportedMediaType, "Unsupported Content-Type");
    }
}
