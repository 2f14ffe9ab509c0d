using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace NovaCompute.Api;

/// <summary>nova's <c>JSONDeserializer</c> (nova/api/openstack/wsgi.py) for a request body.</summary>
internal static class RequestBody
{
    /// <summary>
    /// The body of a PUT: null when empty (nova passes <c>body=None</c>, which its schema then
    /// refuses), 413 beyond <c>max_request_body_size</c>, 400 when it is not JSON.
    /// </summary>
    public static async Task<JsonElement?> ReadJsonAsync(HttpContext context, int maxRequestBodySize)
    {
        var request = context.Request;
        if (request.ContentLength > maxRequestBodySize)
        {
            throw new ComputeFault(StatusCodes.Status413PayloadTooLarge,
                $"Request is too large. Larger than max_request_body_size ({maxRequestBodySize}).");
        }
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
        if (buffer.Length == 0)
        {
            return null;
        }
        // Whatever json.loads refuses (invalid UTF-8 included, a UnicodeDecodeError there) is
        // MalformedRequestBody, a 400 — never a 500 later when a string is read (JsonDocument
        // defers transcoding until GetString()).
        var bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        if (!System.Text.Unicode.Utf8.IsValid(bytes))
        {
            throw new ComputeFault(StatusCodes.Status400BadRequest, "Malformed request body");
        }
        try
        {
            using var document = JsonDocument.Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), new JsonDocumentOptions { MaxDepth = 64 });
            EnsureStringsDecode(document.RootElement);
            return document.RootElement.Clone();
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            throw new ComputeFault(StatusCodes.Status400BadRequest, "Malformed request body");
        }
    }

    /// <summary>
    /// Reads every string and property name once: an escaped lone surrogate (<c>"\ud800"</c>) is valid
    /// JSON that .NET cannot turn into a string, so it is refused here rather than where it is used.
    /// </summary>
    private static void EnsureStringsDecode(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                _ = element.GetString();
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    EnsureStringsDecode(item);
                }
                break;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    _ = property.Name;
                    EnsureStringsDecode(property.Value);
                }
                break;
        }
    }
}
