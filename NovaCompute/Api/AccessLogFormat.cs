using System.Globalization;
using NovaCompute.Logging;

namespace NovaCompute.Api;

/// <summary>What eventlet's access log knows about one request.</summary>
internal readonly record struct AccessLogEntry(
    string ClientIp, int ClientPort, DateTimeOffset Time, string RequestLine, int StatusCode, long BodyLength, double WallSeconds);

/// <summary>
/// <c>[wsgi] wsgi_log_format</c>: a Python %-format over eventlet's access-log keys, compiled once
/// and checked when the configuration is loaded (an unknown key is a configuration error here;
/// eventlet would fail on every request instead).
/// </summary>
internal sealed class AccessLogFormat
{
    private static readonly string[] Keys = ["client_ip", "client_port", "date_time", "request_line", "status_code", "body_length", "wall_seconds"];
    private static readonly string[] Months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

    private readonly IReadOnlyList<PercentSegment> _segments;

    public AccessLogFormat(string format)
    {
        _segments = PercentFormat.Parse(format);
        foreach (var segment in _segments)
        {
            if (!segment.IsLiteral && !Keys.Contains(segment.Key))
            {
                throw new FormatException($"unknown key '{segment.Key}' (known: {string.Join(", ", Keys)})");
            }
        }
    }

    public static void Validate(string format) => _ = new AccessLogFormat(format);

    public string Render(in AccessLogEntry entry)
    {
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        foreach (var segment in _segments)
        {
            if (segment.IsLiteral)
            {
                output.Write(segment.Literal);
                continue;
            }
            var spec = segment.Spec;
            switch (segment.Key)
            {
                case "client_ip":
                    PercentWriter.WriteString(output, entry.ClientIp, spec);
                    break;
                case "date_time":
                    PercentWriter.WriteString(output, DateTime(entry.Time), spec);
                    break;
                case "request_line":
                    PercentWriter.WriteString(output, entry.RequestLine, spec);
                    break;
                case "client_port":
                    Number(output, entry.ClientPort, spec);
                    break;
                case "status_code":
                    Number(output, entry.StatusCode, spec);
                    break;
                case "body_length":
                    Number(output, entry.BodyLength, spec);
                    break;
                case "wall_seconds":
                    if (spec.IsInteger)
                    {
                        PercentWriter.WriteInteger(output, (long)entry.WallSeconds, spec);
                    }
                    else if (spec.IsFloat)
                    {
                        PercentWriter.WriteFloat(output, entry.WallSeconds, spec);
                    }
                    else
                    {
                        PercentWriter.WriteString(output, entry.WallSeconds.ToString("R", CultureInfo.InvariantCulture), spec);
                    }
                    break;
            }
        }
        return output.ToString();
    }

    private static void Number(TextWriter output, long value, in PercentSpec spec)
    {
        if (spec.IsFloat)
        {
            PercentWriter.WriteFloat(output, value, spec);
        }
        else if (spec.IsInteger)
        {
            PercentWriter.WriteInteger(output, value, spec);
        }
        else
        {
            PercentWriter.WriteString(output, value.ToString(CultureInfo.InvariantCulture), spec);
        }
    }

    /// <summary>BaseHTTPRequestHandler's <c>log_date_time_string</c>: <c>14/May/2024 09:12:52</c>, local time.</summary>
    private static string DateTime(DateTimeOffset time)
    {
        var local = time.ToLocalTime();
        return string.Create(CultureInfo.InvariantCulture,
            $"{local.Day:00}/{Months[local.Month - 1]}/{local.Year:0000} {local.Hour:00}:{local.Minute:00}:{local.Second:00}");
    }
}
