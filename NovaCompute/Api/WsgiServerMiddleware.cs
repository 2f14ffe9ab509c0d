using Microsoft.AspNetCore.Http;

namespace NovaCompute.Api;

/// <summary>
/// What eventlet.wsgi.server does around each request (nova/wsgi.py <c>Server</c>): the pool of
/// <c>default_pool_size</c> concurrent requests (others wait for a slot), <c>keep_alive</c>, and the
/// count of requests in flight that the drain on stop waits for.
/// </summary>
internal sealed class WsgiServerMiddleware(RequestDelegate next, ApiSettings settings, InFlightRequests inFlight)
{
    private readonly SemaphoreSlim? _slots = settings.PoolSize > 0 ? new SemaphoreSlim(settings.PoolSize, settings.PoolSize) : null;

    public async Task InvokeAsync(HttpContext context)
    {
        if (!settings.KeepAlive)
        {
            context.Response.Headers.Connection = "close";
        }
        inFlight.Enter();
        try
        {
            if (_slots is null)
            {
                await next(context).ConfigureAwait(false);
                return;
            }
            await _slots.WaitAsync(context.RequestAborted).ConfigureAwait(false);
            try
            {
                await next(context).ConfigureAwait(false);
            }
            finally
            {
                _slots.Release();
            }
        }
        finally
        {
            inFlight.Leave();
        }
    }
}

/// <summary>Requests being handled right now: the drain on stop and the Guru Meditation report read it.</summary>
internal sealed class InFlightRequests
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public void Enter() => Interlocked.Increment(ref _count);

    public void Leave() => Interlocked.Decrement(ref _count);
}
