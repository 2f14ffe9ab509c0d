using System.Globalization;

namespace NovaCompute.Messaging.Rpc;

/// <summary>An RPC interface version <c>major.minor[.revision]</c>, compared with oslo's rule.</summary>
public readonly record struct RpcVersion(int Major, int Minor, int Revision = 0)
{
    /// <summary>What the dispatcher assumes for a request or endpoint without a version.</summary>
    public static RpcVersion Default { get; } = new(1, 0);

    public static bool TryParse(string? text, out RpcVersion version)
    {
        version = default;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }
        var parts = text.Split('.');
        if (parts.Length is < 2 or > 3)
        {
            return false;
        }
        var numbers = new int[3];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out numbers[i]))
            {
                return false;
            }
        }
        version = new RpcVersion(numbers[0], numbers[1], numbers[2]);
        return true;
    }

    /// <summary>oslo's message for an unparsable version in <c>prepare()</c>.</summary>
    public static RpcVersion Parse(string text) =>
        TryParse(text, out var version) ? version : throw new FormatException($"Version must contain a major and minor integer. Got {text}");

    /// <summary>
    /// <c>oslo_messaging._utils.version_is_compatible(implemented, requested)</c>: same major, requested
    /// minor not above the implemented one, and at equal minors, requested revision not above.
    /// </summary>
    public static bool IsCompatible(RpcVersion implemented, RpcVersion requested) =>
        implemented.Major == requested.Major &&
        (requested.Minor < implemented.Minor ||
         (requested.Minor == implemented.Minor && requested.Revision <= implemented.Revision));

    public override string ToString() => Revision == 0
        ? string.Create(CultureInfo.InvariantCulture, $"{Major}.{Minor}")
        : string.Create(CultureInfo.InvariantCulture, $"{Major}.{Minor}.{Revision}");
}
