namespace NovaCompute.Db;

/// <summary>nova's exceptions about service records, with nova's exact messages (nova/exception.py).</summary>
internal abstract class ServiceRecordException(string message) : Exception(message);

/// <summary>A live row with the same (host, binary) exists: a sibling process won the race.</summary>
internal sealed class ServiceBinaryExistsException(string host, string binary)
    : ServiceRecordException($"Service with host {host} binary {binary} exists.");

/// <summary>A live row with the same (host, topic) exists.</summary>
internal sealed class ServiceTopicExistsException(string host, string? topic)
    : ServiceRecordException($"Service with host {host} topic {topic ?? "None"} exists.");

internal sealed class ServiceNotFoundException(string serviceId)
    : ServiceRecordException($"Service {serviceId} could not be found.");

internal sealed class HostBinaryNotFoundException(string host, string binary)
    : ServiceRecordException($"Could not find binary {binary} on host {host}.");
