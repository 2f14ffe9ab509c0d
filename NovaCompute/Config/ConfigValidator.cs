namespace NovaCompute.Config;

/// <summary>
/// The one check of a loaded configuration before anything starts, for the daemon, <c>simulate</c> and
/// <c>check-config</c> alike (so check-config's verdict is the daemon's). <see cref="ConfigLoader"/>
/// has already checked every value on its own (type, range, choices, file and line); this adds what
/// spans options or needs more than one value's syntax, asking each area that owns the options:
/// the transport URL with its query overrides and the rabbit bounds, the compute driver (nova:
/// required), the API's TLS material. Every problem is reported, each naming its option and group.
/// </summary>
public static class ConfigValidator
{
    /// <summary>Every problem, in a stable order (empty when the daemon can start with this configuration).</summary>
    public static IReadOnlyList<ConfigProblem> Validate(NovaConfig config)
    {
        var problems = new List<ConfigProblem>(Messaging.MessagingSettingsFactory.Validate(config));
        if (Compute.Drivers.ComputeDriverLoader.Problem(config) is { } driver)
        {
            problems.Add(ConfigProblem.For(config, Compute.ComputeOptions.ComputeDriver, driver));
        }
        problems.AddRange(Api.ApiSettings.Validate(config));
        return problems;
    }

}
