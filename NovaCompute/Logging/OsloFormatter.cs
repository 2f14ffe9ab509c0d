using System.Globalization;
using NovaCompute.Logging.Journald;
using Serilog.Events;
using Serilog.Formatting;

namespace NovaCompute.Logging;

/// <summary>
/// oslo.log's <c>ContextFormatter</c> for Serilog events: the line nova-compute writes, from the
/// same option values (<c>logging_context_format_string</c> and friends), compiled once.
/// <list type="bullet">
/// <item>The context format is used when the event carries a truthy <c>RequestId</c> (a logging
/// scope set by the RPC dispatcher), the default format otherwise.</item>
/// <item>WARNING and above with an exception get <c>: &lt;ExceptionType&gt;: &lt;first line&gt;</c>; DEBUG
/// lines get <c>logging_debug_format_suffix</c> after a space; an exception's text follows,
/// each line prefixed with <c>logging_exception_prefix</c>.</item>
/// <item>Context keys (<c>%(user)s</c>, <c>%(global_request_id)s</c>…) come from the scope
/// properties (<c>UserId</c>, <c>GlobalRequestId</c>…); like oslo, a context key without a value
/// prints <c>None</c>, and <c>%(user_identity)s</c> prints <c>-</c> for each missing part.</item>
/// </list>
/// Values from outside (message properties, context keys, exception messages) have their control
/// characters escaped (<see cref="LogText"/>): every record is one line, plus the prefixed lines of
/// its exception. Every line passes through <see cref="SecretMasker"/> before it reaches the output. Rendering
/// goes through a reused per-thread buffer: the only allocations are the output itself and,
/// for events with an exception, its text.
/// </summary>
internal sealed class OsloFormatter : ITextFormatter
{
    private const int RetainedBufferChars = 64 * 1024;

    [ThreadStatic]
    private static CharBufferWriter? t_line;

    [ThreadStatic]
    private static CharBufferWriter? t_scratch;

    private readonly LoggingEnvironment _environment;
    private readonly StrftimeFormat _date;
    private readonly Field[] _contextFormat;
    private readonly Field[] _defaultFormat;
    private readonly Field[]? _debugSuffix;
    private readonly Field[] _exceptionPrefix;
    private readonly Field[] _userIdentity;
    private readonly Field[] _instanceFormat;
    private readonly Field[] _instanceUuidFormat;
    private readonly bool _contextHasErrorSummary;
    private readonly bool _defaultHasErrorSummary;
    private readonly bool _maskSecrets;

    /// <exception cref="FormatException">A format option is not a valid %-format.</exception>
    public OsloFormatter(LoggingSettings settings, LoggingEnvironment environment, bool maskSecrets = true)
    {
        _environment = environment;
        _maskSecrets = maskSecrets;
        _date = new StrftimeFormat(settings.LogDateFormat);
        _contextFormat = Compile(settings.LoggingContextFormatString);
        _defaultFormat = Compile(settings.LoggingDefaultFormatString);
        _debugSuffix = string.IsNullOrEmpty(settings.LoggingDebugFormatSuffix) ? null : Compile(settings.LoggingDebugFormatSuffix);
        _exceptionPrefix = Compile(settings.LoggingExceptionPrefix);
        _userIdentity = Compile(settings.LoggingUserIdentityFormat);
        _instanceFormat = Compile(settings.InstanceFormat);
        _instanceUuidFormat = Compile(settings.InstanceUuidFormat);
        _contextHasErrorSummary = _contextFormat.Any(f => f.Kind == FieldKind.ErrorSummary);
        _defaultHasErrorSummary = _defaultFormat.Any(f => f.Kind == FieldKind.ErrorSummary);
        UsesThreadFields = new[] { _contextFormat, _defaultFormat, _debugSuffix ?? [], _exceptionPrefix }
            .SelectMany(f => f)
            .Any(f => f.Kind is FieldKind.Thread or FieldKind.ThreadName);
    }

    /// <summary>
    /// True when a format prints <c>%(thread)d</c> or <c>%(threadName)s</c>; the events then need
    /// the logging thread recorded (see <see cref="ThreadEnricher"/>), because a sink may format
    /// them on another thread.
    /// </summary>
    public bool UsesThreadFields { get; }

    public void Format(LogEvent logEvent, TextWriter output)
    {
        // Taken out of the slot while in use: a property's ToString() that logs must not
        // scribble over the line being built.
        var line = t_line ?? new CharBufferWriter();
        t_line = null;
        try
        {
            line.Clear();
            WriteRecord(logEvent, line);
            line.Write('\n');
            var text = line.WrittenSpan;
            if (_maskSecrets && SecretMasker.MightContainSecret(text))
            {
                output.Write(SecretMasker.Mask(new string(text)));
            }
            else
            {
                output.Write(text);
            }
        }
        finally
        {
            if (line.Capacity <= RetainedBufferChars)
            {
                t_line = line;
            }
        }
    }

    private void WriteRecord(LogEvent logEvent, TextWriter output)
    {
        var record = new Record(logEvent, _environment);
        var useContext = record.RequestIdIsTruthy;
        WriteFields(useContext ? _contextFormat : _defaultFormat, record, output, dashForFalsy: false);

        var exception = logEvent.Exception;
        var hasSummaryField = useContext ? _contextHasErrorSummary : _defaultHasErrorSummary;
        if (exception is not null && logEvent.Level >= LogEventLevel.Warning && !hasSummaryField)
        {
            output.Write(": ");
            WriteErrorSummary(exception, output);
        }
        if (logEvent.Level == LogEventLevel.Debug && _debugSuffix is not null)
        {
            output.Write(' ');
            WriteFields(_debugSuffix, record, output, dashForFalsy: false);
        }
        if (exception is not null)
        {
            WriteException(exception.ToString(), record, output);
        }
    }

    /// <summary>
    /// Python's formatter prints the traceback after a newline, every line behind the prefix.
    /// oslo also prefixes the empty string after the traceback's final newline, leaving a
    /// bare-prefix line at the end of every traceback; we leave that one out.
    /// </summary>
    private void WriteException(string text, in Record record, TextWriter output)
    {
        var remaining = text.AsSpan();
        while (remaining.Length > 0)
        {
            var newline = remaining.IndexOf('\n');
            var lineText = newline < 0 ? remaining : remaining[..newline];
            remaining = newline < 0 ? default : remaining[(newline + 1)..];
            if (lineText.Length > 0 && lineText[^1] == '\r')
            {
                lineText = lineText[..^1];
            }
            output.Write('\n');
            WriteFields(_exceptionPrefix, record, output, dashForFalsy: false);
            // The message may carry what a peer sent; its lines are prefixed, its other controls escaped.
            LogText.WriteEscaped(output, lineText);
        }
    }

    private static void WriteErrorSummary(Exception exception, TextWriter output)
    {
        output.Write(exception.GetType().FullName);
        var message = exception.Message.AsSpan();
        var newline = message.IndexOfAny('\r', '\n');
        var first = newline < 0 ? message : message[..newline];
        if (first.Length > 0)
        {
            output.Write(": ");
            LogText.WriteEscaped(output, first);
        }
    }

    private void WriteFields(Field[] fields, in Record record, TextWriter output, bool dashForFalsy)
    {
        foreach (var field in fields)
        {
            if (field.Literal is not null)
            {
                output.Write(field.Literal);
                continue;
            }
            WriteField(field, record, output, dashForFalsy);
        }
    }

    private void WriteField(in Field field, in Record record, TextWriter output, bool dashForFalsy)
    {
        var spec = field.Spec;
        var logEvent = record.Event;
        switch (field.Kind)
        {
            case FieldKind.AscTime:
                WriteComposed(output, spec, record, static (OsloFormatter self, in Record r, TextWriter w) => self._date.Write(w, r.LocalTime, self._environment.TimeZone));
                break;
            case FieldKind.Msecs:
                if (spec.IsFloat)
                {
                    PercentWriter.WriteFloat(output, (record.LocalTime.Ticks % TimeSpan.TicksPerSecond) / (double)TimeSpan.TicksPerMillisecond, spec);
                }
                else
                {
                    PercentWriter.WriteInteger(output, record.LocalTime.Millisecond, spec);
                }
                break;
            case FieldKind.Created:
                var seconds = (logEvent.Timestamp.UtcTicks - DateTime.UnixEpoch.Ticks) / (double)TimeSpan.TicksPerSecond;
                WriteNumber(output, seconds, spec);
                break;
            case FieldKind.RelativeCreated:
                WriteNumber(output, (logEvent.Timestamp - _environment.StartTime).TotalMilliseconds, spec);
                break;
            case FieldKind.IsoTime:
                Span<char> iso = stackalloc char[40];
                record.LocalTime.TryFormat(iso, out var isoLength, "yyyy-MM-dd'T'HH:mm:ss.ffffffzzz", CultureInfo.InvariantCulture);
                PercentWriter.WriteString(output, iso[..isoLength], spec);
                break;
            case FieldKind.Process:
                PercentWriter.WriteInteger(output, _environment.ProcessId, spec);
                break;
            case FieldKind.ProcessName:
                PercentWriter.WriteString(output, "MainProcess", spec);
                break;
            case FieldKind.LevelName:
                PercentWriter.WriteString(output, SyslogLevels.PythonLevelName(logEvent.Level), spec);
                break;
            case FieldKind.LevelNo:
                PercentWriter.WriteInteger(output, SyslogLevels.PythonLevelNumber(logEvent.Level), spec);
                break;
            case FieldKind.Name:
                PercentWriter.WriteString(output, LoggerNames.FromCategory(record.SourceContext), spec);
                break;
            case FieldKind.Message:
                WriteComposed(output, spec, record, static (OsloFormatter _, in Record r, TextWriter w) => MessageRenderer.Render(r.Event, w));
                break;
            case FieldKind.RawMessage:
                PercentWriter.WriteString(output, LogText.Escape(logEvent.MessageTemplate.Text), spec);
                break;
            case FieldKind.UserIdentity:
                if (record.HasContext)
                {
                    WriteComposed(output, spec, record, static (OsloFormatter self, in Record r, TextWriter w) => self.WriteFields(self._userIdentity, r, w, dashForFalsy: true));
                }
                else
                {
                    PercentWriter.WriteString(output, "", spec);
                }
                break;
            case FieldKind.Instance:
                WriteComposed(output, spec, record, static (OsloFormatter self, in Record r, TextWriter w) => self.WriteInstance(r, w));
                break;
            case FieldKind.ErrorSummary:
                if (logEvent.Exception is { } exception && logEvent.Level >= LogEventLevel.Warning)
                {
                    WriteComposed(output, spec, record, static (OsloFormatter _, in Record r, TextWriter w) => WriteErrorSummary(r.Event.Exception!, w));
                }
                else
                {
                    PercentWriter.WriteString(output, "-", spec);
                }
                break;
            case FieldKind.FuncName:
                WriteObject(output, Scalar(logEvent, "CodeFunc") ?? record.EventName ?? "-", spec, dashForFalsy);
                break;
            case FieldKind.PathName:
                WriteObject(output, Scalar(logEvent, "CodeFile") ?? record.SourceContext ?? "-", spec, dashForFalsy);
                break;
            case FieldKind.LineNo:
                WriteObject(output, Scalar(logEvent, "CodeLine") ?? record.EventId ?? (object)"-", spec, dashForFalsy);
                break;
            case FieldKind.FileName:
                WriteObject(output, Scalar(logEvent, "CodeFile") is string file ? Path.GetFileName(file) : "-", spec, dashForFalsy);
                break;
            case FieldKind.Module:
                WriteObject(output, Scalar(logEvent, "CodeFile") is string path
                    ? Path.GetFileNameWithoutExtension(path)
                    : record.SourceContext is { } context ? context[(context.LastIndexOf('.') + 1)..] : "-", spec, dashForFalsy);
                break;
            case FieldKind.Thread:
                WriteObject(output, Scalar(logEvent, ThreadEnricher.ThreadIdProperty) ?? Environment.CurrentManagedThreadId, spec, dashForFalsy);
                break;
            case FieldKind.ThreadName:
                WriteObject(output, Scalar(logEvent, ThreadEnricher.ThreadNameProperty)
                    ?? ThreadEnricher.NameOf(Thread.CurrentThread), spec, dashForFalsy);
                break;
            case FieldKind.HostName:
                PercentWriter.WriteString(output, _environment.HostName, spec);
                break;
            case FieldKind.Project:
                WriteObject(output, record.HasContext ? Scalar(logEvent, "ProjectId") : _environment.Project, spec, dashForFalsy);
                break;
            case FieldKind.Version:
                PercentWriter.WriteString(output, _environment.Version, spec);
                break;
            case FieldKind.Empty:
                PercentWriter.WriteString(output, "", spec);
                break;
            case FieldKind.Uuid:
                WriteObject(output, record.InstanceUuid, spec, dashForFalsy);
                break;
            case FieldKind.Property:
                if (logEvent.Properties.TryGetValue(field.Property!, out var value)
                    || (field.Key != field.Property && logEvent.Properties.TryGetValue(field.Key!, out value)))
                {
                    if (value is ScalarValue scalar)
                    {
                        WriteObject(output, scalar.Value, spec, dashForFalsy);
                    }
                    else
                    {
                        WriteStructured(output, value, spec);
                    }
                }
                else if (dashForFalsy)
                {
                    PercentWriter.WriteString(output, "-", spec);
                }
                else
                {
                    // oslo copies the whole context dict onto the record, so a context key
                    // without a value prints None; other missing keys have no value at all.
                    PercentWriter.WriteString(output, field.IsContextKey && record.HasContext ? "None" : "", spec);
                }
                break;
        }
    }

    /// <summary>oslo's <c>%(instance)s</c>: <c>instance_format</c> or <c>instance_uuid_format</c>, or nothing.</summary>
    private void WriteInstance(in Record record, TextWriter output)
    {
        if (record.InstanceSource == InstanceSource.None)
        {
            return;
        }
        var format = record.InstanceSource == InstanceSource.Instance ? _instanceFormat : _instanceUuidFormat;
        WriteFields(format, record, output, dashForFalsy: false);
    }

    private delegate void Composer(OsloFormatter self, in Record record, TextWriter output);

    /// <summary>
    /// Writes a composite value straight to the line when the conversion is a plain <c>%s</c>;
    /// with a width or precision it is rendered aside first, then padded or cut.
    /// </summary>
    private void WriteComposed(TextWriter output, in PercentSpec spec, in Record record, Composer compose)
    {
        if (spec.Width == 0 && spec.Precision < 0 && spec.Conversion != 'r')
        {
            compose(this, record, output);
            return;
        }
        var scratch = t_scratch ?? new CharBufferWriter();
        t_scratch = null;
        try
        {
            scratch.Clear();
            compose(this, record, scratch);
            PercentWriter.WriteString(output, scratch.WrittenSpan, spec);
        }
        finally
        {
            if (scratch.Capacity <= RetainedBufferChars)
            {
                t_scratch = scratch;
            }
        }
    }

    /// <summary>A sequence or structure property, rendered aside and then fitted to the conversion.</summary>
    private static void WriteStructured(TextWriter output, LogEventPropertyValue value, in PercentSpec spec)
    {
        var scratch = new StringWriter(CultureInfo.InvariantCulture);
        MessageRenderer.WriteValue(value, null, scratch);
        PercentWriter.WriteString(output, scratch.ToString(), spec);
    }

    private static void WriteNumber(TextWriter output, double value, in PercentSpec spec)
    {
        if (spec.IsInteger)
        {
            PercentWriter.WriteInteger(output, (long)value, spec);
        }
        else
        {
            PercentWriter.WriteFloat(output, value, spec);
        }
    }

    /// <summary>A value as Python's % would print it (<c>None</c>, <c>True</c>, numbers, str()).</summary>
    private static void WriteObject(TextWriter output, object? value, in PercentSpec spec, bool dashForFalsy)
    {
        if (dashForFalsy && IsFalsy(value))
        {
            PercentWriter.WriteString(output, "-", spec);
            return;
        }
        switch (value)
        {
            case null:
                PercentWriter.WriteString(output, "None", spec);
                break;
            case string s:
                PercentWriter.WriteString(output, LogText.Escape(s), spec);
                break;
            case bool b:
                if (spec.IsInteger || spec.IsFloat)
                {
                    PercentWriter.WriteInteger(output, b ? 1 : 0, spec);
                }
                else
                {
                    PercentWriter.WriteString(output, b ? "True" : "False", spec);
                }
                break;
            case int or long or short or sbyte or byte or ushort or uint:
                var integer = Convert.ToInt64(value, CultureInfo.InvariantCulture);
                if (spec.IsInteger || spec.IsFloat)
                {
                    PercentWriter.WriteInteger(output, integer, spec);
                }
                else
                {
                    Span<char> digits = stackalloc char[24];
                    integer.TryFormat(digits, out var n, default, CultureInfo.InvariantCulture);
                    PercentWriter.WriteString(output, digits[..n], spec);
                }
                break;
            case double or float or decimal:
                PercentWriter.WriteFloat(output, Convert.ToDouble(value, CultureInfo.InvariantCulture), spec);
                break;
            case ISpanFormattable formattable:
                Span<char> buffer = stackalloc char[64];
                if (formattable.TryFormat(buffer, out var written, default, CultureInfo.InvariantCulture))
                {
                    PercentWriter.WriteString(output, buffer[..written], spec);
                }
                else
                {
                    PercentWriter.WriteString(output, formattable.ToString(null, CultureInfo.InvariantCulture), spec);
                }
                break;
            default:
                PercentWriter.WriteString(output, LogText.Escape(value.ToString() ?? ""), spec);
                break;
        }
    }

    private static bool IsFalsy(object? value) => value switch
    {
        null => true,
        string s => s.Length == 0,
        bool b => !b,
        int i => i == 0,
        long l => l == 0,
        _ => false,
    };

    private static object? Scalar(LogEvent logEvent, string property) =>
        logEvent.Properties.TryGetValue(property, out var value) && value is ScalarValue scalar ? scalar.Value : null;

    private static Field[] Compile(string format) =>
        PercentFormat.Parse(format).Select(segment => segment.IsLiteral
            ? new Field(segment.Literal, FieldKind.Literal, default, null, null, false)
            : Resolve(segment.Key!, segment.Spec)).ToArray();

    private static Field Resolve(string key, PercentSpec spec)
    {
        var kind = key switch
        {
            "asctime" => FieldKind.AscTime,
            "msecs" => FieldKind.Msecs,
            "created" => FieldKind.Created,
            "relativeCreated" => FieldKind.RelativeCreated,
            "isotime" => FieldKind.IsoTime,
            "process" => FieldKind.Process,
            "processName" => FieldKind.ProcessName,
            "levelname" => FieldKind.LevelName,
            "levelno" => FieldKind.LevelNo,
            "name" => FieldKind.Name,
            "message" => FieldKind.Message,
            "msg" => FieldKind.RawMessage,
            "user_identity" => FieldKind.UserIdentity,
            "instance" => FieldKind.Instance,
            "error_summary" => FieldKind.ErrorSummary,
            "funcName" => FieldKind.FuncName,
            "pathname" => FieldKind.PathName,
            "lineno" => FieldKind.LineNo,
            "filename" => FieldKind.FileName,
            "module" => FieldKind.Module,
            "thread" => FieldKind.Thread,
            "threadName" => FieldKind.ThreadName,
            "hostname" => FieldKind.HostName,
            "project" => FieldKind.Project,
            "version" => FieldKind.Version,
            // oslo's ColorHandler fills these with ANSI codes; we never colour (see ConsoleSink).
            "color" or "reset_color" or "resource" => FieldKind.Empty,
            "uuid" => FieldKind.Uuid,
            _ => FieldKind.Property,
        };
        return kind == FieldKind.Property
            ? new Field(null, kind, spec, key, PropertyNameFor(key), ContextKeys.Contains(key))
            : new Field(null, kind, spec, key, null, false);
    }

    /// <summary>The keys of oslo.context's <c>get_logging_values()</c>: present on every record logged in a context.</summary>
    private static readonly HashSet<string> ContextKeys = new(StringComparer.Ordinal)
    {
        "user", "project_id", "system_scope", "project", "domain", "user_domain", "project_domain", "is_admin",
        "read_only", "show_deleted", "auth_token", "request_id", "global_request_id", "resource_uuid", "roles",
        "is_admin_project", "user_name", "project_name", "domain_name", "user_domain_name", "project_domain_name",
        "tenant",
    };

    /// <summary>oslo context keys whose scope property is not simply the key in PascalCase.</summary>
    private static readonly Dictionary<string, string> PropertyAliases = new(StringComparer.Ordinal)
    {
        ["user"] = "UserId",
        ["project"] = "ProjectId",
        ["tenant"] = "ProjectId",
        ["domain"] = "DomainId",
        ["user_domain"] = "UserDomainId",
        ["project_domain"] = "ProjectDomainId",
    };

    /// <summary><c>global_request_id</c> → <c>GlobalRequestId</c> (the scope property names the dispatcher sets).</summary>
    internal static string PropertyNameFor(string key)
    {
        if (PropertyAliases.TryGetValue(key, out var alias))
        {
            return alias;
        }
        var sb = new System.Text.StringBuilder(key.Length);
        var upperNext = true;
        foreach (var c in key)
        {
            if (c == '_')
            {
                upperNext = true;
                continue;
            }
            sb.Append(upperNext ? char.ToUpperInvariant(c) : c);
            upperNext = false;
        }
        return sb.ToString();
    }

    private enum FieldKind
    {
        Literal, AscTime, Msecs, Created, RelativeCreated, IsoTime, Process, ProcessName, LevelName, LevelNo, Name,
        Message, RawMessage, UserIdentity, Instance, ErrorSummary, FuncName, PathName, LineNo, FileName, Module,
        Thread, ThreadName, HostName, Project, Version, Empty, Uuid, Property,
    }

    private readonly record struct Field(string? Literal, FieldKind Kind, PercentSpec Spec, string? Key, string? Property, bool IsContextKey);

    private enum InstanceSource
    {
        None,
        Instance,
        InstanceUuid,
    }

    /// <summary>What one event contributes, looked up once per line.</summary>
    private readonly struct Record
    {
        public Record(LogEvent logEvent, LoggingEnvironment environment)
        {
            Event = logEvent;
            LocalTime = TimeZoneInfo.ConvertTime(logEvent.Timestamp, environment.TimeZone);
            var properties = logEvent.Properties;
            SourceContext = properties.TryGetValue("SourceContext", out var sc) && sc is ScalarValue { Value: string s } ? s : null;
            HasContext = properties.TryGetValue("RequestId", out var requestId) && requestId is ScalarValue;
            RequestIdIsTruthy = requestId is ScalarValue { Value: { } id } && !IsFalsy(id);

            EventId = null;
            EventName = null;
            if (properties.TryGetValue("EventId", out var eventId) && eventId is StructureValue structure)
            {
                // Indexed, not foreach: the list's enumerator would be an allocation per line.
                var parts = structure.Properties;
                for (var i = 0; i < parts.Count; i++)
                {
                    var property = parts[i];
                    if (property is { Name: "Id", Value: ScalarValue { Value: int number } })
                    {
                        EventId = number;
                    }
                    else if (property is { Name: "Name", Value: ScalarValue { Value: string name } })
                    {
                        EventName = name;
                    }
                }
            }

            // oslo: instance= (instance_format), else instance_uuid=, else the context's
            // resource_uuid (both instance_uuid_format).
            InstanceSource = InstanceSource.None;
            InstanceUuid = null;
            if (properties.TryGetValue("Instance", out var instance) && UuidOf(instance) is { } fromInstance)
            {
                InstanceSource = InstanceSource.Instance;
                InstanceUuid = fromInstance;
            }
            else if ((properties.TryGetValue("InstanceUuid", out var uuid) || properties.TryGetValue("ResourceUuid", out uuid))
                     && uuid is ScalarValue { Value: { } value } && !IsFalsy(value))
            {
                InstanceSource = InstanceSource.InstanceUuid;
                InstanceUuid = value;
            }
        }

        public LogEvent Event { get; }

        public DateTimeOffset LocalTime { get; }

        public string? SourceContext { get; }

        public bool HasContext { get; }

        public bool RequestIdIsTruthy { get; }

        public int? EventId { get; }

        public string? EventName { get; }

        public InstanceSource InstanceSource { get; }

        public object? InstanceUuid { get; }

        private static object? UuidOf(LogEventPropertyValue value) => value switch
        {
            ScalarValue { Value: { } scalar } when !IsFalsy(scalar) => scalar,
            StructureValue structure => structure.Properties
                .FirstOrDefault(p => p.Name.Equals("Uuid", StringComparison.OrdinalIgnoreCase))?.Value is ScalarValue { Value: { } uuid }
                ? uuid
                : null,
            _ => null,
        };
    }
}
