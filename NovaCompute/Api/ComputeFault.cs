using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace NovaCompute.Api;

/// <summary>
/// An error answer in nova's format (nova/api/openstack/wsgi.py <c>Fault</c>):
/// <c>{"badRequest": {"code": 400, "message": "…"}}</c>, the key named after the status.
/// Handlers throw it; the pipeline writes it.
/// </summary>
internal sealed class ComputeFault(int status, string message) : Exception(message)
{
    public int Status { get; } = status;

    /// <summary>nova's <c>Fault._fault_names</c>; any other status is a <c>computeFault</c>.</summary>
    public static string NameOf(int status) => status switch
    {
        400 => "badRequest",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "itemNotFound",
        405 => "badMethod",
        409 => "conflictingRequest",
        413 => "overLimit",
        415 => "badMediaType",
        429 => "overLimit",
        501 => "notImplemented",
        503 => "serviceUnavailable",
        _ => "computeFault",
    };

    public static JsonObject Body(int status, string message) => new()
    {
        [NameOf(status)] = new JsonObject { ["code"] = status, ["message"] = message },
    };

    public Task WriteAsync(HttpContext context) => ApiJson.WriteAsync(context, Status, Body(Status, Message));
}

/// <summary>JSON answers as nova sends them: <c>application/json</c>, UTF-8.</summary>
internal static class ApiJson
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // The body is application/json, never HTML: '+' and quotes need no \u escapes (nova's JSON has none).
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static async Task WriteAsync(HttpContext context, int status, JsonNode body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            body.WriteTo(writer);
        }
        var bytes = buffer.WrittenMemory;
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = bytes.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
        }
    }
}
