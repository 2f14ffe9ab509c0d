namespace NovaCompute.Reports;

/// <summary>One frame of a stack, as oslo's <c>StackTraceModel</c> lists it (outermost first).</summary>
public sealed record ReportFrame(string File, int Line, string Name, string? Code = null);

/// <summary>
/// One thread of the process. <see cref="Frames"/> is null when its stack could not be captured;
/// <see cref="NoStack"/> then says why, where oslo would print <c>No Traceback!</c>.
/// </summary>
public sealed record ReportThread(string Id, IReadOnlyList<ReportFrame>? Frames, string NoStack = "No Traceback!");

/// <summary>oslo's <c>ProcessModel</c>: this process, its parent, its user and its state.</summary>
public sealed record ReportProcess(int Pid, int ParentPid, string User, int? Uid, string State);

/// <summary>A section the daemon adds after oslo's own (oslo's <c>register_section</c>), as a key/value model.</summary>
public sealed record ReportSection(string Title, IReadOnlyDictionary<string, object?> Model);

/// <summary>
/// The text Guru Meditation Report (oslo_reports/guru_meditation_report.py, <c>TextGuruMeditation</c>):
/// the banner, then Package, Threads, Green Threads, Processes and Configuration in oslo's order and
/// layout, then this daemon's own sections. <see cref="Render"/> returns what oslo's <c>run()</c>
/// returns (no trailing newline; the stderr variant prints one after it, as <c>print</c> does).
/// </summary>
public sealed class GuruMeditationReport
{
    public required string Vendor { get; init; }

    public required string Product { get; init; }

    public required string Version { get; init; }

    public IReadOnlyList<ReportThread> Threads { get; init; } = [];

    /// <summary>Empty in this daemon: it has no green threads (kept, so the headings are oslo's).</summary>
    public IReadOnlyList<ReportThread> GreenThreads { get; init; } = [];

    public required ReportProcess Process { get; init; }

    /// <summary>Group (<c>default</c> for DEFAULT) → option → value; secrets already <c>***</c>.</summary>
    public required IReadOnlyDictionary<string, IReadOnlyDictionary<string, object?>> Configuration { get; init; }

    public IReadOnlyList<ReportSection> Sections { get; init; } = [];

    public string Render()
    {
        var sections = new List<string>
        {
            OsloTextViews.Section("Guru Meditation", new string('|', OsloTextViews.Width) + "\n\n"),
            OsloTextViews.Section("Package", OsloTextViews.KeyValue(new Dictionary<string, object?>
            {
                ["product"] = Product,
                ["vendor"] = Vendor,
                ["version"] = Version,
            })),
            OsloTextViews.Section("Threads", OsloTextViews.Multi(Threads.Select(RenderThread))),
            OsloTextViews.Section("Green Threads", OsloTextViews.Multi(GreenThreads.Select(t =>
                OsloTextViews.Thread(" Green Thread ", OsloTextViews.StackTrace(t.Frames ?? [], t.NoStack))))),
            OsloTextViews.Section("Processes", OsloTextViews.Process(Process)),
            OsloTextViews.Section("Configuration", OsloTextViews.KeyValue(
                Configuration.ToDictionary(g => g.Key, g => (object?)g.Value), dictSeparator: ": ", beforeDict: "")),
        };
        sections.AddRange(Sections.Select(s => OsloTextViews.Section(s.Title, OsloTextViews.KeyValue(s.Model))));
        return string.Join("\n", sections);
    }

    private static string RenderThread(ReportThread thread) =>
        OsloTextViews.Thread($" Thread #{thread.Id} ", OsloTextViews.StackTrace(thread.Frames ?? [], thread.NoStack));
}
