using Serilog.Core;
using Serilog.Debugging;
using Serilog.Events;
using Serilog.Formatting;

namespace NovaCompute.Logging;

/// <summary>
/// oslo.log's stream handler: one formatted line (or record with its traceback) per event on
/// stdout, or stderr with <c>use_stderr</c>, written in a single call so concurrent events never
/// interleave. oslo's <c>ColorHandler</c> appends the ANSI reset <c>ESC[00m</c> to every line even
/// when nothing was coloured — visible as a stray <c>[00m</c> in captured output and journal
/// entries; we deliberately leave it out.
/// </summary>
internal sealed class ConsoleSink(ITextFormatter formatter, TextWriter output) : ILogEventSink
{
    private readonly object _gate = new();
    private bool _failed;

    public void Emit(LogEvent logEvent)
    {
        var buffer = RenderBuffer.Rent();
        try
        {
            formatter.Format(logEvent, buffer);
            lock (_gate)
            {
                try
                {
                    output.Write(buffer.WrittenSpan);
                    output.Flush();
                    _failed = false;
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException)
                {
                    // A closed stdout (EPIPE) must not take the daemon down; say so once per outage.
                    if (!_failed)
                    {
                        _failed = true;
                        SelfLog.WriteLine("console sink: write failed: {0}", e.Message);
                    }
                }
            }
        }
        finally
        {
            RenderBuffer.Return(buffer);
        }
    }
}
