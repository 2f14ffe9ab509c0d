using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using NovaCompute.Db;

namespace NovaCompute.Api;

/// <summary>
/// nova's <c>FaultWrapper</c> (nova/api/openstack/__init__.py) and <c>wsgi.Fault</c>: whatever goes
/// wrong below becomes nova's JSON fault body. A <see cref="ComputeFault"/> is written as thrown;
/// Kestrel's refusals (body too large) keep their status; a database that fails or does not answer
/// is a 503 the client may retry (<see cref="DatabaseError.IsUnavailable(Exception)"/>);
/// anything else is nova's 500 naming the request id. Once a microversion was negotiated, the
/// answer carries its headers (<see cref="MicroversionMiddleware"/>).
/// </summary>
internal sealed class FaultMiddleware(RequestDelegate next, ApiSettings settings, ILogger logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (ComputeFault fault) when (!context.Response.HasStarted)
        {
            ApiPipeline.Log.Fault(logger, fault.Status, fault.Message);
            await fault.WriteAsync(context).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex) when (!context.Response.HasStarted)
        {
            var message = ex.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? $"Request is too large. Larger than {settings.MaxRequestBodySize}."
                : ex.Message;
            ApiPipeline.Log.Fault(logger, ex.StatusCode, message);
            await new ComputeFault(ex.StatusCode, message).WriteAsync(context).ConfigureAwait(false);
        }
        catch (Exception ex) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested && DatabaseError.IsUnavailable(ex))
        {
            // The request is fine; the database is not (or did not answer in time): the client may retry.
            ApiPipeline.Log.DatabaseFailed(logger, ex);
            await new ComputeFault(StatusCodes.Status503ServiceUnavailable, "The services database is not available, please retry later.")
                .WriteAsync(context).ConfigureAwait(false);
        }
        catch (Exception ex) when (!context.Response.HasStarted && ex is not OperationCanceledException)
        {
            ApiPipeline.Log.Unexpected(logger, ex);
            await new ComputeFault(StatusCodes.Status500InternalServerError,
                $"Unexpected API Error. Please report this with the nova-compute log of request {context.TraceIdentifier}.\n<class '{ex.GetType().Name}'>")
                .WriteAsync(context).ConfigureAwait(false);
        }
    }
}
