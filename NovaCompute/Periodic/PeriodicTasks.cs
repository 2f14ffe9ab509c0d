using System.Diagnostics.CodeAnalysis;

namespace NovaCompute.Periodic;

/// <summary>
/// oslo.service's <c>periodic_task.PeriodicTasks</c>: the base of a class whose
/// <see cref="PeriodicTaskAttribute"/> methods <see cref="PeriodicTask.Collect"/> finds by reflection.
/// The annotation keeps those methods (public or not) on every derived class in a trimmed
/// (Native AOT) build, so <c>GetType().GetMethods()</c> sees what the source declares.
/// </summary>
[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicMethods | DynamicallyAccessedMemberTypes.NonPublicMethods)]
public abstract class PeriodicTasks;
