namespace NovaCompute.Logging;

/// <summary>
/// <c>log_date_format</c>: a C <c>strftime</c> pattern, which Python's logging applies to local
/// time for <c>%(asctime)s</c>. Compiled once; rendering writes digits straight to the output.
/// Names are the C locale's (English), as a daemon started by systemd has no other locale.
/// Supported: <c>%Y %m %d %H %M %S %y %b %B %a %A %j %p %I %z %Z %e %F %T %%</c>; any other
/// directive is copied through as written, which is what glibc does with one it does not know.
/// </summary>
internal sealed class StrftimeFormat
{
    private static readonly string[] MonthAbbreviations = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    private static readonly string[] MonthNames = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
    private static readonly string[] DayAbbreviations = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    private static readonly string[] DayNames = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

    private readonly (string? Literal, char Directive)[] _segments;

    public StrftimeFormat(string pattern)
    {
        Pattern = pattern;
        var segments = new List<(string?, char)>();
        var literal = new System.Text.StringBuilder();
        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] != '%' || i + 1 >= pattern.Length)
            {
                literal.Append(pattern[i]);
                continue;
            }
            var directive = pattern[++i];
            if (directive == '%')
            {
                literal.Append('%');
                continue;
            }
            if ("YmdHMSybBaAjpIzZeFT".IndexOf(directive) < 0)
            {
                literal.Append('%').Append(directive);
                continue;
            }
            if (literal.Length > 0)
            {
                segments.Add((literal.ToString(), '\0'));
                literal.Clear();
            }
            segments.Add((null, directive));
        }
        if (literal.Length > 0)
        {
            segments.Add((literal.ToString(), '\0'));
        }
        _segments = [.. segments];
    }

    public string Pattern { get; }

    /// <summary>Writes <paramref name="time"/> (already in the wanted zone) under the pattern.</summary>
    public void Write(TextWriter output, DateTimeOffset time, TimeZoneInfo zone)
    {
        foreach (var (literal, directive) in _segments)
        {
            if (literal is not null)
            {
                output.Write(literal);
                continue;
            }
            WriteDirective(output, directive, time, zone);
        }
    }

    private static void WriteDirective(TextWriter output, char directive, DateTimeOffset time, TimeZoneInfo zone)
    {
        switch (directive)
        {
            case 'Y': WriteDigits(output, time.Year, 4); break;
            case 'y': WriteDigits(output, time.Year % 100, 2); break;
            case 'm': WriteDigits(output, time.Month, 2); break;
            case 'd': WriteDigits(output, time.Day, 2); break;
            case 'e':
                if (time.Day < 10)
                {
                    output.Write(' ');
                }
                WriteDigits(output, time.Day, 1);
                break;
            case 'H': WriteDigits(output, time.Hour, 2); break;
            case 'I': WriteDigits(output, time.Hour % 12 == 0 ? 12 : time.Hour % 12, 2); break;
            case 'M': WriteDigits(output, time.Minute, 2); break;
            case 'S': WriteDigits(output, time.Second, 2); break;
            case 'p': output.Write(time.Hour < 12 ? "AM" : "PM"); break;
            case 'j': WriteDigits(output, time.DayOfYear, 3); break;
            case 'b': output.Write(MonthAbbreviations[time.Month - 1]); break;
            case 'B': output.Write(MonthNames[time.Month - 1]); break;
            case 'a': output.Write(DayAbbreviations[(int)time.DayOfWeek]); break;
            case 'A': output.Write(DayNames[(int)time.DayOfWeek]); break;
            case 'F':
                WriteDirective(output, 'Y', time, zone);
                output.Write('-');
                WriteDirective(output, 'm', time, zone);
                output.Write('-');
                WriteDirective(output, 'd', time, zone);
                break;
            case 'T':
                WriteDirective(output, 'H', time, zone);
                output.Write(':');
                WriteDirective(output, 'M', time, zone);
                output.Write(':');
                WriteDirective(output, 'S', time, zone);
                break;
            case 'z':
                var offset = time.Offset;
                output.Write(offset < TimeSpan.Zero ? '-' : '+');
                offset = offset.Duration();
                WriteDigits(output, offset.Hours, 2);
                WriteDigits(output, offset.Minutes, 2);
                break;
            case 'Z':
                output.Write(ZoneAbbreviation(zone, time));
                break;
        }
    }

    /// <summary>
    /// The zone's abbreviation (<c>CET</c>, <c>CEST</c>, <c>UTC</c>). .NET reads abbreviations
    /// from tzdata but calls UTC "Coordinated Universal Time"; anything that does not look like an
    /// abbreviation is replaced by the numeric form glibc uses for unnamed zones (<c>+01</c>).
    /// </summary>
    internal static string ZoneAbbreviation(TimeZoneInfo zone, DateTimeOffset time)
    {
        if (zone.BaseUtcOffset == TimeSpan.Zero && !zone.SupportsDaylightSavingTime)
        {
            return "UTC";
        }
        var name = zone.IsDaylightSavingTime(time) ? zone.DaylightName : zone.StandardName;
        if (name.Length is > 0 and <= 6 && !name.Contains(' '))
        {
            return name;
        }
        var offset = time.Offset;
        var sign = offset < TimeSpan.Zero ? "-" : "+";
        offset = offset.Duration();
        return offset.Minutes == 0 ? $"{sign}{offset.Hours:00}" : $"{sign}{offset.Hours:00}{offset.Minutes:00}";
    }

    internal static void WriteDigits(TextWriter output, int value, int minDigits)
    {
        Span<char> buffer = stackalloc char[11];
        var n = 0;
        do
        {
            buffer[n++] = (char)('0' + value % 10);
            value /= 10;
        }
        while (value != 0);
        for (var i = n; i < minDigits; i++)
        {
            output.Write('0');
        }
        for (var i = n - 1; i >= 0; i--)
        {
            output.Write(buffer[i]);
        }
    }
}
