using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;

namespace NovaCompute.Logging;

/// <summary>
/// The last line of defence against credentials in logs, applied to every rendered line before
/// any sink writes it. Two families:
/// <list type="bullet">
/// <item>Credentials inside URLs (<c>rabbit://nova:s3cret@host/</c> → <c>rabbit://nova:****@host/</c>,
/// also every host of <c>rabbit://a:b@h1,c:d@h2/</c>), which oslo's <c>mask_password</c> misses.</item>
/// <item>oslo.utils' <c>mask_password</c> key forms, with its 34 keys (case-insensitive, optional
/// trailing digits): <c>key=value</c>, <c>key="value"</c>, <c>"key": "value"</c> (JSON and Python
/// dicts), <c>&lt;key&gt;value&lt;/key&gt;</c>, <c>--key value</c>, plus <c>Key: value</c> (HTTP
/// headers such as <c>X-Auth-Token:</c>). A quoted value ends at its own closing quote, so unlike
/// oslo's wildcard pattern (oslo_utils/strutils.py) text after it is never swallowed.</item>
/// </list>
/// Lines without <c>://</c> or any of the keys — nearly all of them — return unchanged after one
/// vectorised scan, without allocating.
/// </summary>
internal static partial class SecretMasker
{
    public const string UrlSecret = "****";
    public const string ValueSecret = "***";

    // oslo_utils.strutils._SANITIZE_KEYS (oslo.utils 6.0.1).
    private static readonly string[] Keys =
    [
        "adminpass", "admin_pass", "password", "admin_password", "auth_token", "new_pass", "auth_password",
        "secret_uuid", "secret", "sys_pswd", "token", "configdrive", "chappassword", "encrypted_key", "private_key",
        "fernetkey", "sslkey", "passphrase", "cephclusterfsid", "octaviaheartbeatkey", "rabbitcookie",
        "cephmanilaclientkey", "pacemakerremoteauthkey", "designaterndckey", "cephadminkey", "heatauthencryptionkey",
        "cephclientkey", "keystonecredential", "barbicansimplecryptokek", "cephrgwkey", "swifthashsuffix",
        "migrationsshkey", "cephmdskey", "cephmonkey",
    ];

    private static readonly SearchValues<string> KeyNeedles = SearchValues.Create(Keys, StringComparison.OrdinalIgnoreCase);

    private const string Key =
        "(?:admin_password|adminpass|admin_pass|auth_password|password|auth_token|new_pass|secret_uuid|secret|sys_pswd|token"
        + "|configdrive|chappassword|encrypted_key|private_key|fernetkey|sslkey|passphrase|cephclusterfsid|octaviaheartbeatkey"
        + "|rabbitcookie|cephmanilaclientkey|pacemakerremoteauthkey|designaterndckey|cephadminkey|heatauthencryptionkey"
        + "|cephclientkey|keystonecredential|barbicansimplecryptokek|cephrgwkey|swifthashsuffix|migrationsshkey|cephmdskey"
        + "|cephmonkey)[0-9]*";

    // A quoted value: up to its own (unescaped) closing quote, never across a line.
    private const string QuotedValue = @"(?<val>(?:\\.|(?!\k<q>)[^\\\r\n])*)";

    private const string Pattern =
        // "key": "value" / 'original_password': u'value'
        @"(?<pre>[""'][^""'\r\n]{0,64}?" + Key + @"[""']\s*:\s*u?(?<q>[""']))" + QuotedValue
        // "key": 12345
        + @"|(?<pre>[""'][^""'\r\n]{0,64}?" + Key + @"[""']\s*:\s*)(?<val>[^\s""',}\]]+)"
        // key="value"
        + @"|(?<pre>" + Key + @"\s*=\s*(?<q>[""']))" + QuotedValue
        // key=value (query strings and connection strings end it at & and ;)
        + @"|(?<pre>" + Key + @"\s*=\s*)(?<val>[^\s""'&;]+)"
        // --key value
        + @"|(?<pre>--" + Key + @"\s+)(?<val>[^\s""'=]+)"
        // key "value"
        + @"|(?<pre>" + Key + @"\s+(?<q>[""']))" + QuotedValue
        // <key>value</key>
        + @"|(?<pre><" + Key + @">)(?<val>[^<]*)"
        // Key: value (headers, YAML)
        + @"|(?<pre>" + Key + @"\s*:[ \t]*)(?<val>[^\s""',;}\]]+)";

    [GeneratedRegex(Pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture)]
    private static partial Regex KeyValueRegex();

    /// <summary>True when <paramref name="text"/> might hold a secret (and <see cref="Mask"/> has work to do).</summary>
    public static bool MightContainSecret(ReadOnlySpan<char> text) =>
        text.IndexOf("://", StringComparison.Ordinal) >= 0 || text.IndexOfAny(KeyNeedles) >= 0;

    /// <summary><paramref name="text"/> with secrets replaced; the same instance when there were none.</summary>
    public static string Mask(string text)
    {
        if (!MightContainSecret(text))
        {
            return text;
        }
        var masked = MaskUrlCredentials(text);
        if (masked.AsSpan().IndexOfAny(KeyNeedles) >= 0)
        {
            masked = KeyValueRegex().Replace(masked, static m =>
            {
                var value = m.Groups["val"];
                return value.Length == 0 || value.ValueSpan.SequenceEqual(ValueSecret)
                    ? m.Value
                    : string.Concat(m.Groups["pre"].ValueSpan, ValueSecret);
            });
        }
        return masked;
    }

    /// <summary>
    /// Masks the password of every <c>user:password@host</c> in the authority of each
    /// <c>scheme://</c> URL, including comma-separated host lists (oslo transport URLs). The
    /// authority runs to the first <c>/ ? #</c> after its last <c>@</c>, so a password holding a
    /// raw <c>/</c> is still caught.
    /// </summary>
    private static string MaskUrlCredentials(string text)
    {
        StringBuilder? sb = null;
        var copied = 0;
        var searchFrom = 0;
        while (true)
        {
            var scheme = text.IndexOf("://", searchFrom, StringComparison.Ordinal);
            if (scheme < 0)
            {
                break;
            }
            var start = scheme + 3;
            var tokenEnd = start;
            while (tokenEnd < text.Length && !IsTokenEnd(text[tokenEnd]))
            {
                tokenEnd++;
            }
            searchFrom = tokenEnd;
            if (tokenEnd == start)
            {
                continue;
            }
            var lastAt = text.LastIndexOf('@', tokenEnd - 1, tokenEnd - start);
            if (lastAt < 0)
            {
                continue;
            }
            var authorityEnd = text.AsSpan(lastAt, tokenEnd - lastAt).IndexOfAny('/', '?', '#');
            authorityEnd = authorityEnd < 0 ? tokenEnd : lastAt + authorityEnd;

            var segmentStart = start;
            while (segmentStart < authorityEnd)
            {
                var comma = text.IndexOf(',', segmentStart, authorityEnd - segmentStart);
                var segmentEnd = comma < 0 ? authorityEnd : comma;
                var at = text.LastIndexOf('@', segmentEnd - 1, segmentEnd - segmentStart);
                if (at > segmentStart)
                {
                    var colon = text.IndexOf(':', segmentStart, at - segmentStart);
                    if (colon >= 0 && colon + 1 < at && !text.AsSpan(colon + 1, at - colon - 1).SequenceEqual(UrlSecret))
                    {
                        sb ??= new StringBuilder(text.Length);
                        sb.Append(text, copied, colon + 1 - copied).Append(UrlSecret);
                        copied = at;
                    }
                }
                segmentStart = segmentEnd + 1;
            }
        }
        if (sb is null)
        {
            return text;
        }
        return sb.Append(text, copied, text.Length - copied).ToString();
    }

    private static bool IsTokenEnd(char c) => char.IsWhiteSpace(c) || c is '"' or '\'' or '<' or '>' or '`';
}
