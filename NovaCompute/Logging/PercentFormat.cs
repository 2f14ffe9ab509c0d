using System.Globalization;

namespace NovaCompute.Logging;

/// <summary>
/// One conversion of a Python %-format: <c>%(key)[flags][width][.precision]type</c>, as
/// <c>logging.PercentStyle</c> and oslo.log's format options use it.
/// </summary>
internal readonly record struct PercentSpec(char Conversion, bool LeftAlign, bool ZeroPad, bool Sign, bool Space, int Width, int Precision)
{
    public bool IsInteger => Conversion is 'd' or 'i' or 'u' or 'x' or 'X' or 'o';

    public bool IsFloat => Conversion is 'f' or 'F' or 'e' or 'E' or 'g' or 'G';
}

/// <summary>A piece of a compiled format: literal text, or a named field with its conversion.</summary>
internal readonly record struct PercentSegment(string? Literal, string? Key, PercentSpec Spec)
{
    public bool IsLiteral => Literal is not null;
}

/// <summary>
/// Parses Python %-style format strings with mapping keys (<c>%(asctime)s.%(msecs)03d</c>) once,
/// into segments; <see cref="PercentWriter"/> renders values the way Python's % operator does.
/// Positional conversions (<c>%s</c> without a key) and <c>*</c> widths have no meaning in a
/// logging format and are rejected.
/// </summary>
internal static class PercentFormat
{
    public static IReadOnlyList<PercentSegment> Parse(string format)
    {
        var segments = new List<PercentSegment>();
        var literal = new System.Text.StringBuilder();
        var i = 0;
        while (i < format.Length)
        {
            var c = format[i];
            if (c != '%')
            {
                literal.Append(c);
                i++;
                continue;
            }
            if (i + 1 < format.Length && format[i + 1] == '%')
            {
                literal.Append('%');
                i += 2;
                continue;
            }
            if (i + 1 >= format.Length || format[i + 1] != '(')
            {
                throw new FormatException($"format '{format}': a conversion at position {i} has no (key)");
            }
            var close = format.IndexOf(')', i + 2);
            if (close < 0)
            {
                throw new FormatException($"format '{format}': unclosed '(' at position {i + 1}");
            }
            var key = format[(i + 2)..close];
            i = close + 1;

            bool left = false, zero = false, sign = false, space = false;
            for (; i < format.Length; i++)
            {
                switch (format[i])
                {
                    case '-': left = true; continue;
                    case '0': zero = true; continue;
                    case '+': sign = true; continue;
                    case ' ': space = true; continue;
                    case '#': continue;
                }
                break;
            }
            var width = ReadNumber(format, ref i);
            var precision = -1;
            if (i < format.Length && format[i] == '.')
            {
                i++;
                precision = ReadNumber(format, ref i);
            }
            // Python accepts and ignores C length modifiers.
            while (i < format.Length && format[i] is 'h' or 'l' or 'L')
            {
                i++;
            }
            if (i >= format.Length)
            {
                throw new FormatException($"format '{format}': incomplete conversion for key '{key}'");
            }
            var conversion = format[i++];
            if ("sdiuoxXeEfFgGcra".IndexOf(conversion) < 0)
            {
                throw new FormatException($"format '{format}': unsupported conversion '%{conversion}' for key '{key}'");
            }
            if (literal.Length > 0)
            {
                segments.Add(new PercentSegment(literal.ToString(), null, default));
                literal.Clear();
            }
            segments.Add(new PercentSegment(null, key, new PercentSpec(conversion, left, zero, sign, space, width, precision)));
        }
        if (literal.Length > 0)
        {
            segments.Add(new PercentSegment(literal.ToString(), null, default));
        }
        return segments;
    }

    private static int ReadNumber(string format, ref int i)
    {
        var value = 0;
        while (i < format.Length && char.IsAsciiDigit(format[i]))
        {
            value = checked(value * 10 + (format[i] - '0'));
            i++;
        }
        return value;
    }
}

/// <summary>Writes values under a <see cref="PercentSpec"/> the way Python's % operator does.</summary>
internal static class PercentWriter
{
    public static void WriteString(TextWriter output, ReadOnlySpan<char> value, in PercentSpec spec)
    {
        if (spec.Conversion == 'r')
        {
            // repr() of a str: single quotes; enough for the rare format that asks for it.
            Pad(output, value.Length + 2, spec, leftPadding: true);
            output.Write('\'');
            output.Write(value);
            output.Write('\'');
            Pad(output, value.Length + 2, spec, leftPadding: false);
            return;
        }
        if (spec.Precision >= 0 && value.Length > spec.Precision && !spec.IsInteger && !spec.IsFloat)
        {
            value = value[..spec.Precision];
        }
        Pad(output, value.Length, spec, leftPadding: true);
        output.Write(value);
        Pad(output, value.Length, spec, leftPadding: false);
    }

    public static void WriteInteger(TextWriter output, long value, in PercentSpec spec)
    {
        if (spec.IsFloat)
        {
            WriteFloat(output, value, spec);
            return;
        }
        Span<char> buffer = stackalloc char[32];
        var negative = value < 0;
        // -(value + 1) + 1 keeps long.MinValue in range.
        var magnitude = negative ? (ulong)(-(value + 1)) + 1 : (ulong)value;
        int written;
        if (spec.Conversion == 'o')
        {
            written = FormatOctal(magnitude, buffer);
        }
        else
        {
            ReadOnlySpan<char> format = spec.Conversion switch { 'x' => "x", 'X' => "X", _ => "" };
            magnitude.TryFormat(buffer, out written, format, CultureInfo.InvariantCulture);
        }
        WriteNumber(output, buffer[..written], negative, spec);
    }

    public static void WriteFloat(TextWriter output, double value, in PercentSpec spec)
    {
        if (spec.IsInteger)
        {
            WriteInteger(output, (long)Math.Truncate(value), spec);
            return;
        }
        if (!spec.IsFloat)
        {
            // %s of a float: Python's str() (shortest round-trip form, always with a dot).
            Span<char> text = stackalloc char[40];
            value.TryFormat(text, out var n, "R", CultureInfo.InvariantCulture);
            if (double.IsFinite(value) && text[..n].IndexOfAny('.', 'E') < 0)
            {
                text[n++] = '.';
                text[n++] = '0';
            }
            WriteString(output, text[..n], spec);
            return;
        }
        var precision = spec.Precision < 0 ? 6 : spec.Precision;
        Span<char> buffer = stackalloc char[64 + precision];
        var negative = value < 0 || (value == 0 && double.IsNegative(value));
        var magnitude = Math.Abs(value);
        int written;
        switch (spec.Conversion)
        {
            case 'e' or 'E':
                magnitude.TryFormat(buffer, out written, (spec.Conversion == 'e' ? "0." + new string('0', precision) + "e+00" : "0." + new string('0', precision) + "E+00"), CultureInfo.InvariantCulture);
                break;
            case 'g' or 'G':
                magnitude.TryFormat(buffer, out written, "G" + Math.Max(1, precision).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
                break;
            default:
                magnitude.TryFormat(buffer, out written, "F" + precision.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
                break;
        }
        WriteNumber(output, buffer[..written], negative, spec);
    }

    private static void WriteNumber(TextWriter output, ReadOnlySpan<char> digits, bool negative, in PercentSpec spec)
    {
        var signChar = negative ? '-' : spec.Sign ? '+' : spec.Space ? ' ' : '\0';
        var length = digits.Length + (signChar != '\0' ? 1 : 0);
        if (spec.ZeroPad && !spec.LeftAlign)
        {
            if (signChar != '\0')
            {
                output.Write(signChar);
            }
            for (var i = length; i < spec.Width; i++)
            {
                output.Write('0');
            }
            output.Write(digits);
            return;
        }
        Pad(output, length, spec, leftPadding: true);
        if (signChar != '\0')
        {
            output.Write(signChar);
        }
        output.Write(digits);
        Pad(output, length, spec, leftPadding: false);
    }

    private static void Pad(TextWriter output, int length, in PercentSpec spec, bool leftPadding)
    {
        if (spec.Width <= length || spec.LeftAlign == leftPadding)
        {
            return;
        }
        for (var i = length; i < spec.Width; i++)
        {
            output.Write(' ');
        }
    }

    private static int FormatOctal(ulong value, Span<char> buffer)
    {
        var n = 0;
        do
        {
            buffer[n++] = (char)('0' + (int)(value & 7));
            value >>= 3;
        }
        while (value != 0);
        buffer[..n].Reverse();
        return n;
    }
}
