using NovaCompute.Config;

namespace NovaCompute.Tests.Support;

/// <summary>An <see cref="IConfigMonitor"/> whose configuration a test sets, as a SIGHUP reload would.</summary>
internal sealed class TestConfigMonitor(NovaConfig initial) : IConfigMonitor
{
    public NovaConfig Current { get; private set; } = initial;

    public event Action<NovaConfig, IReadOnlyList<Opt>>? Changed;

    /// <summary>A configuration of the whole catalog's defaults plus the given raw values.</summary>
    public static TestConfigMonitor With(params (Opt Opt, string Raw)[] values) =>
        new(Build(values));

    public static NovaConfig Build(params (Opt Opt, string Raw)[] values) =>
        NovaConfig.FromValues(OptionCatalog.All, values.ToDictionary(v => v.Opt, v => v.Raw));

    public void Reload(params (Opt Opt, string Raw)[] values)
    {
        Current = Build(values);
        Changed?.Invoke(Current, values.Select(v => v.Opt).ToList());
    }
}
