using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NovaCompute.Config;

namespace NovaCompute.Api;

/// <summary>
/// Everything between Kestrel and the handlers, in the order nova's paste pipeline has it
/// (nova's api-paste.ini <c>[composite:openstack_compute_api_v21]</c>): request id
/// (oslo.middleware), then what eventlet's server did (access log line, pool of concurrent
/// requests, keep-alive), the fault wrapper, the header line limit; then routing, the access check
/// (keystonemiddleware's place) and the compute API proper (microversion, content type, routes).
/// </summary>
/// <remarks>
/// The routes are nova's (nova/api/openstack/compute/routes.py <c>ROUTE_LIST</c>, each also under
/// <c>/{project_id}</c> as nova's <c>ProjectMapper</c> adds them); outside <c>/v2.1</c> paste's
/// urlmap answers with the version documents. A path or method no route has is nova's 404
/// (nova/api/wsgi.py <c>Router._dispatch</c>), not ASP.NET's 405: every group ends in a catch-all.
/// </remarks>
internal sealed partial class ApiPipeline
{
    /// <summary>The access log's logger; nova names it after the API: <c>nova.osapi_compute.wsgi.server</c>.</summary>
    public const string AccessLogCategory = "NovaCompute.osapi_compute.wsgi.server";

    private static readonly string[] ReadMethods = [HttpMethods.Get, HttpMethods.Head];

    private readonly ServicesApi _services;
    private readonly DaemonStatusApi _status;
    private readonly IConfigMonitor _config;
    private readonly ApiSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ILogger _accessLogger;
    private readonly InFlightRequests _inFlight = new();

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
    }

    /// <summary>Requests being handled right now (for the drain on stop).</summary>
    public int InFlight => _inFlight.Count;

    /// <summary>What the server's own container needs for this pipeline: endpoint routing.</summary>
    public static void AddServices(IServiceCollection services) => services.AddRoutingCore();

    /// <summary>The middlewares in nova's order, then the routes.</summary>
    public void Configure(WebApplication app)
    {
        app.Use(next => new RequestIdMiddleware(next, _logger).InvokeAsync);
        app.Use(next => new AccessLogMiddleware(next, new AccessLogFormat(_settings.LogFormat), _time, _accessLogger, _logger).InvokeAsync);
        app.Use(next => new WsgiServerMiddleware(next, _settings, _inFlight).InvokeAsync);
        app.Use(next => new FaultMiddleware(next, _settings, _logger).InvokeAsync);
        app.Use(next => new HeaderLineLimitMiddleware(next, _settings.MaxHeaderLine).InvokeAsync);
        app.UseRouting();
        app.Use(next => new KeystoneAuthMiddleware(next, _config, _logger).InvokeAsync);
        app.Use(next => new MicroversionMiddleware(next).InvokeAsync);
        app.Use(next => new ContentTypeMiddleware(next).InvokeAsync);
        MapRoutes(app);
    }

    private void MapRoutes(IEndpointRouteBuilder app)
    {
        // Outside /v2.1: the version list, oslo.middleware's health check, this daemon's status
        // document, and for any other path nova's 300 Multiple Choices. Any method, as paste's urlmap.
        app.Map("/", context => ApiJson.WriteAsync(context, StatusCodes.Status200OK, VersionsApi.Index(BaseUrl(context.Request))));
        app.Map("/healthcheck", HealthCheckAsync);
        app.Map("/status", StatusAsync);
        app.Map("/{**path}", MultipleChoicesAsync).WithOrder(int.MaxValue);

        var v21 = app.MapGroup("/v2.1").WithMetadata(ComputeApiEndpoint.Instance);
        v21.MapMethods("", ReadMethods, context => ApiJson.WriteAsync(context, StatusCodes.Status200OK, VersionsApi.V21(BaseUrl(context.Request))));
        MapServices(v21.MapGroup("/os-services"));
        MapServices(v21.MapGroup(RoutePatternFactory.Parse("/{project_id}/os-services", defaults: null,
            parameterPolicies: new RouteValueDictionary { ["project_id"] = new ProjectIdConstraint() })));
        v21.Map("/{**path}", _ => throw new ComputeFault(StatusCodes.Status404NotFound, "The resource could not be found."))
            .WithOrder(int.MaxValue);
    }

    /// <summary>nova's <c>ServiceController</c> routes: <c>GET /os-services</c>, <c>PUT</c> and <c>DELETE /os-services/{id}</c>.</summary>
    private void MapServices(RouteGroupBuilder services)
    {
        services.MapMethods("", ReadMethods, async context =>
        {
            Log.Calling(_logger, "index", context.Request.Method);
            var result = await _services.IndexAsync(context, Microversion.Of(context)).ConfigureAwait(false);
            await ApiJson.WriteAsync(context, StatusCodes.Status200OK, result).ConfigureAwait(false);
        });
        services.MapPut("/{id}", async context =>
        {
            Log.Calling(_logger, "update", context.Request.Method);
            var body = await RequestBody.ReadJsonAsync(context, _settings.MaxRequestBodySize).ConfigureAwait(false);
            var result = await _services.UpdateAsync(context, Microversion.Of(context), Id(context), body).ConfigureAwait(false);
            await ApiJson.WriteAsync(context, StatusCodes.Status200OK, result).ConfigureAwait(false);
        }).WithMetadata(new AdminAction("os_compute_api:os-services:update"));
        services.MapDelete("/{id}", async context =>
        {
            Log.Calling(_logger, "delete", context.Request.Method);
            await _services.DeleteAsync(context, Microversion.Of(context), Id(context)).ConfigureAwait(false);
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            context.Response.ContentLength = 0;
        }).WithMetadata(new AdminAction("os_compute_api:os-services:delete"));
    }

    private static string Id(HttpContext context) => (string)context.GetRouteValue("id")!;

    private static Task MultipleChoicesAsync(HttpContext context) =>
        ApiJson.WriteAsync(context, StatusCodes.Status300MultipleChoices, VersionsApi.Choices(BaseUrl(context.Request), context.Request.Path.Value ?? "/"));

    /// <summary>oslo.middleware's healthcheck answers: <c>OK</c>, or 503 with the reason; JSON when asked for.</summary>
    private async Task HealthCheckAsync(HttpContext context)
    {
        if (HasTrailingSlash(context))
        {
            await MultipleChoicesAsync(context).ConfigureAwait(false);
            return;
        }
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

    private async Task StatusAsync(HttpContext context)
    {
        if (HasTrailingSlash(context))
        {
            await MultipleChoicesAsync(context).ConfigureAwait(false);
            return;
        }
        var document = await _status.StatusAsync(context.RequestAborted).ConfigureAwait(false);
        await ApiJson.WriteAsync(context, StatusCodes.Status200OK, document).ConfigureAwait(false);
    }

    /// <summary>
    /// Routing takes <c>/healthcheck/</c> for <c>/healthcheck</c>; oslo.middleware compares the path
    /// exactly (<c>req.path != self._path</c>), so nova answers it with the version choices.
    /// </summary>
    private static bool HasTrailingSlash(HttpContext context) => context.Request.Path.Value?.EndsWith('/') == true;

    /// <summary>webob's <c>application_url</c>: scheme and Host header (or the address the request came to).</summary>
    private static string BaseUrl(HttpRequest request) =>
        request.Scheme + "://" + (request.Host.HasValue ? request.Host.Value : request.HttpContext.Connection.LocalIpAddress + ":" + request.HttpContext.Connection.LocalPort);

    /// <summary>nova's <c>ProjectMapper</c> token <c>{project_id:[0-9a-f-]+}</c> (nova/api/openstack/__init__.py).</summary>
    private sealed partial class ProjectIdConstraint : IRouteConstraint
    {
        public bool Match(HttpContext? httpContext, IRouter? route, string routeKey, RouteValueDictionary values, RouteDirection routeDirection) =>
            values.TryGetValue(routeKey, out var value) && value is string text && Format().IsMatch(text);

        [GeneratedRegex("^[0-9a-f-]+$", RegexOptions.CultureInvariant)]
        private static partial Regex Format();
    }

    internal static partial class Log
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
