using NovaCompute.Db;

namespace NovaCompute.ServiceGroup;

/// <summary>
/// nova's liveness rule, exactly (<c>servicegroup.API.service_is_up</c> + <c>DbDriver.is_up</c>,
/// nova/servicegroup/api.py, nova/servicegroup/drivers/db.py): forced down is down; otherwise the service is up when
/// <c>abs(now - (last_seen_up or created_at)) &lt;= service_down_time</c>.
/// What differs from nova is only which clock <paramref name="now"/> comes from: callers pass the
/// database's clock, read in the same query as the rows, so it is the clock that stamped them.
/// </summary>
internal static class Liveness
{
    public static bool IsUp(ServiceRecord service, DateTime now, int serviceDownTime) =>
        IsUp(service.LastSeenUp, service.CreatedAt, service.ForcedDown, now, serviceDownTime);

    public static bool IsUp(DateTime? lastSeenUp, DateTime? createdAt, bool forcedDown, DateTime now, int serviceDownTime)
    {
        if (forcedDown)
        {
            return false;
        }
        // nova raises on a row with neither stamp; such a row has never shown a sign of life.
        if ((lastSeenUp ?? createdAt) is not { } lastHeartbeat)
        {
            return false;
        }
        // Whole ticks, not floating seconds: exactly service_down_time is up, one tick more is down.
        var elapsed = now.Ticks - lastHeartbeat.Ticks;
        return Math.Abs(elapsed) <= serviceDownTime * TimeSpan.TicksPerSecond;
    }
}
