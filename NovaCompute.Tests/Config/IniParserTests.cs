using NovaCompute.Config;

namespace NovaCompute.Tests.Config;

public class IniParserTests
{
    private static IReadOnlyList<IniEntry> Entries(string text)
    {
        var (entries, problems) = IniParser.Parse(text, "test.conf");
        Assert.That(problems, Is.Empty, string.Join("\n", problems));
        return entries;
    }

    [Test]
    public void Parse_EqualsAndColonSeparators_FirstSeparatorSplits()
    {
        var entries = Entries("[DEFAULT]\na = 1\nb: 2\nc = x:y\nd: p=q\n");
        Assert.That(entries.Select(e => (e.Key, e.Value)), Is.EqualTo(new[] { ("a", "1"), ("b", "2"), ("c", "x:y"), ("d", "p=q") }));
    }

    [Test]
    public void Parse_CommentLines_AreSkippedButInlineHashIsValue()
    {
        var entries = Entries("# comment\n; other\n[DEFAULT]\n#a = 1\na = 1 # not a comment\n");
        Assert.That(entries.Single().Value, Is.EqualTo("1 # not a comment"));
    }

    [Test]
    public void Parse_ContinuationLines_JoinWithNewline()
    {
        var entries = Entries("[DEFAULT]\nhelp = first\n  second\n\tthird\n\nnext = 1\n");
        Assert.That(entries[0].Value, Is.EqualTo("first\nsecond\nthird"));
        Assert.That(entries[1].Key, Is.EqualTo("next"));
    }

    [Test]
    public void Parse_MatchingQuotes_AreRemovedOnce()
    {
        var entries = Entries("[DEFAULT]\na = \"quoted\"\nb = 'single'\nc = \"mismatched'\nd = \"\"x\"\"\n");
        Assert.That(entries.Select(e => e.Value), Is.EqualTo(new[] { "quoted", "single", "\"mismatched'", "\"x\"" }));
    }

    [Test]
    public void Parse_SectionNames_LowerCasedExceptDefault()
    {
        var entries = Entries("[DEFAULT]\na=1\n[Database]\nb=2\n[default]\nc=3\n");
        Assert.That(entries.Select(e => e.Section), Is.EqualTo(new[] { "DEFAULT", "database", "default" }));
    }

    [Test]
    public void Parse_RecordsFileAndLine()
    {
        var entries = Entries("\n[DEFAULT]\n\n\na = 1\n");
        Assert.That((entries[0].File, entries[0].Line), Is.EqualTo(("test.conf", 5)));
    }

    [Test]
    public void Parse_SeveralBadLines_ReportsEveryOneWithLine()
    {
        var (entries, problems) = IniParser.Parse("a = 0\n[DEFAULT\n[]\n[DEFAULT]\nnoseparator\n= empty key\n  continuation after error\nok = 1\n", "bad.conf");
        Assert.That(problems.Select(p => (p.Line, p.Message)), Is.EqualTo(new (int?, string)[]
        {
            (1, "Section must be started before assignment: 'a = 0'"),
            (2, "Invalid section (must end with ]): '[DEFAULT'"),
            (3, "Empty section name: '[]'"),
            (5, "No ':' or '=' found in assignment: 'noseparator'"),
            (6, "Key cannot be empty: '= empty key'"),
            (7, "Unexpected continuation line: '  continuation after error'"),
        }));
        Assert.That(entries.Single().Key, Is.EqualTo("ok"));
    }

    [Test]
    public void Parse_TrailingWhitespaceAndCrLf_Stripped()
    {
        var entries = Entries("[DEFAULT]\r\na = 1   \r\n");
        Assert.That(entries.Single().Value, Is.EqualTo("1"));
    }
}
