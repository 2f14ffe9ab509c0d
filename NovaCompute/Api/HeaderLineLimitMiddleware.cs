using Microsoft.AspNetCore.Http;

namespace NovaCompute.Api;

/// <summary>
/// eventlet's <c>max_header_line</c>: a header line (<c>Name: value</c>) longer than that is refused
/// with a 400 before anything else looks at the request (0: no limit).
/// </summary>
internal sealed class HeaderLineLimitMiddleware(RequestDelegate next, int maxHeaderLine)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (maxHeaderLine > 0)
        {
            foreach (var (name, values) in context.Request.Headers)
            {
                foreach (var value in values)
                {
                    if (name.Length + 2 + (value?.Length ?? 0) > maxHeaderLine)
                    {
                        throw new ComputeFault(StatusCodes.Status400BadRequest,
                            $"Header Line Too Long: the {name} header is longer than max_header_line ({maxHeaderLine})");
                    }
                }
            }
        }
        return next(context);
    }
}
