using NovaCompute.Logging;
using NovaCompute.Tests.Support;

namespace NovaCompute.Tests.Logging;

public class StrftimeFormatTests
{
    private static string Render(string pattern, DateTimeOffset time, TimeZoneInfo? zone = null)
    {
        var output = new StringWriter();
        new StrftimeFormat(pattern).Write(output, time, zone ?? LogEvents.Zone);
        return output.ToString();
    }

    private static readonly DateTimeOffset Sunday = new(2023, 1, 1, 0, 7, 9, TimeSpan.FromHours(2));

    [TestCase("%Y-%m-%d %H:%M:%S", "2023-01-01 00:07:09")]
    [TestCase("%y%j", "23001")]
    [TestCase("%a %A %b %B", "Sun Sunday Jan January")]
    [TestCase("%I %p", "12 AM")]
    [TestCase("%F %T", "2023-01-01 00:07:09")]
    [TestCase("%e|", " 1|")]
    [TestCase("%z %Z", "+0200 TST")]
    [TestCase("100%%", "100%")]
    [TestCase("%Q stays", "%Q stays")]
    [TestCase("trailing %", "trailing %")]
    [TestCase("", "")]
    public void Write_Directive_MatchesCStrftime(string pattern, string expected)
    {
        Assert.That(Render(pattern, Sunday), Is.EqualTo(expected));
    }

    [Test]
    public void Write_NegativeOffset_HasMinusSign()
    {
        var zone = TimeZoneInfo.CreateCustomTimeZone("Minus0330", TimeSpan.FromMinutes(-210), "Minus three thirty", "Minus three thirty");
        var time = new DateTimeOffset(2023, 1, 1, 0, 0, 0, TimeSpan.FromMinutes(-210));
        Assert.That(Render("%z %Z", time, zone), Is.EqualTo("-0330 -0330"));
    }

    [Test]
    public void ZoneAbbreviation_Utc_IsUtc()
    {
        Assert.That(StrftimeFormat.ZoneAbbreviation(TimeZoneInfo.Utc, DateTimeOffset.UnixEpoch), Is.EqualTo("UTC"));
    }

    [Test]
    public void ZoneAbbreviation_DaylightSavingZone_FollowsTheDate()
    {
        TimeZoneInfo brussels;
        try
        {
            brussels = TimeZoneInfo.FindSystemTimeZoneById("Europe/Brussels");
        }
        catch (TimeZoneNotFoundException)
        {
            TestServices.Unavailable("tzdata has no Europe/Brussels here (./build.sh services installs tzdata)");
            return;
        }
        var winter = TimeZoneInfo.ConvertTime(new DateTimeOffset(2024, 1, 15, 12, 0, 0, TimeSpan.Zero), brussels);
        var summer = TimeZoneInfo.ConvertTime(new DateTimeOffset(2024, 7, 15, 12, 0, 0, TimeSpan.Zero), brussels);
        Assert.That(Render("%H %Z", winter, brussels), Is.EqualTo("13 CET"));
        Assert.That(Render("%H %Z", summer, brussels), Is.EqualTo("14 CEST"));
    }
}
