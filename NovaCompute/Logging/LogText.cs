using System.Buffers;
using System.Globalization;

namespace NovaCompute.Logging;

/// <summary>
/// Keeps untrusted text (message bodies, <c>_unique_id</c>, request ids, HTTP input, exception
/// messages) from forging log lines: C0 controls, DEL and C1 controls are written escaped
/// (<c>\n</c>, <c>\r</c>, <c>\t</c>, otherwise <c>\xNN</c>), so a console or file line stays one
/// line and no raw NUL or terminal escape reaches the output. journald keeps each entry whole by
/// itself and gets the text as it was.
/// </summary>
internal static class LogText
{
    private static readonly SearchValues<char> Controls = SearchValues.Create(
        string.Concat(Enumerable.Range(0, 0x20).Append(0x7F).Concat(Enumerable.Range(0x80, 0x20)).Select(c => (char)c)));

    public static bool NeedsEscaping(ReadOnlySpan<char> text) => text.ContainsAny(Controls);

    /// <summary>Writes <paramref name="text"/> with every control character escaped.</summary>
    public static void WriteEscaped(TextWriter output, ReadOnlySpan<char> text)
    {
        while (true)
        {
            var next = text.IndexOfAny(Controls);
            if (next < 0)
            {
                output.Write(text);
                return;
            }
            output.Write(text[..next]);
            WriteEscape(output, text[next]);
            text = text[(next + 1)..];
        }
    }

    /// <summary>The text with control characters escaped; the same instance when there are none.</summary>
    public static string Escape(string text)
    {
        if (!NeedsEscaping(text))
        {
            return text;
        }
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        WriteEscaped(writer, text);
        return writer.ToString();
    }

    private static void WriteEscape(TextWriter output, char c)
    {
        switch (c)
        {
            case '\n':
                output.Write("\\n");
                break;
            case '\r':
                output.Write("\\r");
                break;
            case '\t':
                output.Write("\\t");
                break;
            default:
                output.Write("\\x");
                output.Write(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                break;
        }
    }
}
