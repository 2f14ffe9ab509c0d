using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;

namespace NovaCompute.Logging.Journald;

/// <summary>
/// Turns property names into names journald accepts. journald's <c>journal_field_valid</c> takes
/// 1–64 characters of <c>A–Z</c>, <c>0–9</c> and <c>_</c>, not starting with a digit and not
/// starting with <c>_</c> (those are the trusted fields journald adds itself, and it silently
/// drops client attempts to send them). PascalCase is split into words first, so
/// <c>InstanceUuid</c> arrives as <c>INSTANCE_UUID</c> and <c>journalctl INSTANCE_UUID=…</c> reads
/// naturally.
/// </summary>
internal static class JournalFieldName
{
    public const int MaxLength = 64;

    // Property names come from code, so the set is small and fixed; the cap only guards against a
    // caller that invents names at run time.
    private const int CacheLimit = 2048;
    private static readonly ConcurrentDictionary<string, string?> Cache = new(StringComparer.Ordinal);

    /// <summary>
    /// The journald field name for <paramref name="propertyName"/>, or null when nothing usable
    /// remains (an empty name, or one made only of punctuation).
    /// </summary>
    public static string? Sanitize(string propertyName)
    {
        if (Cache.TryGetValue(propertyName, out var cached))
        {
            return cached;
        }
        var result = Compute(propertyName);
        if (Cache.Count < CacheLimit)
        {
            Cache.TryAdd(propertyName, result);
        }
        return result;
    }

    /// <summary>True when journald would store a field under <paramref name="name"/> as given.</summary>
    public static bool IsValid(ReadOnlySpan<char> name)
    {
        if (name.Length is 0 or > MaxLength || name[0] == '_' || char.IsAsciiDigit(name[0]))
        {
            return false;
        }
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterUpper(c) || char.IsAsciiDigit(c) || c == '_'))
            {
                return false;
            }
        }
        return true;
    }

    private static string? Compute(string propertyName)
    {
        var words = JsonNamingPolicy.SnakeCaseLower.ConvertName(propertyName).ToUpperInvariant();
        var sb = new StringBuilder(words.Length + 1);
        foreach (var c in words)
        {
            var mapped = char.IsAsciiLetterUpper(c) || char.IsAsciiDigit(c) ? c : '_';
            // Runs of separators (from "a..b" or "A__B") collapse into one.
            if (mapped == '_' && (sb.Length == 0 || sb[^1] == '_'))
            {
                continue;
            }
            sb.Append(mapped);
        }
        while (sb.Length > 0 && sb[^1] == '_')
        {
            sb.Length--;
        }
        if (sb.Length == 0)
        {
            return null;
        }
        if (char.IsAsciiDigit(sb[0]))
        {
            sb.Insert(0, 'X');
        }
        if (sb.Length > MaxLength)
        {
            sb.Length = MaxLength;
            while (sb[^1] == '_')
            {
                sb.Length--;
            }
        }
        return sb.ToString();
    }
}
