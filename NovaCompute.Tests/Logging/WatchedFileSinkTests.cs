using NovaCompute.Logging;
using Serilog.Events;

namespace NovaCompute.Tests.Logging;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class WatchedFileSinkTests
{
    private static readonly OsloFormatter Formatter = new(new LoggingSettings(), new LoggingEnvironment { ProcessId = 1, TimeZone = LogEvents.Zone });

    private string _directory = "";
    private string _path = "";

    [SetUp]
    public void CreateDirectory()
    {
        _directory = Directory.CreateTempSubdirectory("nova-logfile-").FullName;
        _path = Path.Combine(_directory, "nova-compute.log");
    }

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_directory, recursive: true);

    private static LogEvent Line(string text) => LogEvents.Make(LogEventLevel.Information, text);

    private static string Expected(params string[] texts) =>
        string.Concat(texts.Select(t => $"2024-05-14 09:12:44.106 1 INFO nova.service [-] {t}\n"));

    [Test]
    public void Emit_NewFile_CreatedWithMode0640AndLineWritten()
    {
        using var sink = new WatchedFileSink(_path, Formatter);
        sink.Emit(Line("first"));

        Assert.That(File.ReadAllText(_path), Is.EqualTo(Expected("first")));
        Assert.That(File.GetUnixFileMode(_path),
            Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead));
    }

    [Test]
    public void Emit_ExistingFile_Appends()
    {
        File.WriteAllText(_path, "earlier\n");
        using var sink = new WatchedFileSink(_path, Formatter);
        sink.Emit(Line("next"));
        Assert.That(File.ReadAllText(_path), Is.EqualTo("earlier\n" + Expected("next")));
    }

    [Test]
    public void Emit_FileMovedAway_NewFileCreatedAtThePath()
    {
        using var sink = new WatchedFileSink(_path, Formatter);
        sink.Emit(Line("before rotation"));
        var rotated = _path + ".1";
        File.Move(_path, rotated);

        sink.Emit(Line("after rotation"));

        Assert.Multiple(() =>
        {
            Assert.That(File.ReadAllText(rotated), Is.EqualTo(Expected("before rotation")));
            Assert.That(File.ReadAllText(_path), Is.EqualTo(Expected("after rotation")));
            Assert.That(sink.Reopens, Is.EqualTo(1));
        });
    }

    [Test]
    public void Emit_FileRemoved_NewFileCreated()
    {
        using var sink = new WatchedFileSink(_path, Formatter);
        sink.Emit(Line("one"));
        File.Delete(_path);

        sink.Emit(Line("two"));

        Assert.That(File.ReadAllText(_path), Is.EqualTo(Expected("two")));
    }

    [Test]
    public void Emit_FileTruncatedByCopytruncate_NextLineStartsAtOffsetZero()
    {
        using var sink = new WatchedFileSink(_path, Formatter);
        sink.Emit(Line("one"));
        sink.Emit(Line("two"));
        File.Copy(_path, _path + ".1");
        new FileStream(_path, FileMode.Truncate).Dispose();

        sink.Emit(Line("three"));

        // Without O_APPEND the line would land at the old offset behind a run of NUL bytes.
        Assert.That(File.ReadAllText(_path), Is.EqualTo(Expected("three")));
    }

    [Test]
    public void Emit_SecondWriterOnSameFile_NoLineIsOverwritten()
    {
        using var first = new WatchedFileSink(_path, Formatter);
        using var second = new WatchedFileSink(_path, Formatter);
        first.Emit(Line("a"));
        second.Emit(Line("b"));
        first.Emit(Line("c"));
        Assert.That(File.ReadAllText(_path), Is.EqualTo(Expected("a", "b", "c")));
    }

    [Test]
    public void Emit_ConcurrentThreads_EveryLineWholeAndPresent()
    {
        using var sink = new WatchedFileSink(_path, Formatter);
        Parallel.For(0, 1000, i => sink.Emit(Line($"line {i}")));
        var lines = File.ReadAllLines(_path);
        Assert.That(lines, Has.Length.EqualTo(1000));
        Assert.That(lines.Select(l => l[(l.LastIndexOf(' ') + 1)..]).Select(int.Parse).Order(), Is.EqualTo(Enumerable.Range(0, 1000)));
    }

    [Test]
    public void Constructor_DirectoryMissing_ThrowsNamingTheFile()
    {
        var missing = Path.Combine(_directory, "no-such-dir", "nova.log");
        var e = Assert.Throws<IOException>(() => _ = new WatchedFileSink(missing, Formatter));
        Assert.That(e!.Message, Does.Contain(missing));
    }

    [Test]
    public void Emit_DirectoryRemovedAfterStart_DoesNotThrowAndRecoversWhenItReturns()
    {
        var subdirectory = Path.Combine(_directory, "logs");
        Directory.CreateDirectory(subdirectory);
        var path = Path.Combine(subdirectory, "nova.log");
        using var sink = new WatchedFileSink(path, Formatter);
        Directory.Delete(subdirectory, recursive: true);

        Assert.DoesNotThrow(() => sink.Emit(Line("lost")));

        Directory.CreateDirectory(subdirectory);
        sink.Emit(Line("back"));
        Assert.That(File.ReadAllText(path), Is.EqualTo(Expected("back")));
    }
}
