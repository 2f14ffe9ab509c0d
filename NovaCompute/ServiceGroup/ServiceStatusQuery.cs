using NovaCompute.Db;

namespace NovaCompute.ServiceGroup;

/// <summary>One service as the os-services API and <c>nova service-list</c> show it (nova/api/openstack/compute/services.py <c>_get_services_list</c>).</summary>
internal sealed record ServiceListEntry(
    int Id,
    string? Uuid,
    string? Binary,
    string? Host,
    string Zone,
    bool Disabled,
    bool IsUp,
    DateTime? UpdatedAt,
    string? DisabledReason,
    bool ForcedDown)
{
    public string Status => Disabled ? "disabled" : "enabled";

    public string State => IsUp ? "up" : "down";
}

/// <summary>Availability zones as nova names them when no aggregate says otherwise.</summary>
internal sealed record ZoneSettings(string DefaultAvailabilityZone = "nova", string InternalServiceAvailabilityZone = "internal")
{
    public string ZoneOf(string? binary) =>
        binary == ServiceIdentity.ComputeBinary ? DefaultAvailabilityZone : InternalServiceAvailabilityZone;
}

/// <summary>
/// "Which services are up?": the rows and the database's clock from one query, judged by
/// <see cref="Liveness"/>. Because the clock is the one that stamped <c>last_seen_up</c>, a checker
/// whose own clock is off gets the same answers as one whose clock is right.
/// </summary>
internal sealed class ServiceStatusQuery(IServiceRepository repository, IServiceGroupSettingsSource settings, ZoneSettings zones)
{
    // The API hides the records of its own WSGI services (nova/api/openstack/compute/services.py).
    private static readonly HashSet<string> HiddenBinaries = new(StringComparer.Ordinal) { "nova-osapi_compute", "nova-metadata" };

    public async Task<IReadOnlyList<ServiceListEntry>> ListAsync(string? host, string? binary, CancellationToken cancellationToken)
    {
        var listing = await repository.ListAsync(host, binary, cancellationToken).ConfigureAwait(false);
        var downTime = settings.Current.ServiceDownTime;
        var result = new List<ServiceListEntry>(listing.Services.Count);
        foreach (var row in listing.Services)
        {
            if (row.Binary is not null && HiddenBinaries.Contains(row.Binary))
            {
                continue;
            }
            result.Add(ToStatus(row, listing.DatabaseNow, downTime));
        }
        return result;
    }

    /// <summary>The status of one row, judged at <paramref name="databaseNow"/>.</summary>
    public ServiceListEntry ToStatus(ServiceRecord row, DateTime databaseNow, int serviceDownTime) => new(
        row.Id,
        row.Uuid,
        row.Binary,
        row.Host,
        zones.ZoneOf(row.Binary),
        row.Disabled,
        Liveness.IsUp(row, databaseNow, serviceDownTime),
        row.UpdatedAt,
        row.DisabledReason,
        row.ForcedDown);
}
