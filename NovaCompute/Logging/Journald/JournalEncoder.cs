using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace NovaCompute.Logging.Journald;

/// <summary>
/// journald's native entry encoding (systemd <c>docs/JOURNAL_NATIVE_PROTOCOL.md</c>): a sequence
/// of fields, each either <c>NAME=value\n</c> or <c>NAME\n</c> + 64-bit little-endian length +
/// value bytes + <c>\n</c>. Like systemd's own client we use the plain form whenever it is
/// allowed, so datagrams stay readable in strace; the length-prefixed form is used for values
/// holding a newline (required) or a NUL (which the plain form cannot carry safely).
/// </summary>
internal static class JournalEncoder
{
    // Invalid UTF-16 (a lone surrogate in an exception message) becomes U+FFFD rather than
    // failing the whole entry.
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    /// <summary>Appends one field. <paramref name="name"/> must already be valid (see <see cref="JournalFieldName"/>).</summary>
    public static void AppendField(IBufferWriter<byte> output, ReadOnlySpan<char> name, ReadOnlySpan<char> value)
    {
        System.Diagnostics.Debug.Assert(JournalFieldName.IsValid(name), $"invalid journal field name '{name}'");
        var valueBytes = Utf8.GetByteCount(value);
        if (value.IndexOfAny('\n', '\0') < 0)
        {
            var span = output.GetSpan(name.Length + valueBytes + 2);
            var at = WriteAscii(span, name);
            span[at++] = (byte)'=';
            at += Utf8.GetBytes(value, span[at..]);
            span[at++] = (byte)'\n';
            output.Advance(at);
        }
        else
        {
            var span = output.GetSpan(name.Length + 1 + sizeof(ulong) + valueBytes + 1);
            var at = WriteAscii(span, name);
            span[at++] = (byte)'\n';
            BinaryPrimitives.WriteUInt64LittleEndian(span[at..], (ulong)valueBytes);
            at += sizeof(ulong);
            at += Utf8.GetBytes(value, span[at..]);
            span[at++] = (byte)'\n';
            output.Advance(at);
        }
    }

    /// <summary>Appends an integer field, formatted with the invariant culture.</summary>
    public static void AppendField(IBufferWriter<byte> output, ReadOnlySpan<char> name, long value)
    {
        Span<char> digits = stackalloc char[20];
        value.TryFormat(digits, out var written, default, CultureInfo.InvariantCulture);
        AppendField(output, name, digits[..written]);
    }

    private static int WriteAscii(Span<byte> destination, ReadOnlySpan<char> name)
    {
        for (var i = 0; i < name.Length; i++)
        {
            destination[i] = (byte)name[i];
        }
        return name.Length;
    }
}
