using System.Globalization;

namespace NovaCompute.Logging.Journald;

/// <summary>
/// Is a standard stream connected to the journal? systemd sets <c>JOURNAL_STREAM=&lt;dev&gt;:&lt;ino&gt;</c>
/// (decimal <c>st_dev</c> and <c>st_ino</c>) for the stream socket it gave the service as
/// stdout/stderr (systemd.exec(5)). The variable is inherited by children and survives
/// redirections, so it only counts when the fd still has that very device and inode.
/// </summary>
internal static class JournalStream
{
    public const string Variable = "JOURNAL_STREAM";

    /// <summary>True when <paramref name="fd"/> is the stream that <paramref name="journalStream"/> names.</summary>
    public static bool IsConnected(int fd, string? journalStream) =>
        TryParse(journalStream, out var device, out var inode)
        && JournalNative.TryGetIdentity(fd, out var identity)
        && identity.Device == device && identity.Inode == inode;

    public static bool TryParse(string? journalStream, out ulong device, out ulong inode)
    {
        device = inode = 0;
        if (string.IsNullOrEmpty(journalStream))
        {
            return false;
        }
        var colon = journalStream.IndexOf(':');
        return colon > 0
            && ulong.TryParse(journalStream.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out device)
            && ulong.TryParse(journalStream.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out inode);
    }
}
