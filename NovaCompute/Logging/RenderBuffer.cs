namespace NovaCompute.Logging;

/// <summary>A per-thread <see cref="CharBufferWriter"/> for sinks that render a line before taking their lock.</summary>
internal static class RenderBuffer
{
    private const int RetainedChars = 64 * 1024;

    [ThreadStatic]
    private static CharBufferWriter? t_buffer;

    /// <summary>Takes this thread's buffer (or a new one when it is already in use further up the stack).</summary>
    public static CharBufferWriter Rent()
    {
        var buffer = t_buffer ?? new CharBufferWriter();
        t_buffer = null;
        buffer.Clear();
        return buffer;
    }

    public static void Return(CharBufferWriter buffer)
    {
        if (buffer.Capacity <= RetainedChars)
        {
            t_buffer = buffer;
        }
    }
}
