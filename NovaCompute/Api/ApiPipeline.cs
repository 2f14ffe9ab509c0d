using System.Data.Common;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;
using NovaCompute.Config;

namespace NovaCompute.Api;

/// <summary>
/// Everything between Kestrel and the handlers, in the order nova's paste pipeline has it: request
/// id (oslo.middleware), access check (keystonemiddleware's place), request size limit, then the
/// compute API proper (microversion, content type, routes). Around it, what eventlet's server did:
/// the pool of concurrent requests, the header line limit, keep-alive and the access log line.
/// </summary>
internal sealed partial class ApiPipeline
{
    /// <summary>The access log's logger; nova names it after the API: <c>nova.osapi_compute.wsgi.server</c>.</summary>
    public const string AccessLogCategory = "NovaCompute.osapi_compute.wsgi.server";

    private static readonly string[] JsonContentTypes = ["application/json", "application/vnd.openstack.compute+json"];

    private readonly ServicesApi _services;
    private readonly DaemonStatusApi _status;
    private readonly IConfigMonitor _config;
    private readonly ApiSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ILogger _accessLogger;
    private readonly AccessLogFormat _accessFormat;
    private readonly SemaphoreSlim? _slots;
    private int _inFlight;
    private int _tokenWarningLogged;

    public ApiPipeline(ServicesApi services, DaemonStatusApi status, IConfigMonitor config, ApiSettings settings, TimeProvider time,
        ILoggerFactory loggerFactory)
    {
        _services = services;
        _status = status;
        _config = config;
        _settings = settings;
        _time = time;
        _logger = loggerFactory.CreateLogger<ApiPipeline>();
        _accessLogger = loggerFactory.CreateLogger(AccessLogCategory);
        _accessFormat = new AccessLogFormat(settings.LogFormat);
        _slots = settings.PoolSize > 0 ? new SemaphoreSlim(settings.PoolSize, settings.PoolSize) : null;
    }

    /// <summary>Requests being handled right now (for the drain on stop).</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    public async Task InvokeAsync(HttpContext context)
    {
        var started = _time.GetTimestamp();
        var requestId = "req-" + Guid.NewGuid().ToString("D");
        var response = context.Response;
        response.Headers["x-openstack-request-id"] = requestId;
        response.Headers["x-compute-request-id"] = requestId;
        if (!_settings.KeepAlive)
        {
            response.Headers.Connection = "close";
        }
        var scope = new Dictionary<string, object?> { ["RequestId"] = requestId };
        if (GlobalRequestId(context.Request.Headers) is { } globalRequestId)
        {
            scope["GlobalRequestId"] = globalRequestId;
        }
        Interlocked.Increment(ref _inFlight);
        using (_logger.BeginScope(scope))
        {
            try
            {
                if (_slots is not null)
                {
                    await _slots.WaitAsync(context.RequestAborted).ConfigureAwait(false);
                }
                try
                {
                    await HandleAsync(context, requestId).ConfigureAwait(false);
                }
                finally
                {
                    _slots?.Release();
                }
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                Log.ClientGone(_logger, context.Request.Method, context.Request.Path.Value);
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
                WriteAccessLog(context, _time.GetElapsedTime(started));
            }
        }
    }

    private async Task HandleAsync(HttpContext context, string requestId)
    {
        Microversion? version = null;
        try
        {
            CheckHeaderLines(context.Request.Headers);
            var path = context.Request.Path.Value ?? "/";
            if (path == "/v2.1" || path.StartsWith("/v2.1/", StringComparison.Ordinal))
            {
                await ComputeAsync(context, path["/v2.1".Length..], v => version = v).ConfigureAwait(false);
            }
            else
            {
                await RootAsync(context, path).ConfigureAwait(false);
            }
        }
        catch (ComputeFault fault) when (!context.Response.HasStarted)
        {
            Log.Fault(_logger, fault.Status, fault.Message);
            version?.AddResponseHeaders(context.Response.Headers);
            await fault.WriteAsync(context).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex) when (!context.Response.HasStarted)
        {
            var message = ex.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? $"Request is too large. Larger than {_settings.MaxRequestBodySize}."
                : ex.Message;
            Log.Fault(_logger, ex.StatusCode, message);
            version?.AddResponseHeaders(context.Response.Headers);
            await new ComputeFault(ex.StatusCode, message).WriteAsync(context).ConfigureAwait(false);
        }
        catch (Exception ex) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested
            && ex is DbException or TimeoutException or OperationCanceledException)
        {
            // A database that fails or does not answer in time: the client may retry, nothing is wrong with the request.
            Log.DatabaseFailed(_logger, ex);
            version?.AddResponseHeaders(context.Response.Headers);
            await new ComputeFault(StatusCodes.Status503ServiceUnavailable, "The services database is not available, please retry later.")
                .WriteAsync(context).ConfigureAwait(false);
        }
        catch (Exception ex) when (!context.Response.HasStarted && ex is not OperationCanceledException)
        {
            Log.Unexpected(_logger, ex);
            version?.AddResponseHeaders(context.Response.Headers);
            await new ComputeFault(StatusCodes.Status500InternalServerError,
                $"Unexpected API Error. Please report this with the nova-compute log of request {requestId}.\n<class '{ex.GetType().Name}'>")
                .WriteAsync(context).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Outside <c>/v2.1</c>: the version list at <c>/</c>, the health check, the status document,
    /// and for any other path nova's 300 Multiple Choices.
    /// </summary>
    private async Task RootAsync(HttpContext context, string path)
    {
        var baseUrl = BaseUrl(context.Request);
        switch (path)
        {
            case "/":
                await ApiJson.WriteAsync(context, StatusCodes.Status200OK, VersionsApi.Index(baseUrl)).ConfigureAwait(false);
                return;
            case "/healthcheck":
                await HealthCheckAsync(context).ConfigureAwait(false);
                return;
            case "/status":
                await ApiJson.WriteAsync(context, StatusCodes.Status200OK, await _status.StatusAsync(context.RequestAborted).ConfigureAwait(false))
                    .ConfigureAwait(false);
                return;
            default:
                await ApiJson.WriteAsync(context, StatusCodes.Status300MultipleChoices, VersionsApi.Choices(baseUrl, path)).ConfigureAwait(false);
                return;
        }
    }

    /// <summary>oslo.middleware's healthcheck answers: <c>OK</c>, or 503 with the reason; JSON when asked for.</summary>
    private async Task HealthCheckAsync(HttpContext context)
    {
        var problem = await _status.HealthProblemAsync(context.RequestAborted).ConfigureAwait(false);
        var status = problem is null ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        var accept = context.Request.Headers.Accept.ToString();
        if (accept.Contains("application/json", StringComparison.OrdinalIgnoreCase))
        {
            await ApiJson.WriteAsync(context, status, new JsonObject
            {
                ["detailed"] = false,
                ["reasons"] = problem is null ? new JsonArray() : new JsonArray(problem),
            }).ConfigureAwait(false);
            return;
        }
        var body = Encoding.UTF8.GetBytes(problem ?? "OK");
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=UTF-8";
        context.Response.ContentLength = body.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
        }
    }

    /// <summary>The compute API v2.1: what nova's <c>wsgi.Resource</c> does before and after a controller method.</summary>
    private async Task ComputeAsync(HttpContext context, string rest, Action<Microversion> negotiated)
    {
        var request = context.Request;
        var segments = rest.Split('/', StringSplitOptions.RemoveEmptyEntries);
        // nova also routes every path with a project id in front of it (/v2.1/{project_id}/os-services).
        if (segments.Length >= 2 && ProjectId().IsMatch(segments[0]) && segments[1] == "os-services")
        {
            segments = segments[1..];
        }
        var isChange = HttpMethods.IsPut(request.Method) || HttpMethods.IsDelete(request.Method);
        if (isChange && segments is ["os-services", _])
        {
            Authorize(context, HttpMethods.IsPut(request.Method) ? "update" : "delete");
        }

        var version = Microversion.Negotiate(request.Headers);
        negotiated(version);
        CheckContentType(request);

        JsonNode? result;
        var status = StatusCodes.Status200OK;
        switch (segments)
        {
            case [] when IsRead(request):
                result = VersionsApi.V21(BaseUrl(request));
                break;
            case ["os-services"] when IsRead(request):
                Log.Calling(_logger, "index", request.Method);
                result = await _services.IndexAsync(context, version).ConfigureAwait(false);
                break;
            case ["os-services", var id] when HttpMethods.IsPut(request.Method):
                Log.Calling(_logger, "update", request.Method);
                var body = await ReadBodyAsync(context).ConfigureAwait(false);
                result = await _services.UpdateAsync(context, version, id, body).ConfigureAwait(false);
                break;
            case ["os-services", var id] when HttpMethods.IsDelete(request.Method):
                Log.Calling(_logger, "delete", request.Method);
                await _services.DeleteAsync(context, version, id).ConfigureAwait(false);
                result = null;
                status = StatusCodes.Status204NoContent;
                break;
            default:
                throw new ComputeFault(StatusCodes.Status404NotFound, "The resource could not be found.");
        }
        version.AddResponseHeaders(context.Response.Headers);
        if (result is null)
        {
            context.Response.StatusCode = status;
            context.Response.ContentLength = 0;
            return;
        }
        await ApiJson.WriteAsync(context, status, result).ConfigureAwait(false);
    }

    private static bool IsRead(HttpRequest request) => HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method);

    /// <summary>
    /// Stands in for Keystone and nova's admin-only policy: a change needs <c>X-Auth-Token</c> equal to
    /// <c>[api] admin_token</c> (read per request, so a SIGHUP can set or rotate it). Without a
    /// configured token every change is refused with nova's policy message (403); a missing or
    /// wrong token is keystonemiddleware's 401.
    /// </summary>
    private void Authorize(HttpContext context, string action)
    {
        var expected = _config.Current.Get(ApiOptions.AdminToken);
        if (string.IsNullOrEmpty(expected))
        {
            if (Interlocked.Exchange(ref _tokenWarningLogged, 1) == 0)
            {
                Log.NoAdminToken(_logger);
            }
            throw new ComputeFault(StatusCodes.Status403Forbidden, $"Policy doesn't allow os_compute_api:os-services:{action} to be performed.");
        }
        var given = context.Request.Headers["X-Auth-Token"].ToString();
        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(expected)))
        {
            Log.TokenRefused(_logger, given.Length == 0 ? "no X-Auth-Token" : "a wrong X-Auth-Token");
            context.Response.Headers.WWWAuthenticate = "Keystone realm=\"nova-compute\"";
            throw new ComputeFault(StatusCodes.Status401Unauthorized, "The request you have made requires authentication.");
        }
    }

    /// <summary>nova's <c>get_content_type</c>: no type, an empty one or text/plain pass; JSON types pass; others are 415.</summary>
    private static void CheckContentType(HttpRequest request)
    {
        if (!request.Headers.ContainsKey(HeaderNames.ContentType))
        {
            return;
        }
        var mediaType = MediaTypeHeaderValue.TryParse(request.ContentType, out var parsed) ? parsed.MediaType.Value ?? "" : request.ContentType ?? "";
        if (mediaType.Length == 0 || mediaType.Equals("text/plain", StringComparison.OrdinalIgnoreCase)
            || JsonContentTypes.Contains(mediaType, StringComparer.OrdinalIgnoreCase))
        {
            return;
        }
        throw new ComputeFault(StatusCodes.Status415UnsupportedMediaType, "Unsupported Content-Type");
    }

    /// <summary>
    /// The body of a PUT: null when empty (nova passes <c>body=None</c>, which its schema then
    /// refuses), 413 beyond <c>max_request_body_size</c>, 400 when it is not JSON.
    /// </summary>
    private async Task<JsonElement?> ReadBodyAsync(HttpContext context)
    {
        var request = context.Request;
        if (request.ContentLength > _settings.MaxRequestBodySize)
        {
            throw new ComputeFault(StatusCodes.Status413PayloadTooLarge,
                $"Request is too large. Larger than max_request_body_size ({_settings.MaxRequestBodySize}).");
        }
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
        if (buffer.Length == 0)
        {
            return null;
        }
        // nova's JSONDeserializer: whatever json.loads refuses (invalid UTF-8 included, a
        // UnicodeDecodeError there) is MalformedRequestBody, a 400 — never a 500 later when a
        // string is read (JsonDocument defers transcoding until GetString()).
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

    /// <summary>eventlet's <c>max_header_line</c>: a header line (<c>Name: value</c>) longer than that is refused.</summary>
    private void CheckHeaderLines(IHeaderDictionary headers)
    {
        if (_settings.MaxHeaderLine <= 0)
        {
            return;
        }
        foreach (var (name, values) in headers)
        {
            foreach (var value in values)
            {
                if (name.Length + 2 + (value?.Length ?? 0) > _settings.MaxHeaderLine)
                {
                    throw new ComputeFault(StatusCodes.Status400BadRequest, $"Header Line Too Long: the {name} header is longer than max_header_line ({_settings.MaxHeaderLine})");
                }
            }
        }
    }

    /// <summary>An inbound <c>X-OpenStack-Request-ID</c> of the right form becomes the global request id (oslo.middleware).</summary>
    private static string? GlobalRequestId(IHeaderDictionary headers) =>
        headers.TryGetValue("X-OpenStack-Request-ID", out var values) && values.Count == 1 && RequestIdFormat().IsMatch(values[0] ?? "")
            ? values[0]
            : null;

    [GeneratedRegex("^req-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$", RegexOptions.CultureInvariant)]
    private static partial Regex RequestIdFormat();

    [GeneratedRegex("^[0-9a-f-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex ProjectId();

    /// <summary>webob's <c>application_url</c>: scheme and Host header (or the address the request came to).</summary>
    private static string BaseUrl(HttpRequest request) =>
        request.Scheme + "://" + (request.Host.HasValue ? request.Host.Value : request.HttpContext.Connection.LocalIpAddress + ":" + request.HttpContext.Connection.LocalPort);

    private void WriteAccessLog(HttpContext context, TimeSpan elapsed)
    {
        if (!_accessLogger.IsEnabled(LogLevel.Information))
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
        var line = _accessFormat.Render(new AccessLogEntry(
            remote?.ToString() ?? IPAddress.None.ToString(),
            connection.RemotePort,
            _time.GetUtcNow(),
            $"{request.Method} {target} {request.Protocol}",
            context.Response.StatusCode,
            context.Response.ContentLength ?? 0,
            elapsed.TotalSeconds));
        Log.Access(_accessLogger, line);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1710, Level = LogLevel.Information, Message = "{AccessLine}")]
        public static partial void Access(ILogger logger, string accessLine);

        [LoggerMessage(EventId = 1711, Level = LogLevel.Debug, Message = "Calling method '{Action}' of os-services for {Method}")]
        public static partial void Calling(ILogger logger, string action, string method);

        [LoggerMessage(EventId = 1712, Level = LogLevel.Debug, Message = "Returning {Code} to user: {Explanation}")]
        public static partial void Fault(ILogger logger, int code, string explanation);

        [LoggerMessage(EventId = 1713, Level = LogLevel.Information, Message = "Client went away before {Method} {Path} was answered")]
        public static partial void ClientGone(ILogger logger, string method, string? path);

        [LoggerMessage(EventId = 1714, Level = LogLevel.Error, Message = "Request failed: the services database is not available")]
        public static partial void DatabaseFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 1715, Level = LogLevel.Error, Message = "Unexpected exception in API method")]
        public static partial void Unexpected(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 1716, Level = LogLevel.Warning,
            Message = "A change through the os-services API was refused: [api] admin_token is not set, so the API is read-only")]
        public static partial void NoAdminToken(ILogger logger);

        [LoggerMessage(EventId = 1717, Level = LogLevel.Warning, Message = "A change through the os-services API was refused: {Reason}")]
        public static partial void TokenRefused(ILogger logger, string reason);
    }
}
