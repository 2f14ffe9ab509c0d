using System.Buffers;
using System.Globalization;
using Serilog.Events;

namespace NovaCompute.Logging.Journald;

internal sealed partial class JournaldSink
{
    /// <summary>
    /// Fields the sink sets itself or journald gives a meaning to; a property that maps onto one
    /// of them is sent as <c>PROPERTY_&lt;NAME&gt;</c> instead of overwriting it.
    /// </summary>
    private static readonly HashSet<string> ReservedFields = new(StringComparer.Ordinal)
    {
        "MESSAGE", "MESSAGE_ID", "PRIORITY", "CODE_FILE", "CODE_LINE", "CODE_FUNC", "ERRNO",
        "INVOCATION_ID", "USER_INVOCATION_ID", "SYSLOG_FACILITY", "SYSLOG_IDENTIFIER", "SYSLOG_PID",
        "SYSLOG_TIMESTAMP", "SYSLOG_RAW", "DOCUMENTATION", "TID", "UNIT", "USER_UNIT", "OBJECT_PID",
        "THREAD_NAME", "PROCESS_NAME", "LOGGER_NAME", "LOGGER_LEVEL", "EXCEPTION_INFO", "EXCEPTION_TEXT",
        "EVENT_ID",
    };

    /// <summary>Properties that already became dedicated fields above (or only matter to the line format).</summary>
    private static readonly HashSet<string> HandledProperties = new(StringComparer.Ordinal)
    {
        "SourceContext", "EventId", "CodeFile", "CodeLine", "CodeFunc", "ThreadId", "ThreadName",
    };

    /// <summary>The journald field for a property name, or null to leave the property out.</summary>
    internal static string? FieldNameFor(string propertyName)
    {
        var name = JournalFieldName.Sanitize(propertyName);
        if (name is null || !ReservedFields.Contains(name))
        {
            return name;
        }
        return JournalFieldName.Sanitize("Property_" + propertyName);
    }

    /// <summary>Builds one entry at a time into reused buffers; owned by the writer thread.</summary>
    internal sealed class EntryBuilder(JournaldSinkOptions options)
    {
        // An entry that once needed a huge buffer should not pin it for the process lifetime.
        private const int RetainedBufferBytes = 1024 * 1024;

        private ArrayBufferWriter<byte> _buffer = new(4096);
        private readonly StringWriter _text = new(CultureInfo.InvariantCulture);
        private readonly char[] _scratch = new char[128];

        /// <summary>MESSAGE of the entry built last (what the stderr fallback prints).</summary>
        public string Message { get; private set; } = "";

        public ReadOnlySpan<byte> Build(in QueuedEvent item)
        {
            if (_buffer.Capacity > RetainedBufferBytes)
            {
                _buffer = new ArrayBufferWriter<byte>(4096);
            }
            _buffer.ResetWrittenCount();
            var logEvent = item.Event;

            Message = RenderMessage(logEvent);
            Add("MESSAGE", Message);
            JournalEncoder.AppendField(_buffer, "PRIORITY", SyslogLevels.Priority(logEvent.Level));
            Add("SYSLOG_IDENTIFIER", options.SyslogIdentifier);
            if (options.SyslogFacility is { } facility)
            {
                JournalEncoder.AppendField(_buffer, "SYSLOG_FACILITY", facility);
            }
            Add("LOGGER_NAME", options.LoggerName(ScalarString(logEvent, "SourceContext")));
            Add("LOGGER_LEVEL", SyslogLevels.PythonLevelName(logEvent.Level));
            if (item.Tid > 0)
            {
                JournalEncoder.AppendField(_buffer, "TID", item.Tid);
            }
            if (!string.IsNullOrEmpty(item.ThreadName))
            {
                Add("THREAD_NAME", item.ThreadName);
            }

            var (eventId, eventName) = EventIdOf(logEvent);
            AddScalar("CODE_FILE", logEvent, "CodeFile");
            AddScalar("CODE_LINE", logEvent, "CodeLine");
            if (!AddScalar("CODE_FUNC", logEvent, "CodeFunc") && eventName is not null)
            {
                Add("CODE_FUNC", eventName);
            }
            if (eventId is { } id)
            {
                JournalEncoder.AppendField(_buffer, "EVENT_ID", id);
            }

            if (logEvent.Exception is { } exception)
            {
                // oslo sends the same traceback under both names (EXCEPTION_TEXT for old readers).
                var text = options.Redact(exception.ToString());
                Add("EXCEPTION_INFO", text);
                Add("EXCEPTION_TEXT", text);
            }

            foreach (var (key, value) in logEvent.Properties)
            {
                if (HandledProperties.Contains(key) || value is not ScalarValue { Value: { } scalar })
                {
                    continue;
                }
                if (FieldNameFor(key) is not { } field)
                {
                    continue;
                }
                AddScalarValue(field, scalar);
            }
            return _buffer.WrittenSpan;
        }

        private string RenderMessage(LogEvent logEvent)
        {
            var sb = _text.GetStringBuilder();
            sb.Clear();
            if (options.MessageFormatter is { } formatter)
            {
                formatter.Format(logEvent, _text);
            }
            else
            {
                logEvent.RenderMessage(_text, CultureInfo.InvariantCulture);
            }
            if (sb.Length > 0 && sb[^1] == '\n')
            {
                sb.Length--;
            }
            return sb.ToString();
        }

        private void Add(string name, ReadOnlySpan<char> value) => JournalEncoder.AppendField(_buffer, name, value);

        private bool AddScalar(string field, LogEvent logEvent, string property)
        {
            if (logEvent.Properties.TryGetValue(property, out var value) && value is ScalarValue { Value: { } scalar })
            {
                return AddScalarValue(field, scalar);
            }
            return false;
        }

        /// <summary>
        /// Values as text: strings as they are (masked), numbers and dates in the invariant
        /// culture (ISO 8601 for dates), booleans as Python prints them. Empty strings are left
        /// out, as oslo leaves out false-y context values.
        /// </summary>
        private bool AddScalarValue(string field, object scalar)
        {
            switch (scalar)
            {
                case string s:
                    if (s.Length == 0)
                    {
                        return false;
                    }
                    Add(field, options.Redact(s));
                    return true;
                case bool b:
                    Add(field, b ? "True" : "False");
                    return true;
                case DateTimeOffset dto when dto.TryFormat(_scratch, out var n, "O", CultureInfo.InvariantCulture):
                    Add(field, _scratch.AsSpan(0, n));
                    return true;
                case DateTime dt when dt.TryFormat(_scratch, out var n, "O", CultureInfo.InvariantCulture):
                    Add(field, _scratch.AsSpan(0, n));
                    return true;
                case ISpanFormattable f when f.TryFormat(_scratch, out var n, default, CultureInfo.InvariantCulture):
                    Add(field, _scratch.AsSpan(0, n));
                    return true;
                case IFormattable f:
                    Add(field, options.Redact(f.ToString(null, CultureInfo.InvariantCulture)));
                    return true;
                default:
                    var text = scalar.ToString();
                    if (string.IsNullOrEmpty(text))
                    {
                        return false;
                    }
                    Add(field, options.Redact(text));
                    return true;
            }
        }

        private static string? ScalarString(LogEvent logEvent, string property) =>
            logEvent.Properties.TryGetValue(property, out var value) && value is ScalarValue { Value: string s } ? s : null;

        private static (int? Id, string? Name) EventIdOf(LogEvent logEvent)
        {
            if (!logEvent.Properties.TryGetValue("EventId", out var value) || value is not StructureValue structure)
            {
                return (null, null);
            }
            int? id = null;
            string? name = null;
            foreach (var property in structure.Properties)
            {
                if (property is { Name: "Id", Value: ScalarValue { Value: int i } })
                {
                    id = i;
                }
                else if (property is { Name: "Name", Value: ScalarValue { Value: string s } })
                {
                    name = s;
                }
            }
            return (id, name);
        }
    }
}
