using NovaCompute.Db;

namespace NovaCompute.Simulation;

/// <summary>
/// nova's deployment minimum version (<c>service_get_minimum_version</c>), read once per binary for
/// all the computes a simulation starts together, instead of once or twice by each of them.
/// </summary>
/// <remarks>
/// Each nova-compute reads it at start (<c>raise_if_old_compute</c>) and again before creating its
/// row (<c>Service._check_minimum_version</c>). The statement scans <c>services</c> (nova has no
/// index on <c>binary</c>), so N computes starting in one process made it O(N × rows): 9 ms a scan
/// over 13,000 rows here, nearly all of the database's work at a simulation's start. One reading is
/// exact for the whole wave: the rows the wave itself creates carry this release's version, which
/// can neither push the minimum above this version nor below the oldest supported one unless it
/// already was. A change made elsewhere during the wave is missed as it is by nova's own check,
/// which reads before it creates. Outside <see cref="ShareDuring"/> (a row recreated after an
/// operator deleted it, hours later) every call reads afresh.
/// </remarks>
internal sealed class StartWaveMinimumVersion(IServiceRepository repository)
{
    private readonly SharedWhileStarting<int> _readings = new();

    /// <summary>Readings are shared until the returned scope is disposed.</summary>
    public IDisposable ShareDuring() => _readings.ShareDuring();

    public Task<int> GetAsync(string binary, CancellationToken cancellationToken) =>
        _readings.RunAsync(binary, token => repository.GetMinimumVersionAsync(binary, token), cancellationToken);
}
