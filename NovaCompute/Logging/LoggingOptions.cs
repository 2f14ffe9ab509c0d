using NovaCompute.Config;

namespace NovaCompute.Logging;

/// <summary>oslo.log options this daemon honours (oslo_log/_options.py).</summary>
public static class LoggingOptions
{
    public static readonly BoolOpt Debug = new("debug", false)
    {
        Namespace = "oslo.log",
        Mutable = true,
        Help = "If set to true, the logging level will be set to DEBUG instead of the default INFO level.",
    };

    public static IReadOnlyList<Opt> All { get; } = [Debug];
}
