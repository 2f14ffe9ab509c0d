using Microsoft.Extensions.Logging;
using NovaCompute.Db;
using NovaCompute.Objects;

namespace NovaCompute.ServiceGroup;

/// <summary>What registration needs from the configuration.</summary>
internal sealed record RegistrationSettings
{
    /// <summary><c>enable_new_services</c>: false creates new nova-compute rows disabled.</summary>
    public bool EnableNewServices { get; init; } = true;

    /// <summary><c>[workarounds] disable_compute_service_check_for_ffu</c>.</summary>
    public bool DisableComputeServiceCheckForFfu { get; init; }

    public int ServiceVersion { get; init; } = Service.ServiceVersion;
}

/// <summary>
/// The service record at start (nova's <c>Service.create</c> old-compute check and
/// <c>Service.start</c> in nova/service.py, <c>raise_if_old_compute</c> in nova/utils.py): look the row up by host and binary,
/// create it when absent, adopt a sibling's row when it wins the race, update the version.
/// </summary>
/// <param name="readMinimumVersion">
/// Where the deployment's minimum version for a binary comes from; the repository's
/// <see cref="IServiceRepository.GetMinimumVersionAsync"/> unless a simulation shares one reading
/// among the computes it starts together.
/// </param>
internal sealed class ServiceRegistrar(IServiceRepository repository, ServiceIdentity identity, RegistrationSettings settings,
    ILogger<ServiceRegistrar> logger, Func<string, CancellationToken, Task<int>>? readMinimumVersion = null)
{
    private readonly Func<string, CancellationToken, Task<int>> _readMinimumVersion = readMinimumVersion ?? repository.GetMinimumVersionAsync;

    internal const string NewServiceDisabledReason = "New compute service disabled due to config option.";

    public ServiceIdentity Identity => identity;

    /// <summary>Runs the start-up checks, then finds or creates this service's live row.</summary>
    /// <exception cref="TooOldComputeServiceException">Computes older than the oldest supported release remain (and no FFU workaround).</exception>
    /// <exception cref="ServiceTooOldException">The deployment already runs a newer version of this binary.</exception>
    public async Task<ServiceRecord> RegisterAsync(CancellationToken cancellationToken)
    {
        await RaiseIfOldComputeAsync(cancellationToken).ConfigureAwait(false);
        Log.Join(logger, identity.Host, identity.Topic, identity.Binary);
        var existing = await repository.GetByHostAndBinaryAsync(identity.Host, identity.Binary, cancellationToken).ConfigureAwait(false);
        return existing is null
            ? await CreateAsync(cancellationToken).ConfigureAwait(false)
            : await UpdateVersionAsync(existing, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Creates the live row, or returns the one a sibling process created meanwhile.</summary>
    public async Task<ServiceRecord> CreateAsync(CancellationToken cancellationToken)
    {
        await CheckMinimumVersionAsync(cancellationToken).ConfigureAwait(false);
        var disable = !settings.EnableNewServices && identity.Binary == ServiceIdentity.ComputeBinary;
        var values = new NewService(identity.Host, identity.Binary, identity.Topic, settings.ServiceVersion)
        {
            Disabled = disable,
            DisabledReason = disable ? NewServiceDisabledReason : null,
        };
        try
        {
            var created = await repository.CreateAsync(values, cancellationToken).ConfigureAwait(false);
            Log.Created(logger, identity.Binary, identity.Host, created.Id, created.Uuid);
            return created;
        }
        catch (ServiceRecordException ex) when (ex is ServiceBinaryExistsException or ServiceTopicExistsException)
        {
            var winner = await repository.GetByHostAndBinaryAsync(identity.Host, identity.Binary, cancellationToken).ConfigureAwait(false);
            if (winner is null)
            {
                // The conflicting row has our host and topic under another binary: not a sibling.
                throw;
            }
            Log.LostCreateRace(logger, identity.Binary, identity.Host);
            return await UpdateVersionAsync(winner, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<ServiceRecord> UpdateVersionAsync(ServiceRecord existing, CancellationToken cancellationToken)
    {
        if (existing.Version == settings.ServiceVersion)
        {
            return existing;
        }
        await CheckMinimumVersionAsync(cancellationToken).ConfigureAwait(false);
        Log.UpdatingVersion(logger, identity.Binary, identity.Host, existing.Version, settings.ServiceVersion);
        return await repository.UpdateVersionAsync(existing.Id, settings.ServiceVersion, cancellationToken).ConfigureAwait(false)
            ?? throw new ServiceNotFoundException(existing.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// nova's <c>Service._check_minimum_version</c>, run before every create and version save; a
    /// store that runs it itself (nova-conductor, inside <c>create</c>/<c>save</c>) is not asked twice.
    /// </summary>
    private async Task CheckMinimumVersionAsync(CancellationToken cancellationToken)
    {
        if (repository.ChecksMinimumVersion)
        {
            return;
        }
        var minimum = await _readMinimumVersion(identity.Binary, cancellationToken).ConfigureAwait(false);
        if (minimum > settings.ServiceVersion)
        {
            throw new ServiceTooOldException(settings.ServiceVersion, minimum);
        }
    }

    /// <summary>nova's <c>utils.raise_if_old_compute</c> with the cell-local minimum (there is no API database here).</summary>
    private async Task RaiseIfOldComputeAsync(CancellationToken cancellationToken)
    {
        var minimum = await _readMinimumVersion(ServiceIdentity.ComputeBinary, cancellationToken).ConfigureAwait(false);
        if (minimum == 0 || minimum >= Service.OldestSupportedServiceVersion)
        {
            return;
        }
        var error = new TooOldComputeServiceException(Service.OldestSupportedServiceRelease, "cell", minimum, Service.OldestSupportedServiceVersion);
        if (!settings.DisableComputeServiceCheckForFfu)
        {
            throw error;
        }
        Log.TooOldComputeIgnored(logger, error.Message);
    }
}
