using System.Collections;
using System.Globalization;
using System.Text;

namespace NovaCompute.Reports;

/// <summary>
/// oslo.reports' text views, byte for byte, so a report reads (and splits by heading) the same as
/// nova's: <c>views/text/header.py</c> (<c>TitledView</c>), <c>views/text/generic.py</c>
/// (<c>KeyValueView</c>, <c>MultiView</c>), <c>views/text/threading.py</c> and
/// <c>views/text/process.py</c>. Values print as Python's <c>str()</c> would.
/// </summary>
internal static class OsloTextViews
{
    public const int Width = 72;

    /// <summary><c>TitledView.FORMAT_STR</c>: a bar, the title centred between <c>====</c>, a bar.</summary>
    public static string Header(string title)
    {
        var bar = new string('=', Width);
        return $"{bar}\n===={Center(title, 64)}====\n{bar}";
    }

    /// <summary><c>TitledView</c>: the header, a newline, the rendered model.</summary>
    public static string Section(string title, string body) => Header(title) + "\n" + body;

    /// <summary><c>ThreadView</c>: <c>------{thread_str: ^60}------</c> then the stack trace.</summary>
    public static string Thread(string threadText, string stackTrace) => $"------{Center(threadText, 60)}------\n{stackTrace}";

    /// <summary>
    /// <c>StackTraceView</c>'s Jinja template: per frame a newline, <c>file:line in name</c>, and the
    /// source line in backticks or <c>(source not found)</c>; <c>No Traceback!</c> without frames.
    /// </summary>
    public static string StackTrace(IReadOnlyList<ReportFrame> frames, string noTraceback = "No Traceback!")
    {
        if (frames.Count == 0)
        {
            return "\n" + noTraceback + "\n";
        }
        var sb = new StringBuilder();
        foreach (var frame in frames)
        {
            sb.Append('\n').Append(frame.File).Append(':').Append(frame.Line.ToString(CultureInfo.InvariantCulture))
              .Append(" in ").Append(frame.Name).Append('\n')
              .Append("    ").Append(frame.Code is null ? "(source not found)" : $"`{frame.Code}`").Append('\n');
        }
        return sb.ToString();
    }

    /// <summary><c>MultiView</c>: every item rendered, sorted as strings, joined by newlines.</summary>
    public static string Multi(IEnumerable<string> items) => string.Join("\n", items.Order(StringComparer.Ordinal));

    /// <summary><c>ProcessView</c> (children are not listed: this daemon starts none).</summary>
    public static string Process(ReportProcess process) =>
        string.Create(CultureInfo.InvariantCulture,
            $"Process {process.Pid} (under {process.ParentPid}) [ run by: {process.User} ({(process.Uid is { } uid ? uid.ToString(CultureInfo.InvariantCulture) : "unknown uid")}), state: {process.State} ]\n");

    /// <summary>
    /// <c>KeyValueView</c>: a mapping's keys sorted as strings, each <c>key = value</c>, nested mappings
    /// and sequences indented two spaces a level; <paramref name="dictSeparator"/> and
    /// <paramref name="beforeDict"/> as the view's <c>dict_sep</c> and <c>before_dict</c> (the
    /// configuration section uses <c>": "</c> and an empty line).
    /// </summary>
    public static string KeyValue(object? model, string dictSeparator = " = ", string? beforeDict = null) =>
        string.Join("\n", Serialize(model, null, -1, dictSeparator, beforeDict));

    private const string IndentText = "  ";
    private const string KeySeparator = " = ";
    private const string ListSeparator = " = ";
    private const string AnonymousDict = "[dict]";

    private static List<string> Serialize(object? root, string? rootKey, int indent, string dictSeparator, string? beforeDict)
    {
        var result = new List<string>();
        if (rootKey is not null)
        {
            result.Add(Indent(indent) + rootKey);
        }
        if (AsMapping(root) is { } mapping)
        {
            if (rootKey is null && indent > 0)
            {
                result.Add(Indent(indent) + AnonymousDict);
            }
            else if (rootKey is not null)
            {
                result[0] += dictSeparator;
                if (beforeDict is not null)
                {
                    result.Insert(0, beforeDict);
                }
            }
            foreach (var (key, value) in mapping.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                result.AddRange(Serialize(value, key, indent + 1, dictSeparator, beforeDict));
            }
        }
        else if (root is IEnumerable sequence and not string)
        {
            if (rootKey is not null)
            {
                result[0] += ListSeparator;
            }
            foreach (var item in sequence.Cast<object?>().OrderBy(PythonStr, StringComparer.Ordinal))
            {
                result.AddRange(Serialize(item, null, indent + 1, dictSeparator, beforeDict));
            }
        }
        else
        {
            var text = PythonStr(root);
            if (text.Contains('\n', StringComparison.Ordinal))
            {
                if (rootKey is not null)
                {
                    result[0] += dictSeparator;
                }
                result.AddRange(text.Split('\n').Select(line => Indent(indent + 1) + line));
            }
            else if (result.Count > 0)
            {
                result[0] += KeySeparator + text;
            }
            else
            {
                result.Add(Indent(indent) + text);
            }
        }
        return result;
    }

    private static IEnumerable<KeyValuePair<string, object?>>? AsMapping(object? value) => value switch
    {
        IEnumerable<KeyValuePair<string, object?>> objects => objects,
        IEnumerable<KeyValuePair<string, string>> strings => strings.Select(p => new KeyValuePair<string, object?>(p.Key, p.Value)),
        _ => null,
    };

    private static string Indent(int level) => level <= 0 ? "" : string.Concat(Enumerable.Repeat(IndentText, level));

    /// <summary>Python's <c>str()</c> of a configuration or status value.</summary>
    public static string PythonStr(object? value) => value switch
    {
        null => "None",
        string s => s,
        bool b => b ? "True" : "False",
        double d => PythonFloat(d),
        float f => PythonFloat(f),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static string PythonFloat(double value)
    {
        if (double.IsNaN(value))
        {
            return "nan";
        }
        if (double.IsInfinity(value))
        {
            return value > 0 ? "inf" : "-inf";
        }
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        return text.Contains('.', StringComparison.Ordinal) || text.Contains('E', StringComparison.Ordinal) ? text.Replace("E", "e", StringComparison.Ordinal) : text + ".0";
    }

    /// <summary>Python's <c>'{0: ^n}'.format(text)</c>: the odd space goes to the right.</summary>
    public static string Center(string text, int width)
    {
        if (text.Length >= width)
        {
            return text;
        }
        var left = (width - text.Length) / 2;
        return new string(' ', left) + text + new string(' ', width - text.Length - left);
    }
}
