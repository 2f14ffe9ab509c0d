namespace NovaCompute.Tests.Messaging.Vectors;

/// <summary>
/// What real oslo.messaging 14.0.3 peers put on the wire, kept with the tests so the wire-format
/// tests always run: <c>wire-capture-oslo-python.json</c> (a Python client's ping call, cast and
/// fanout cast as RabbitMQ's firehose saw them) and <c>wire-example.json</c> (request/reply pairs
/// answered by a Python server, including a <c>NoSuchMethod</c> failure).
/// </summary>
internal static class WireVectors
{
    /// <summary>The vector file's path in the test output; a missing vector fails the test.</summary>
    public static string PathOf(string name)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Messaging", "Vectors", name);
        if (!File.Exists(path))
        {
            Assert.Fail($"wire vector {path} is missing (NovaCompute.Tests/Messaging/Vectors/ is copied to the test output)");
        }
        return path;
    }
}
