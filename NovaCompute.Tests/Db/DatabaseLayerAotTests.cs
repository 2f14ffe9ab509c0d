using NovaCompute.Db;

namespace NovaCompute.Tests.Db;

public class DatabaseLayerAotTests
{
    [Test]
    public void DaemonAssembly_ReferencesNoDapper_SoNoStatementNeedsReflectionEmit()
    {
        // Dapper compiles its parameter binders and row readers with Reflection.Emit, which under
        // Native AOT (issue 13) throws only when a statement first runs, not at build time; a
        // reference from the daemon to Dapper is the build-time sign that one such call came back.
        var references = typeof(ServiceRepository).Assembly.GetReferencedAssemblies().Select(a => a.Name).ToList();

        Assert.That(references, Has.None.StartsWith("Dapper"));
    }
}
