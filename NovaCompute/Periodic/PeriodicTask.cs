using System.Reflection;
using System.Text.Json;
using NovaCompute.Config;

namespace NovaCompute.Periodic;

/// <summary>One periodic task of a manager: its declaration and how to run it.</summary>
public sealed class PeriodicTask
{
    /// <summary>oslo's <c>DEFAULT_INTERVAL</c>: the spacing of a task declared with 0, and the longest idle.</summary>
    public const double DefaultInterval = 60.0;

    private readonly Func<CancellationToken, Task> _run;

    internal PeriodicTask(string ownerName, string name, PeriodicTaskAttribute declaration, Opt? spacingOption, Func<CancellationToken, Task> run)
    {
        OwnerName = ownerName;
        Name = name;
        Declaration = declaration;
        SpacingOption = spacingOption;
        _run = run;
    }

    /// <summary>The manager's class name, as oslo logs it (<c>ComputeManager.update_available_resource</c>).</summary>
    public string OwnerName { get; }

    public string Name { get; }

    public string FullName => $"{OwnerName}.{Name}";

    public PeriodicTaskAttribute Declaration { get; }

    public Opt? SpacingOption { get; }

    /// <summary>
    /// The spacing in force under <paramref name="config"/>: null when the task is left out
    /// (disabled, or a negative spacing), 60 for 0.
    /// </summary>
    public double? Spacing(NovaConfig config)
    {
        if (!Declaration.Enabled)
        {
            return null;
        }
        double spacing = SpacingOption switch
        {
            IntOpt i => config.Get(i),
            NullableIntOpt n => config.Get(n) ?? 0,
            FloatOpt f => config.Get(f),
            null => Declaration.Spacing,
            _ => throw new InvalidOperationException($"spacing option {SpacingOption.Key} of {FullName} is not numeric"),
        };
        return spacing < 0 ? null : spacing == 0 ? DefaultInterval : spacing;
    }

    public Task RunAsync(CancellationToken cancellationToken) => _run(cancellationToken);

    /// <summary>
    /// The periodic tasks a manager declares, in declaration order (oslo keeps definition order).
    /// Spacing options are resolved against the catalog now, so a typo fails start-up, not a run.
    /// </summary>
    public static IReadOnlyList<PeriodicTask> Collect(PeriodicTasks manager, IReadOnlyList<Opt> catalog)
    {
        var type = manager.GetType();
        var tasks = new List<PeriodicTask>();
        // Declaration order from the attribute's source line (a base class's tasks first):
        // reflection's own order is unspecified, and Native AOT has no metadata tokens to sort by.
        var methods = type.GetMethods(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
            .Select(m => (Method: m, Declaration: m.GetCustomAttribute<PeriodicTaskAttribute>()))
            .Where(m => m.Declaration is not null)
            .OrderBy(m => Depth(m.Method.DeclaringType))
            .ThenBy(m => m.Declaration!.Line);
        foreach (var (method, declaration) in methods)
        {
            var parameters = method.GetParameters();
            if (method.ReturnType != typeof(Task) || parameters.Length != 1 || parameters[0].ParameterType != typeof(CancellationToken))
            {
                throw new InvalidOperationException($"periodic task {type.Name}.{method.Name} must be 'Task {method.Name}(CancellationToken)'");
            }
            Opt? option = null;
            if (declaration!.SpacingOption is { } key)
            {
                var dot = key.IndexOf('.');
                var (group, name) = dot < 0 ? (ConfigGroups.Default, key) : (key[..dot], key[(dot + 1)..]);
                option = catalog.FirstOrDefault(o => o.Group == group && o.Name == name)
                    ?? throw new InvalidOperationException($"periodic task {type.Name}.{method.Name}: spacing option {key} is not a registered option");
            }
            var run = (Func<CancellationToken, Task>)method.CreateDelegate(typeof(Func<CancellationToken, Task>), manager);
            tasks.Add(new PeriodicTask(type.Name, declaration.Name ?? JsonNamingPolicy.SnakeCaseLower.ConvertName(method.Name), declaration, option, run));
        }
        var duplicate = tasks.GroupBy(t => t.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"periodic task name {duplicate.Key} is used twice in {type.Name}");
        }
        return tasks;
    }

    private static int Depth(Type? type)
    {
        var depth = 0;
        for (; type?.BaseType is { } parent; type = parent)
        {
            depth++;
        }
        return depth;
    }
}
