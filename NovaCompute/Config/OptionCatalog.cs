namespace NovaCompute.Config;

/// <summary>
/// Every option the daemon reads, collected from the classes that declare them beside their code.
/// The sample file, check-config and the loader all work from this one list.
/// </summary>
public static class OptionCatalog
{
    public static IReadOnlyList<Opt> All { get; } = Build(
        ServiceOptions.All,
        Periodic.PeriodicOptions.All,
        Logging.LoggingOptions.All,
        Db.DatabaseOptions.All,
        ServiceGroup.ServiceGroupOptions.All,
        Messaging.MessagingOptions.All,
        Compute.ComputeOptions.All,
        Api.ApiOptions.All,
        Reports.ReportOptions.All);

    private static List<Opt> Build(params IReadOnlyList<Opt>[] lists)
    {
        var all = lists.SelectMany(l => l).ToList();
        var duplicate = all.GroupBy(o => o.Key).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"option {duplicate.Key} is declared twice");
        }
        return all;
    }
}
