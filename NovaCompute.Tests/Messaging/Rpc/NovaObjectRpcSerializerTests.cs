using System.Buffers;
using System.Text.Json;
using NovaCompute.Messaging.Rpc;
using NovaCompute.Objects;

namespace NovaCompute.Tests.Messaging.Rpc;

public class NovaObjectRpcSerializerTests
{
    [Test]
    public void ServiceObject_RoundTrip_NovaObjectPrimitiveOnTheWire()
    {
        ObjectRegistry.RegisterAll();
        var service = new Service();
        service.Set("host", "compute-01");
        service.Set("binary", "nova-compute");

        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            NovaObjectRpcSerializer.Instance.Serialize(writer, null, new object[] { service });
        }
        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        var primitive = document.RootElement[0];
        var back = (Service)NovaObjectRpcSerializer.Instance.Deserialize(null, primitive, typeof(Service))!;

        Assert.That(primitive.GetProperty("nova_object.name").GetString(), Is.EqualTo("Service"));
        Assert.That(primitive.GetProperty("nova_object.namespace").GetString(), Is.EqualTo("nova"));
        Assert.That(primitive.GetProperty("nova_object.data").GetProperty("host").GetString(), Is.EqualTo("compute-01"));
        Assert.That(back.GetValue("host"), Is.EqualTo("compute-01"));
        Assert.That(NovaObjectRpcSerializer.Instance.Deserialize(null, primitive, typeof(object)), Is.InstanceOf<Service>());
        Assert.That(NovaObjectRpcSerializer.Instance.Deserialize(null, primitive, typeof(JsonElement)), Is.InstanceOf<JsonElement>());
    }

    [Test]
    public void PlainValues_PassThroughAsJson()
    {
        using var document = JsonDocument.Parse("""{"a": 1, "b": 2}""");
        var value = (Dictionary<string, int>)NovaObjectRpcSerializer.Instance.Deserialize(null, document.RootElement, typeof(Dictionary<string, int>))!;
        Assert.That(value, Is.EqualTo(new Dictionary<string, int> { ["a"] = 1, ["b"] = 2 }));
    }
}
