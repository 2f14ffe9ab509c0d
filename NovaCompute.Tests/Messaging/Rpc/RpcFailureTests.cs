using System.Text.Json;
using NovaCompute.Messaging.Rpc;
using NovaCompute.Tests.Messaging.Vectors;

namespace NovaCompute.Tests.Messaging.Rpc;

public class RpcFailureTests
{
    [Test]
    public void Serialize_NovaException_OslosKeysWithKwargsAndNoPaths()
    {
        Exception thrown;
        try
        {
            Throw();
            return;
        }
        catch (RemoteException ex)
        {
            thrown = ex;
        }

        using var failure = JsonDocument.Parse(RpcFailure.Serialize(thrown, JsonRpcEntitySerializer.Instance, null));

        var root = failure.RootElement;
        Assert.That(root.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "class", "module", "message", "tb", "args", "kwargs" }));
        Assert.That(root.GetProperty("class").GetString(), Is.EqualTo("ComputeHostNotFound"));
        Assert.That(root.GetProperty("module").GetString(), Is.EqualTo("nova.exception"));
        Assert.That(root.GetProperty("args").GetRawText(), Is.EqualTo("""["Compute host nohost could not be found."]"""));
        Assert.That(root.GetProperty("kwargs").GetRawText(), Is.EqualTo("""{"host":"nohost","code":404}"""));
        var tb = root.GetProperty("tb").EnumerateArray().Select(l => l.GetString()!).ToList();
        Assert.That(tb[0], Is.EqualTo("Traceback (most recent call last):\n"));
        Assert.That(tb, Has.Some.EqualTo($"  File \"{typeof(RpcFailureTests).FullName}\", in Throw\n"));
        Assert.That(tb[^1], Is.EqualTo("nova.exception.ComputeHostNotFound: Compute host nohost could not be found.\n"));
        Assert.That(string.Concat(tb), Does.Not.Contain(".cs").And.Not.Contain("/work"), "no file paths or line numbers");

        static void Throw() => throw new RemoteException("ComputeHostNotFound", "nova.exception", "Compute host nohost could not be found.",
            new Dictionary<string, object?> { ["host"] = "nohost", ["code"] = 404 });
    }

    [Test]
    public void Deserialize_OsloNoSuchMethodCapture_DispatcherExceptionWithTraceback()
    {
        using var capture = JsonDocument.Parse(File.ReadAllText(WireVectors.PathOf("wire-example.json")));
        var failure = capture.RootElement.GetProperty("call_failure_no_such_method").GetProperty("reply").GetProperty("oslo.message(decoded)")
            .GetProperty("failure").GetString()!;

        var ex = RpcFailure.Deserialize(failure);

        Assert.That(ex, Is.TypeOf<NoSuchMethodException>());
        Assert.That(((NoSuchMethodException)ex).Method, Is.EqualTo("no_such_method"));
        Assert.That(ex.RemoteTraceback[^1], Does.StartWith("oslo_messaging.rpc.dispatcher.NoSuchMethod"));
    }

    [Test]
    public void Serialize_ReRaisedRemoteException_RemoteSuffixStripped()
    {
        var ex = new RemoteException("ComputeHostNotFound_Remote", "nova.exception_Remote", "m");
        using var failure = JsonDocument.Parse(RpcFailure.Serialize(ex, JsonRpcEntitySerializer.Instance, null));
        Assert.That(failure.RootElement.GetProperty("class").GetString(), Is.EqualTo("ComputeHostNotFound"));
        Assert.That(failure.RootElement.GetProperty("module").GetString(), Is.EqualTo("nova.exception"));
    }

    [TestCase(typeof(KeyNotFoundException), "KeyError")]
    [TestCase(typeof(ArgumentException), "ValueError")]
    [TestCase(typeof(NotImplementedException), "NotImplementedError")]
    [TestCase(typeof(TimeoutException), "TimeoutError")]
    [TestCase(typeof(FileNotFoundException), "FileNotFoundError")]
    public void Describe_DotNetExceptionWithPythonCounterpart_SentAsBuiltin(Type type, string builtin)
    {
        var (cls, module, _, _, _) = RpcFailure.Describe((Exception)Activator.CreateInstance(type, "x")!);
        Assert.That((module, cls), Is.EqualTo(("builtins", builtin)));
    }
}
