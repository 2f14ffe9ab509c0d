using System.Globalization;
using System.Runtime.CompilerServices;
using Serilog.Events;
using Serilog.Parsing;

namespace NovaCompute.Logging;

/// <summary>
/// Renders an event's message template the way the text reads in nova's logs: property values
/// inserted as plain text (Serilog's own rendering would put strings in quotes), numbers and
/// dates in the invariant culture, <c>None</c>/<c>True</c>/<c>False</c> as Python prints them,
/// sequences as <c>a, b</c>. Property values are untrusted (message bodies, ids from the wire):
/// their control characters are escaped (<see cref="LogText"/>) so a value cannot start a line. Scalars are formatted into a stack buffer, so rendering allocates
/// nothing for the usual value types.
/// </summary>
internal static class MessageRenderer
{
    // MessageTemplate only exposes its tokens as an IEnumerable (an enumerator allocation per
    // event); Serilog.Extensions.Logging reuses one template instance per message format, so
    // an array per template, held as long as the template lives, takes that cost once.
    private static readonly ConditionalWeakTable<MessageTemplate, MessageTemplateToken[]> Tokens = new();

    public static void Render(LogEvent logEvent, TextWriter output)
    {
        var template = logEvent.MessageTemplate;
        if (!Tokens.TryGetValue(template, out var tokens))
        {
            tokens = Tokens.GetValue(template, static t => [.. t.Tokens]);
        }
        foreach (var token in tokens)
        {
            if (token is TextToken text)
            {
                output.Write(text.Text);
                continue;
            }
            var property = (PropertyToken)token;
            if (!logEvent.Properties.TryGetValue(property.PropertyName, out var value))
            {
                output.Write(property.ToString());
                continue;
            }
            if (property.Alignment is { } alignment)
            {
                using var aligned = new StringWriter(CultureInfo.InvariantCulture);
                WriteValue(value, property.Format, aligned);
                var rendered = aligned.ToString();
                var pad = Math.Max(0, alignment.Width - rendered.Length);
                if (alignment.Direction == AlignmentDirection.Right)
                {
                    output.Write(new string(' ', pad));
                }
                output.Write(rendered);
                if (alignment.Direction == AlignmentDirection.Left)
                {
                    output.Write(new string(' ', pad));
                }
                continue;
            }
            WriteValue(value, property.Format, output);
        }
    }

    public static void WriteValue(LogEventPropertyValue value, string? format, TextWriter output)
    {
        switch (value)
        {
            case ScalarValue scalar:
                WriteScalar(scalar.Value, format, output);
                break;
            case SequenceValue sequence:
                for (var i = 0; i < sequence.Elements.Count; i++)
                {
                    if (i > 0)
                    {
                        output.Write(", ");
                    }
                    WriteValue(sequence.Elements[i], null, output);
                }
                break;
            default:
                using (var rendered = new StringWriter(CultureInfo.InvariantCulture))
                {
                    value.Render(rendered, format, CultureInfo.InvariantCulture);
                    LogText.WriteEscaped(output, rendered.ToString());
                }
                break;
        }
    }

    public static void WriteScalar(object? value, string? format, TextWriter output)
    {
        switch (value)
        {
            case null:
                output.Write("None");
                break;
            case string s:
                LogText.WriteEscaped(output, s);
                break;
            case bool b:
                output.Write(b ? "True" : "False");
                break;
            case ISpanFormattable formattable:
                Span<char> buffer = stackalloc char[64];
                if (formattable.TryFormat(buffer, out var written, format, CultureInfo.InvariantCulture))
                {
                    LogText.WriteEscaped(output, buffer[..written]);
                }
                else
                {
                    LogText.WriteEscaped(output, formattable.ToString(format, CultureInfo.InvariantCulture));
                }
                break;
            case IFormattable formattable:
                LogText.WriteEscaped(output, formattable.ToString(format, CultureInfo.InvariantCulture));
                break;
            default:
                LogText.WriteEscaped(output, value.ToString());
                break;
        }
    }
}
