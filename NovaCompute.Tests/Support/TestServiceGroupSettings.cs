using NovaCompute.ServiceGroup;

namespace NovaCompute.Tests.Support;

/// <summary>
/// The service group's settings as a test sets them: <see cref="Set"/> changes them and raises
/// <see cref="Changed"/>, as a SIGHUP that changes <c>report_interval</c> would.
/// </summary>
internal sealed class TestServiceGroupSettings(ServiceGroupSettings initial) : IServiceGroupSettingsSource
{
    private ServiceGroupSettings _current = initial;

    /// <summary>nova's defaults: <c>report_interval</c> 10, <c>service_down_time</c> 60.</summary>
    public TestServiceGroupSettings()
        : this(new ServiceGroupSettings(10, 60))
    {
    }

    public ServiceGroupSettings Current => Volatile.Read(ref _current);

    public event Action? Changed;

    public void Set(ServiceGroupSettings settings)
    {
        Volatile.Write(ref _current, settings);
        Changed?.Invoke();
    }
}
