using System.Runtime.CompilerServices;

namespace NovaCompute.Periodic;

/// <summary>
/// Marks a manager method as a periodic task, with oslo.service's parameters. The method takes a
/// <see cref="CancellationToken"/> and returns a <see cref="Task"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = true)]
public sealed class PeriodicTaskAttribute([CallerLineNumber] int line = 0) : Attribute
{
    /// <summary>The source line of the declaration, which orders a class's tasks as oslo does (definition order).</summary>
    public int Line { get; } = line;

    /// <summary>Seconds between runs; 0 means oslo's default of 60, negative leaves the task out.</summary>
    public double Spacing { get; init; }

    /// <summary>
    /// An integer option (<c>name</c> or <c>group.name</c>) that holds the spacing instead of
    /// <see cref="Spacing"/>. It is read on every pass, so a SIGHUP reload changes it (nova reads
    /// spacings once, at import).
    /// </summary>
    public string? SpacingOption { get; init; }

    /// <summary>Run on the loop's first pass instead of one spacing after start.</summary>
    public bool RunImmediately { get; init; }

    /// <summary>Task name; oslo's default is the method name (here in snake_case).</summary>
    public string? Name { get; init; }

    /// <summary>Skipped entirely when <c>run_external_periodic_tasks</c> is false.</summary>
    public bool ExternalProcessOk { get; init; }

    public bool Enabled { get; init; } = true;
}
