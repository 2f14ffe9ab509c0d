using NovaCompute.Logging;

namespace NovaCompute.Tests.Logging;

public class PercentFormatTests
{
    [Test]
    public void Parse_OsloContextFormat_YieldsFieldsAndLiterals()
    {
        var segments = PercentFormat.Parse(NovaCompute.Logging.LoggingSettings.DefaultContextFormat);
        var keys = segments.Where(s => !s.IsLiteral).Select(s => s.Key);
        Assert.That(keys, Is.EqualTo(new[]
        {
            "asctime", "msecs", "process", "levelname", "name", "global_request_id", "request_id", "user_identity", "instance", "message",
        }));
        var msecs = segments.Single(s => s.Key == "msecs").Spec;
        Assert.That((msecs.Conversion, msecs.ZeroPad, msecs.Width), Is.EqualTo(('d', true, 3)));
    }

    [Test]
    public void Parse_DoublePercent_IsLiteralPercent()
    {
        var segments = PercentFormat.Parse("100%% %(x)s%%");
        Assert.That(segments.Select(s => s.Literal ?? $"<{s.Key}>"), Is.EqualTo(new[] { "100% ", "<x>", "%" }));
    }

    [Test]
    public void Parse_FlagsWidthPrecision_AreRead()
    {
        var spec = PercentFormat.Parse("%(x)-8.3f").Single().Spec;
        Assert.That((spec.Conversion, spec.LeftAlign, spec.Width, spec.Precision), Is.EqualTo(('f', true, 8, 3)));
    }

    [TestCase("%s")]
    [TestCase("%(unclosed")]
    [TestCase("%(x)")]
    [TestCase("%(x)q")]
    [TestCase("trailing %")]
    public void Parse_Invalid_Throws(string format)
    {
        Assert.Throws<FormatException>(() => PercentFormat.Parse(format));
    }

    private static string Write(Action<TextWriter> write)
    {
        var output = new StringWriter();
        write(output);
        return output.ToString();
    }

    private static PercentSpec Spec(string format) => PercentFormat.Parse(format).Single().Spec;

    [TestCase("%(x)s", "abc", "abc")]
    [TestCase("%(x)5s", "abc", "  abc")]
    [TestCase("%(x)-5s", "abc", "abc  ")]
    [TestCase("%(x).2s", "abc", "ab")]
    [TestCase("%(x)r", "abc", "'abc'")]
    public void WriteString_PythonSemantics(string format, string value, string expected)
    {
        Assert.That(Write(w => PercentWriter.WriteString(w, value, Spec(format))), Is.EqualTo(expected));
    }

    [TestCase("%(x)d", 7L, "7")]
    [TestCase("%(x)03d", 7L, "007")]
    [TestCase("%(x)03d", -7L, "-07")]
    [TestCase("%(x)5d", 42L, "   42")]
    [TestCase("%(x)-5d", 42L, "42   ")]
    [TestCase("%(x)+d", 42L, "+42")]
    [TestCase("%(x)x", 255L, "ff")]
    [TestCase("%(x)X", 255L, "FF")]
    [TestCase("%(x)o", 8L, "10")]
    [TestCase("%(x)d", long.MinValue, "-9223372036854775808")]
    [TestCase("%(x).2f", 3L, "3.00")]
    public void WriteInteger_PythonSemantics(string format, long value, string expected)
    {
        Assert.That(Write(w => PercentWriter.WriteInteger(w, value, Spec(format))), Is.EqualTo(expected));
    }

    [TestCase("%(x).7f", 1.5, "1.5000000")]
    [TestCase("%(x)f", 1.5, "1.500000")]
    [TestCase("%(x)08.3f", -1.5, "-001.500")]
    [TestCase("%(x)d", 3.99, "3")]
    [TestCase("%(x)s", 2.0, "2.0")]
    [TestCase("%(x)s", 0.1, "0.1")]
    [TestCase("%(x).2e", 12345.0, "1.23e+04")]
    public void WriteFloat_PythonSemantics(string format, double value, string expected)
    {
        Assert.That(Write(w => PercentWriter.WriteFloat(w, value, Spec(format))), Is.EqualTo(expected));
    }
}
