using NovaCompute.Cli;
using NovaCompute.Config;
using NovaCompute.Logging;

namespace NovaCompute.Tests.Cli;

public class NovaCommandLineTests
{
    private static ConfigArguments Read(params string[] args)
    {
        var result = NovaCommandLine.Build().Parse(args);
        Assert.That(result.Errors, Is.Empty, string.Join("; ", result.Errors.Select(e => e.Message)));
        return NovaCommandLine.ReadConfigArguments(result);
    }

    [Test]
    public void ReadConfigArguments_FilesAndDirectoriesInterleaved_KeepCommandLineOrder()
    {
        var arguments = Read("--config-file", "/a.conf", "--config-dir", "/d", "--config-file=/b.conf");
        Assert.That(arguments.Sources, Is.EqualTo(new[]
        {
            new ConfigSourceArgument(ConfigSourceKind.File, "/a.conf"),
            new ConfigSourceArgument(ConfigSourceKind.Directory, "/d"),
            new ConfigSourceArgument(ConfigSourceKind.File, "/b.conf"),
        }));
    }

    [Test]
    public void ReadConfigArguments_OsloFlags_BecomeOverrides()
    {
        var arguments = Read("-d", "--logfile", "/var/log/nova/x.log", "--nouse-journal", "--log-date-format", "%H:%M");
        Assert.That(arguments.Overrides.Select(o => (o.Opt, o.Raw)), Is.EquivalentTo(new (Opt, string)[]
        {
            (LoggingOptions.Debug, "true"),
            (LoggingOptions.LogFile, "/var/log/nova/x.log"),
            (LoggingOptions.UseJournal, "false"),
            (LoggingOptions.LogDateFormat, "%H:%M"),
        }));
    }

    [Test]
    public void ReadConfigArguments_FlagsAfterSubcommand_AreGlobal()
    {
        var arguments = Read("check-config", "--config-file", "/x.conf", "--debug");
        Assert.That(arguments.Sources.Single().Path, Is.EqualTo("/x.conf"));
        Assert.That(arguments.Overrides.Single().Opt, Is.SameAs(LoggingOptions.Debug));
    }

    [Test]
    public async Task InvokeAsync_UnknownFlag_Exits2()
    {
        var error = new StringWriter();
        var previous = Console.Error;
        Console.SetError(error);
        try
        {
            Assert.That(await NovaCommandLine.InvokeAsync(["--frobnicate"]), Is.EqualTo(ExitCodes.Usage));
        }
        finally
        {
            Console.SetError(previous);
        }
        Assert.That(error.ToString(), Does.Contain("--frobnicate"));
    }
}
