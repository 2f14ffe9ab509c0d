using System.Text.Json;
using System.Text.Json.Nodes;
using NovaCompute.Db;
using NovaCompute.Messaging.Rpc;
using NovaCompute.Objects;

namespace NovaCompute.Conductor;

/// <summary>
/// The <c>services</c> records through nova-conductor: the same seam as <see cref="ServiceRepository"/>,
/// made of the remotable <c>Service</c>/<c>ServiceList</c> methods nova-compute calls (nova/objects/service.py,
/// through nova/conductor/rpcapi.py). It keeps the last <c>Service</c> object it saw of each id, as nova's service keeps its
/// <c>service_ref</c>: a heartbeat increments <c>report_count</c> locally, saves it (changes
/// <c>["report_count"]</c>) and merges what the conductor answers, so the bodies are nova's own.
/// Times are the conductor's (its database's) clock; a listing is judged on this host's clock, as
/// nova-api judges it on its own.
/// </summary>
internal sealed class ConductorServiceRepository(ConductorApi conductor, TimeProvider time) : IServiceRepository
{
    /// <summary>
    /// Saves of one heartbeat round in flight at once. A nova-conductor worker serves 64 requests at
    /// once (oslo.messaging <c>executor_thread_pool_size</c>); 16 keeps one simulation from taking
    /// all of a small conductor's workers from the services it shares them with.
    /// </summary>
    public const int ParallelSaves = 16;

    private readonly object _gate = new();
    private readonly Dictionary<int, Service> _objects = [];

    public string StoreName => "nova-conductor";

    public bool ChecksMinimumVersion => true;

    public async Task<ServiceRecord?> GetByHostAndBinaryAsync(string host, string binary, CancellationToken cancellationToken)
    {
        var result = await ClassActionAsync("Service", "get_by_host_and_binary", ConductorApi.ServiceVersions, [host, binary], cancellationToken)
            .ConfigureAwait(false);
        return result.ValueKind == JsonValueKind.Null ? null : Keep(ToService(result)).ToRecord();
    }

    public async Task<ServiceRecord?> GetByIdAsync(int id, CancellationToken cancellationToken) =>
        (await FetchAsync(id, cancellationToken).ConfigureAwait(false))?.ToRecord();

    /// <summary>
    /// nova's <c>_create_service_ref</c>: host, binary, topic, <c>report_count = 0</c> and the version the
    /// constructor sets. Uuid, <c>disabled</c> and its reason are the conductor's to decide (its
    /// <c>enable_new_services</c>), as for nova-compute.
    /// </summary>
    public async Task<ServiceRecord> CreateAsync(NewService service, CancellationToken cancellationToken)
    {
        var created = new Service
        {
            Host = service.Host,
            Binary = service.Binary,
            Topic = service.Topic,
            ReportCount = 0,
        };
        if (service.Version != created.Version)
        {
            created.Set("version", service.Version);
        }
        try
        {
            await ActionAsync(created, "create", cancellationToken).ConfigureAwait(false);
        }
        catch (RemoteException ex) when (ex.ClassName == "ServiceBinaryExists")
        {
            throw new ServiceBinaryExistsException(service.Host, service.Binary);
        }
        catch (RemoteException ex) when (ex.ClassName == "ServiceTopicExists")
        {
            throw new ServiceTopicExistsException(service.Host, service.Topic);
        }
        return Keep(created).ToRecord();
    }

    public Task<ServiceRecord?> UpdateVersionAsync(int id, int version, CancellationToken cancellationToken) =>
        SaveAsync(id, s => s.Set("version", version), cancellationToken);

    /// <summary>nova's <c>_report_state</c>: <c>report_count += 1</c> locally (kept even when the save fails), then <c>save()</c>.</summary>
    public async Task<HeartbeatStamp?> ReportStateAsync(int id, CancellationToken cancellationToken)
    {
        var service = Cached(id) ?? await FetchAsync(id, cancellationToken).ConfigureAwait(false);
        if (service is null)
        {
            return null;
        }
        JsonObject primitive;
        lock (service)
        {
            service.ReportCount += 1;
            primitive = service.ToPrimitive();
        }
        try
        {
            var (updates, _) = await ObjectActionAsync(primitive, "save", cancellationToken).ConfigureAwait(false);
            lock (service)
            {
                service.ApplyUpdates(updates);
                var record = service.ToRecord();
                return new HeartbeatStamp(record.ReportCount, record.LastSeenUp ?? record.UpdatedAt ?? default, record.UpdatedAt ?? default);
            }
        }
        catch (RemoteException ex) when (ex.ClassName == "ServiceNotFound")
        {
            Forget(id);
            return null;
        }
    }

    /// <summary>
    /// A heartbeat slot's saves (<c>nova-compute simulate</c>): nova has no bulk save, so each
    /// service is still one <c>Service.save</c>, but up to <see cref="ParallelSaves"/> of them are in
    /// flight at once, so a slot of N services costs about N / <see cref="ParallelSaves"/> round trips
    /// instead of N. A save that fails fails the round, as the one-by-one default does; those already
    /// answered keep their stamps in the kept objects.
    /// </summary>
    public async Task<IReadOnlyDictionary<int, HeartbeatStamp>> ReportStatesAsync(IReadOnlyList<int> ids, CancellationToken cancellationToken)
    {
        var stamps = new System.Collections.Concurrent.ConcurrentDictionary<int, HeartbeatStamp>();
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = ParallelSaves, CancellationToken = cancellationToken },
            async (id, token) =>
            {
                if (await ReportStateAsync(id, token).ConfigureAwait(false) is { } stamp)
                {
                    stamps[id] = stamp;
                }
            }).ConfigureAwait(false);
        return stamps;
    }

    public async Task<ServiceListing> ListAsync(string? host, string? binary, CancellationToken cancellationToken)
    {
        // ServiceList.get_all(context, disabled=None, set_zones=False): every live row; filtered here
        // rather than by three different remotable methods.
        var result = await ClassActionAsync("ServiceList", "get_all", ConductorApi.ServiceListVersions, [], cancellationToken).ConfigureAwait(false);
        var rows = new List<ServiceRecord>();
        foreach (var service in ToServices(result))
        {
            var row = service.ToRecord();
            if ((host is null || row.Host == host) && (binary is null || row.Binary == binary))
            {
                rows.Add(row);
            }
        }
        rows.Sort(static (a, b) => a.Id.CompareTo(b.Id));
        return new ServiceListing(rows, time.GetUtcNow().UtcDateTime);
    }

    public Task<ServiceRecord?> SetDisabledAsync(int id, bool disabled, string? reason, CancellationToken cancellationToken) =>
        SaveAsync(id, s =>
        {
            s.Disabled = disabled;
            s.DisabledReason = disabled ? reason : null;
        }, cancellationToken, fresh: true);

    public Task<ServiceRecord?> SetForcedDownAsync(int id, bool forcedDown, CancellationToken cancellationToken) =>
        SaveAsync(id, s => s.ForcedDown = forcedDown, cancellationToken, fresh: true);

    /// <summary><c>Service.destroy()</c>: the conductor soft-deletes the row (and a compute's compute nodes).</summary>
    public async Task<bool> DestroyAsync(int id, CancellationToken cancellationToken)
    {
        var service = await FetchAsync(id, cancellationToken).ConfigureAwait(false);
        if (service is null)
        {
            return false;
        }
        try
        {
            await ActionAsync(service, "destroy", cancellationToken).ConfigureAwait(false);
            Forget(id);
            return true;
        }
        catch (RemoteException ex) when (ex.ClassName == "ServiceNotFound")
        {
            Forget(id);
            return false;
        }
    }

    public async Task<int> GetMinimumVersionAsync(string binary, CancellationToken cancellationToken)
    {
        var result = await ClassActionAsync("Service", "get_minimum_version", ConductorApi.ServiceVersions, [binary], cancellationToken)
            .ConfigureAwait(false);
        return result.ValueKind == JsonValueKind.Number && result.TryGetInt32(out var minimum)
            ? minimum
            : throw new ConductorReplyException($"Service.get_minimum_version answered {ConductorApi.Abbreviate(result.GetRawText())}, not an integer");
    }

    /// <summary>Changes a fresh (or the kept) copy of the row and saves it; null when the row is gone.</summary>
    private async Task<ServiceRecord?> SaveAsync(int id, Action<Service> change, CancellationToken cancellationToken, bool fresh = false)
    {
        var service = (fresh ? null : Cached(id)) ?? await FetchAsync(id, cancellationToken).ConfigureAwait(false);
        if (service is null)
        {
            return null;
        }
        try
        {
            lock (service)
            {
                change(service);
            }
            await ActionAsync(service, "save", cancellationToken).ConfigureAwait(false);
            return Keep(service).ToRecord();
        }
        catch (RemoteException ex) when (ex.ClassName == "ServiceNotFound")
        {
            Forget(id);
            return null;
        }
    }

    /// <summary><c>Service.get_by_id</c>; null when the row is gone.</summary>
    private async Task<Service?> FetchAsync(int id, CancellationToken cancellationToken)
    {
        try
        {
            var result = await ClassActionAsync("Service", "get_by_id", ConductorApi.ServiceVersions, [id], cancellationToken).ConfigureAwait(false);
            return result.ValueKind == JsonValueKind.Null ? null : Keep(ToService(result));
        }
        catch (RemoteException ex) when (ex.ClassName == "ServiceNotFound")
        {
            Forget(id);
            return null;
        }
    }

    private async Task ActionAsync(Service service, string method, CancellationToken cancellationToken)
    {
        JsonObject primitive;
        lock (service)
        {
            primitive = service.ToPrimitive();
        }
        var (updates, _) = await ObjectActionAsync(primitive, method, cancellationToken).ConfigureAwait(false);
        lock (service)
        {
            service.ApplyUpdates(updates);
        }
    }

    private Task<(JsonObject Updates, JsonElement Result)> ObjectActionAsync(JsonObject primitive, string method, CancellationToken cancellationToken) =>
        ConductorCalls.GuardAsync(() => conductor.ObjectActionAsync(primitive, method, cancellationToken));

    private Task<JsonElement> ClassActionAsync(string objectName, string method, IReadOnlyDictionary<string, string> versions,
        IReadOnlyList<object?> args, CancellationToken cancellationToken) =>
        ConductorCalls.GuardAsync(() => conductor.ObjectClassActionAsync(objectName, method, versions, args, cancellationToken));

    private Service? Cached(int id)
    {
        lock (_gate)
        {
            return _objects.GetValueOrDefault(id);
        }
    }

    /// <summary>
    /// Keeps the first object seen of an id: the heartbeat's copy must not be swapped for a fresh
    /// read (the resource tracker looks the service up too) while a save of it is in flight, or the
    /// next beat could send a <c>report_count</c> the conductor already has, and it only stamps
    /// <c>last_seen_up</c> when the count grows (nova/db/main/api.py <c>service_update</c>).
    /// </summary>
    private Service Keep(Service service)
    {
        if (service.IsSet("id"))
        {
            lock (_gate)
            {
                _objects.TryAdd(service.Id, service);
            }
        }
        return service;
    }

    private void Forget(int id)
    {
        lock (_gate)
        {
            _objects.Remove(id);
        }
    }

    /// <summary>A <c>Service</c> primitive from the conductor, version-checked as ovo checks it.</summary>
    private static Service ToService(JsonElement primitive) =>
        ConductorCalls.FromPrimitive<Service>(primitive);

    private static IEnumerable<Service> ToServices(JsonElement list)
    {
        if (list.ValueKind != JsonValueKind.Object || !list.TryGetProperty(NovaObject.NameKey, out var name) || name.GetString() != "ServiceList"
            || !list.TryGetProperty(NovaObject.DataKey, out var data) || !data.TryGetProperty("objects", out var objects)
            || objects.ValueKind != JsonValueKind.Array)
        {
            throw new ConductorReplyException($"ServiceList.get_all answered {ConductorApi.Abbreviate(list.GetRawText())}, not a ServiceList");
        }
        return [.. objects.EnumerateArray().Select(ToService)];
    }
}

/// <summary>What every conductor call shares: transport trouble as one exception type, primitives checked.</summary>
internal static class ConductorCalls
{
    /// <summary>Runs a call; a conductor that cannot be reached becomes <see cref="ConductorUnavailableException"/>.</summary>
    public static async Task<T> GuardAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (MessageUndeliverableException ex)
        {
            throw new ConductorUnavailableException($"no nova-conductor consumes topic '{ConductorApi.Topic}': {ex.Message}", ex);
        }
        catch (RemoteException ex) when (ex.Module == "oslo_messaging.exceptions")
        {
            // Raised here, not by the conductor: the reply queue went away under the call.
            throw new ConductorUnavailableException(ex.Message, ex);
        }
    }

    /// <summary>Rebuilds an object the conductor sent; a version this daemon does not know is a clear error.</summary>
    /// <exception cref="ConductorReplyException">Not a primitive of <typeparamref name="T"/>, or an incompatible version.</exception>
    public static T FromPrimitive<T>(JsonElement primitive) where T : NovaObject
    {
        try
        {
            return ObjectRegistry.FromPrimitive<T>(JsonNode.Parse(primitive.GetRawText())!);
        }
        catch (Exception ex) when (ex is IncompatibleObjectVersionException or UnsupportedObjectException or ArgumentException)
        {
            throw new ConductorReplyException($"nova-conductor sent an object this daemon cannot use: {ex.Message}");
        }
    }
}

/// <summary>nova-conductor could not be reached (a timeout is <see cref="MessagingTimeoutException"/>, also a <see cref="TimeoutException"/>).</summary>
internal sealed class ConductorUnavailableException(string message, Exception inner) : TimeoutException(message, inner);
