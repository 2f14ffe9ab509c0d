using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using NovaCompute.Logging.Journald;
using Serilog.Events;
using Serilog.Formatting;
using Serilog.Parsing;

namespace NovaCompute.Logging;

/// <summary>
/// <c>use_json</c>: oslo.log's <c>JSONFormatter</c>, one JSON object per line with its field names
/// (<c>message</c>, <c>asctime</c>, <c>name</c>, <c>msg</c>, <c>args</c>, <c>levelname</c>, …,
/// <c>traceback</c> as a list of lines, <c>context</c> with the request context, <c>extra</c> with
/// the event's other properties in snake_case). Secrets are masked in the finished line.
/// </summary>
internal sealed class OsloJsonFormatter(LoggingSettings settings, LoggingEnvironment environment) : ITextFormatter
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Scope properties that form oslo's <c>context</c> object, under oslo.context's key names.</summary>
    private static readonly (string Property, string Key)[] ContextProperties =
    [
        ("UserId", "user"), ("ProjectId", "project_id"), ("ProjectId", "project"), ("SystemScope", "system_scope"),
        ("DomainId", "domain"), ("UserDomainId", "user_domain"), ("ProjectDomainId", "project_domain"),
        ("RequestId", "request_id"), ("GlobalRequestId", "global_request_id"), ("ResourceUuid", "resource_uuid"),
        ("UserName", "user_name"), ("ProjectName", "project_name"), ("DomainName", "domain_name"),
        ("UserDomainName", "user_domain_name"), ("ProjectDomainName", "project_domain_name"),
    ];

    private static readonly HashSet<string> NotExtra = new(ContextProperties.Select(p => p.Property).Concat(
        ["SourceContext", ThreadEnricher.ThreadIdProperty, ThreadEnricher.ThreadNameProperty]), StringComparer.Ordinal);

    private readonly StrftimeFormat _date = new(settings.LogDateFormat);

    public void Format(LogEvent logEvent, TextWriter output)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            Write(logEvent, json);
        }
        var line = Encoding.UTF8.GetString(buffer.WrittenSpan);
        output.Write(SecretMasker.Mask(line));
        output.Write('\n');
    }

    private void Write(LogEvent logEvent, Utf8JsonWriter json)
    {
        var properties = logEvent.Properties;
        var local = TimeZoneInfo.ConvertTime(logEvent.Timestamp, environment.TimeZone);
        var sourceContext = Scalar(properties, "SourceContext") as string;
        var exception = logEvent.Exception;

        json.WriteStartObject();
        var message = new StringWriter(CultureInfo.InvariantCulture);
        MessageRenderer.Render(logEvent, message);
        json.WriteString("message", message.ToString());
        var asctime = new StringWriter(CultureInfo.InvariantCulture);
        _date.Write(asctime, local, environment.TimeZone);
        json.WriteString("asctime", asctime.ToString());
        json.WriteString("name", LoggerNames.FromCategory(sourceContext));
        json.WriteString("msg", logEvent.MessageTemplate.Text);

        json.WriteStartObject("args");
        foreach (var token in logEvent.MessageTemplate.Tokens.OfType<PropertyToken>())
        {
            if (properties.TryGetValue(token.PropertyName, out var value))
            {
                json.WritePropertyName(token.PropertyName);
                WriteValue(value, json);
            }
        }
        json.WriteEndObject();

        json.WriteString("levelname", SyslogLevels.PythonLevelName(logEvent.Level));
        json.WriteNumber("levelno", SyslogLevels.PythonLevelNumber(logEvent.Level));
        var codeFile = Scalar(properties, "CodeFile") as string;
        json.WriteString("pathname", codeFile ?? sourceContext ?? "-");
        json.WriteString("filename", codeFile is null ? "-" : Path.GetFileName(codeFile));
        json.WriteString("module", codeFile is not null ? Path.GetFileNameWithoutExtension(codeFile)
            : sourceContext is null ? "-" : sourceContext[(sourceContext.LastIndexOf('.') + 1)..]);
        var (eventId, eventName) = EventIdOf(properties);
        if (Scalar(properties, "CodeLine") is int line)
        {
            json.WriteNumber("lineno", line);
        }
        else if (eventId is { } id)
        {
            json.WriteNumber("lineno", id);
        }
        else
        {
            json.WriteNull("lineno");
        }
        json.WriteString("funcname", Scalar(properties, "CodeFunc") as string ?? eventName ?? "-");
        json.WriteNumber("created", (logEvent.Timestamp.UtcTicks - DateTime.UnixEpoch.Ticks) / (double)TimeSpan.TicksPerSecond);
        json.WriteNumber("msecs", (local.Ticks % TimeSpan.TicksPerSecond) / (double)TimeSpan.TicksPerMillisecond);
        json.WriteNumber("relative_created", (logEvent.Timestamp - environment.StartTime).TotalMilliseconds);
        json.WriteNumber("thread", Scalar(properties, ThreadEnricher.ThreadIdProperty) as int? ?? Environment.CurrentManagedThreadId);
        json.WriteString("thread_name", Scalar(properties, ThreadEnricher.ThreadNameProperty) as string ?? ThreadEnricher.NameOf(Thread.CurrentThread));
        json.WriteString("process_name", "MainProcess");
        json.WriteNumber("process", environment.ProcessId);
        if (exception is null)
        {
            json.WriteNull("traceback");
        }
        else
        {
            json.WriteStartArray("traceback");
            foreach (var traceLine in exception.ToString().Split('\n'))
            {
                var trimmed = traceLine.TrimEnd('\r');
                if (trimmed.Length > 0)
                {
                    json.WriteStringValue(trimmed);
                }
            }
            json.WriteEndArray();
        }
        json.WriteString("hostname", environment.HostName);
        json.WriteString("error_summary", exception is not null && logEvent.Level >= LogEventLevel.Warning
            ? $"{exception.GetType().FullName}: {exception.Message.Split('\n')[0].TrimEnd('\r')}"
            : "");

        json.WriteStartObject("context");
        if (properties.ContainsKey("RequestId"))
        {
            foreach (var (property, key) in ContextProperties)
            {
                if (properties.TryGetValue(property, out var value))
                {
                    json.WritePropertyName(key);
                    WriteValue(value, json);
                }
            }
        }
        json.WriteEndObject();

        json.WriteStartObject("extra");
        foreach (var (key, value) in properties)
        {
            if (NotExtra.Contains(key))
            {
                continue;
            }
            json.WritePropertyName(JsonNamingPolicy.SnakeCaseLower.ConvertName(key));
            WriteValue(value, json);
        }
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteValue(LogEventPropertyValue value, Utf8JsonWriter json)
    {
        switch (value)
        {
            case ScalarValue { Value: null }:
                json.WriteNullValue();
                break;
            case ScalarValue { Value: string s }:
                json.WriteStringValue(s);
                break;
            case ScalarValue { Value: bool b }:
                json.WriteBooleanValue(b);
                break;
            case ScalarValue { Value: int or long or short or byte or sbyte or ushort or uint } scalar:
                json.WriteNumberValue(Convert.ToInt64(scalar.Value, CultureInfo.InvariantCulture));
                break;
            case ScalarValue { Value: double or float or decimal } scalar:
                var number = Convert.ToDouble(scalar.Value, CultureInfo.InvariantCulture);
                if (double.IsFinite(number))
                {
                    json.WriteNumberValue(number);
                }
                else
                {
                    json.WriteStringValue(number.ToString(CultureInfo.InvariantCulture));
                }
                break;
            case ScalarValue scalar:
                var text = new StringWriter(CultureInfo.InvariantCulture);
                MessageRenderer.WriteScalar(scalar.Value, null, text);
                json.WriteStringValue(text.ToString());
                break;
            case SequenceValue sequence:
                json.WriteStartArray();
                foreach (var element in sequence.Elements)
                {
                    WriteValue(element, json);
                }
                json.WriteEndArray();
                break;
            case StructureValue structure:
                json.WriteStartObject();
                foreach (var property in structure.Properties)
                {
                    json.WritePropertyName(property.Name);
                    WriteValue(property.Value, json);
                }
                json.WriteEndObject();
                break;
            case DictionaryValue dictionary:
                json.WriteStartObject();
                foreach (var (key, element) in dictionary.Elements)
                {
                    var name = new StringWriter(CultureInfo.InvariantCulture);
                    MessageRenderer.WriteScalar(key.Value, null, name);
                    json.WritePropertyName(name.ToString());
                    WriteValue(element, json);
                }
                json.WriteEndObject();
                break;
            default:
                json.WriteStringValue(value.ToString());
                break;
        }
    }

    private static object? Scalar(IReadOnlyDictionary<string, LogEventPropertyValue> properties, string name) =>
        properties.TryGetValue(name, out var value) && value is ScalarValue scalar ? scalar.Value : null;

    private static (int? Id, string? Name) EventIdOf(IReadOnlyDictionary<string, LogEventPropertyValue> properties)
    {
        if (!properties.TryGetValue("EventId", out var value) || value is not StructureValue structure)
        {
            return (null, null);
        }
        var id = structure.Properties.FirstOrDefault(p => p.Name == "Id")?.Value is ScalarValue { Value: int i } ? i : (int?)null;
        var name = structure.Properties.FirstOrDefault(p => p.Name == "Name")?.Value is ScalarValue { Value: string s } ? s : null;
        return (id, name);
    }
}
