using System.Buffers.Binary;
using System.Text;

namespace NovaCompute.Tests.Logging.Journald;

/// <summary>Decodes journald's native entry format (both field forms), as journald itself parses it.</summary>
internal static class JournalEntry
{
    public static List<KeyValuePair<string, string>> Decode(ReadOnlySpan<byte> data)
    {
        var fields = new List<KeyValuePair<string, string>>();
        while (data.Length > 0)
        {
            var newline = data.IndexOf((byte)'\n');
            var equals = data.IndexOf((byte)'=');
            if (equals >= 0 && (newline < 0 || equals < newline))
            {
                Assert.That(newline, Is.GreaterThan(equals), "plain field without its closing newline");
                fields.Add(new(Encoding.ASCII.GetString(data[..equals]), Encoding.UTF8.GetString(data[(equals + 1)..newline])));
                data = data[(newline + 1)..];
                continue;
            }
            Assert.That(newline, Is.GreaterThan(0), "length-prefixed field without a name");
            var name = Encoding.ASCII.GetString(data[..newline]);
            var length = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(data[(newline + 1)..]));
            var start = newline + 1 + sizeof(ulong);
            fields.Add(new(name, Encoding.UTF8.GetString(data.Slice(start, length))));
            Assert.That(data[start + length], Is.EqualTo((byte)'\n'), $"field {name} must end with a newline");
            data = data[(start + length + 1)..];
        }
        return fields;
    }

    public static Dictionary<string, string> DecodeToDictionary(ReadOnlySpan<byte> data)
    {
        var fields = Decode(data);
        var duplicates = fields.GroupBy(f => f.Key).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.That(duplicates, Is.Empty, "no field may appear twice");
        return fields.ToDictionary(f => f.Key, f => f.Value);
    }
}
