using System.Buffers;
using System.Globalization;
using System.Text;
using NovaCompute.Logging.Journald;

namespace NovaCompute.Tests.Logging.Journald;

public class JournalEncoderTests
{
    private static byte[] Encode(string name, string value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        JournalEncoder.AppendField(buffer, name, value);
        return buffer.WrittenSpan.ToArray();
    }

    [Test]
    public void AppendField_SingleLineValue_UsesPlainForm()
    {
        Assert.That(Encode("PRIORITY", "6"), Is.EqualTo("PRIORITY=6\n"u8.ToArray()));
    }

    [Test]
    public void AppendField_ValueWithNewline_UsesLengthPrefixedForm()
    {
        byte[] expected = [.. "MESSAGE\n"u8, 3, 0, 0, 0, 0, 0, 0, 0, (byte)'a', (byte)'\n', (byte)'b', (byte)'\n'];
        Assert.That(Encode("MESSAGE", "a\nb"), Is.EqualTo(expected));
    }

    [Test]
    public void AppendField_ValueWithNul_UsesLengthPrefixedFormKeepingTheByte()
    {
        byte[] expected = [.. "DATA\n"u8, 3, 0, 0, 0, 0, 0, 0, 0, (byte)'x', 0, (byte)'y', (byte)'\n'];
        Assert.That(Encode("DATA", "x\0y"), Is.EqualTo(expected));
    }

    [Test]
    public void AppendField_NonAsciiValue_LengthCountsUtf8Bytes()
    {
        var bytes = Encode("MESSAGE", "é\n€");
        // é = 2 bytes, \n = 1, € = 3.
        Assert.That(bytes.AsSpan(8, 8).ToArray(), Is.EqualTo(new byte[] { 6, 0, 0, 0, 0, 0, 0, 0 }));
        Assert.That(Encoding.UTF8.GetString(bytes, 16, 6), Is.EqualTo("é\n€"));
    }

    [Test]
    public void AppendField_EmptyValue_IsPlainNameEquals()
    {
        Assert.That(Encode("X", ""), Is.EqualTo("X=\n"u8.ToArray()));
    }

    [Test]
    public void AppendField_Integer_IsInvariantUnderCommaDecimalCulture()
    {
        var previous = CultureInfo.CurrentCulture;
        // The machine runs with invariant globalization, so nl-BE's number format is built by hand.
        var nlBe = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        nlBe.NumberFormat.NumberDecimalSeparator = ",";
        nlBe.NumberFormat.NumberGroupSeparator = ".";
        nlBe.NumberFormat.NegativeSign = "−";
        try
        {
            CultureInfo.CurrentCulture = nlBe;
            var buffer = new ArrayBufferWriter<byte>();
            JournalEncoder.AppendField(buffer, "CODE_LINE", -1234567);
            Assert.That(Encoding.ASCII.GetString(buffer.WrittenSpan), Is.EqualTo("CODE_LINE=-1234567\n"));
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }

    [Test]
    public void AppendField_SeveralFields_AreConcatenatedAndDecodable()
    {
        var buffer = new ArrayBufferWriter<byte>();
        JournalEncoder.AppendField(buffer, "MESSAGE", "line one\nline two");
        JournalEncoder.AppendField(buffer, "PRIORITY", 3);
        JournalEncoder.AppendField(buffer, "SYSLOG_IDENTIFIER", "nova-compute");
        var fields = JournalEntry.Decode(buffer.WrittenSpan);
        Assert.That(fields, Is.EqualTo(new[]
        {
            new KeyValuePair<string, string>("MESSAGE", "line one\nline two"),
            new KeyValuePair<string, string>("PRIORITY", "3"),
            new KeyValuePair<string, string>("SYSLOG_IDENTIFIER", "nova-compute"),
        }));
    }
}
