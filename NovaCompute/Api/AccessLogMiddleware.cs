using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace NovaCompute.Api;

/// <summary>
/// eventlet.wsgi's access log: one line per request once it is answered, in <c>wsgi_log_format</c>,
/// on the <see cref="ApiPipeline.AccessLogCategory"/> logger. A client that goes away before its
/// answer is logged as such, not as an error.
/// </summary>
internal sealed class AccessLogMiddleware(RequestDelegate next, AccessLogFormat format, TimeProvider time, ILogger accessLogger, ILogger logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var started = time.GetTimestamp();
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            ApiPipeline.Log.ClientGone(logger, context.Request.Method, context.Request.Path.Value);
        }
        finally
        {
            Write(context, time.GetElapsedTime(started));
        }
    }

    private void Write(HttpContext context, TimeSpan elapsed)
    {
        if (!accessLogger.IsEnabled(LogLevel.Information))
        {
            return;
        }
        var connection = context.Connection;
        var remote = connection.RemoteIpAddress;
        if (remote is { IsIPv4MappedToIPv6: true })
        {
            remote = remote.MapToIPv4();
        }
        var request = context.Request;
        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? request.Path + request.QueryString;
        var line = format.Render(new AccessLogEntry(
            remote?.ToString() ?? IPAddress.None.ToString(),
            connection.RemotePort,
            time.GetUtcNow(),
            $"{request.Method} {target} {request.Protocol}",
            context.Response.StatusCode,
            context.Response.ContentLength ?? 0,
            elapsed.TotalSeconds));
        ApiPipeline.Log.Access(accessLogger, line);
    }
}
