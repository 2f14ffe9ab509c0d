using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using NovaCompute.Config;

namespace NovaCompute.Api;

/// <summary>
/// Stands in for Keystone (keystonemiddleware's place in the paste pipeline) and nova's admin-only
/// policy, for the routes marked with <see cref="AdminAction"/>: a change needs <c>X-Auth-Token</c>
/// equal to <c>[api] admin_token</c> (read per request, so a SIGHUP can set or rotate it). Without a
/// configured token every change is refused with nova's policy message (403); a missing or wrong
/// token is keystonemiddleware's 401. It runs before microversion negotiation, as Keystone does.
/// </summary>
internal sealed class KeystoneAuthMiddleware(RequestDelegate next, IConfigMonitor config, ILogger logger)
{
    private int _tokenWarningLogged;

    public Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<AdminAction>() is { } action)
        {
            Authorize(context, action);
        }
        return next(context);
    }

    private void Authorize(HttpContext context, AdminAction action)
    {
        var expected = config.Current.Get(ApiOptions.AdminToken);
        if (string.IsNullOrEmpty(expected))
        {
            if (Interlocked.Exchange(ref _tokenWarningLogged, 1) == 0)
            {
                ApiPipeline.Log.NoAdminToken(logger);
            }
            throw new ComputeFault(StatusCodes.Status403Forbidden, $"Policy doesn't allow {action.Policy} to be performed.");
        }
        var given = context.Request.Headers["X-Auth-Token"].ToString();
        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(expected)))
        {
            ApiPipeline.Log.TokenRefused(logger, given.Length == 0 ? "no X-Auth-Token" : "a wrong X-Auth-Token");
            context.Response.Headers.WWWAuthenticate = "Keystone realm=\"nova-compute\"";
            throw new ComputeFault(StatusCodes.Status401Unauthorized, "The request you have made requires authentication.");
        }
    }
}

/// <summary>Endpoint metadata: a change only an admin may make, under nova's policy name (<c>os_compute_api:os-services:update</c>).</summary>
internal sealed record AdminAction(string Policy);
