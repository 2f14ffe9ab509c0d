using NovaCompute.Logging.Journald;

namespace NovaCompute.Tests.Logging.Journald;

public class JournalFieldNameTests
{
    [TestCase("RequestId", "REQUEST_ID")]
    [TestCase("InstanceUuid", "INSTANCE_UUID")]
    [TestCase("MsgId", "MSG_ID")]
    [TestCase("HTTPStatus", "HTTP_STATUS")]
    [TestCase("Sha256Sum", "SHA256_SUM")]
    [TestCase("requestId", "REQUEST_ID")]
    [TestCase("lower", "LOWER")]
    [TestCase("already_snake", "ALREADY_SNAKE")]
    [TestCase("ALREADY_UPPER", "ALREADY_UPPER")]
    [TestCase("dotted.name-with spaces", "DOTTED_NAME_WITH_SPACES")]
    public void Sanitize_PropertyName_BecomesUpperSnake(string property, string expected)
    {
        Assert.That(JournalFieldName.Sanitize(property), Is.EqualTo(expected));
    }

    [Test]
    public void Sanitize_LeadingUnderscore_IsDroppedSoJournaldKeepsTheField()
    {
        Assert.That(JournalFieldName.Sanitize("_Pid"), Is.EqualTo("PID"));
        Assert.That(JournalFieldName.Sanitize("__Cursor"), Is.EqualTo("CURSOR"));
    }

    [Test]
    public void Sanitize_LeadingDigit_GetsAnXPrefix()
    {
        Assert.That(JournalFieldName.Sanitize("1stAttempt"), Is.EqualTo("X1ST_ATTEMPT"));
    }

    [Test]
    public void Sanitize_SixtyFiveCharacters_IsCutToSixtyFour()
    {
        var name = new string('A', 65);
        var sanitized = JournalFieldName.Sanitize(name);
        Assert.That(sanitized, Has.Length.EqualTo(64));
        Assert.That(JournalFieldName.IsValid(sanitized), Is.True);
    }

    [Test]
    public void Sanitize_CutAtAnUnderscore_DropsTheTrailingUnderscore()
    {
        var name = new string('a', 63) + "_b";
        Assert.That(JournalFieldName.Sanitize(name), Is.EqualTo(new string('A', 63)));
    }

    [TestCase("")]
    [TestCase("___")]
    [TestCase("-.-")]
    public void Sanitize_NothingUsable_ReturnsNull(string property)
    {
        Assert.That(JournalFieldName.Sanitize(property), Is.Null);
    }

    [TestCase("MESSAGE", true)]
    [TestCase("CODE_LINE", true)]
    [TestCase("_PID", false)]
    [TestCase("1X", false)]
    [TestCase("message", false)]
    [TestCase("A=B", false)]
    [TestCase("", false)]
    public void IsValid_FollowsJournaldRules(string name, bool valid)
    {
        Assert.That(JournalFieldName.IsValid(name), Is.EqualTo(valid));
    }

    [Test]
    public void Sanitize_EverySanitizedName_IsValid()
    {
        foreach (var property in new[] { "a", "Ab", "ÄÖÜ", "x y z", "9", "_1", "Value2", new string('z', 200) })
        {
            var sanitized = JournalFieldName.Sanitize(property);
            if (sanitized is not null)
            {
                Assert.That(JournalFieldName.IsValid(sanitized), Is.True, $"{property} → {sanitized}");
            }
        }
    }
}
