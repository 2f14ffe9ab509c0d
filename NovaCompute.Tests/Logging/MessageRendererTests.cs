using NovaCompute.Logging;
using Serilog.Events;

namespace NovaCompute.Tests.Logging;

public class MessageRendererTests
{
    private static string Render(string template, params (string, object?)[] properties)
    {
        var output = new StringWriter();
        MessageRenderer.Render(LogEvents.Make(LogEventLevel.Information, template, properties), output);
        return output.ToString();
    }

    [Test]
    public void Render_Strings_AreNotQuoted()
    {
        Assert.That(Render("host {Host}", ("Host", "compute-01")), Is.EqualTo("host compute-01"));
    }

    [Test]
    public void Render_PythonStyleScalars()
    {
        Assert.That(Render("{A} {B} {C} {D}", ("A", null), ("B", true), ("C", false), ("D", 1.25)), Is.EqualTo("None True False 1.25"));
    }

    [Test]
    public void Render_Numbers_InvariantCultureUnderCommaCulture()
    {
        var previous = System.Globalization.CultureInfo.CurrentCulture;
        var comma = (System.Globalization.CultureInfo)System.Globalization.CultureInfo.InvariantCulture.Clone();
        comma.NumberFormat.NumberDecimalSeparator = ",";
        try
        {
            System.Globalization.CultureInfo.CurrentCulture = comma;
            Assert.That(Render("{X} {Y:0.0}", ("X", 1234.5), ("Y", 2.5)), Is.EqualTo("1234.5 2.5"));
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = previous;
        }
    }

    [Test]
    public void Render_MissingProperty_KeepsThePlaceholder()
    {
        Assert.That(Render("value {Absent}"), Is.EqualTo("value {Absent}"));
    }

    [Test]
    public void Render_StructuredValue_UsesSerilogRendering()
    {
        var structure = new StructureValue([new LogEventProperty("Id", new ScalarValue(1))], "Service");
        Assert.That(Render("{S}", ("S", structure)), Is.EqualTo("Service { Id: 1 }"));
    }
}
