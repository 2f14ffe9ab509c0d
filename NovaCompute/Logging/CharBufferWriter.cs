using System.Text;

namespace NovaCompute.Logging;

/// <summary>
/// A reusable <see cref="TextWriter"/> over one growing char array: a rendered line stays
/// contiguous (so the secret scan can look at all of it at once) and reusing the writer costs
/// no allocation per event.
/// </summary>
internal sealed class CharBufferWriter : TextWriter
{
    private char[] _buffer;
    private int _length;

    public CharBufferWriter(int capacity = 512) : base(System.Globalization.CultureInfo.InvariantCulture)
    {
        _buffer = new char[capacity];
    }

    public override Encoding Encoding => Encoding.UTF8;

    public int Length => _length;

    public int Capacity => _buffer.Length;

    public ReadOnlySpan<char> WrittenSpan => _buffer.AsSpan(0, _length);

    public void Clear() => _length = 0;

    public override void Write(char value)
    {
        if (_length == _buffer.Length)
        {
            Grow(1);
        }
        _buffer[_length++] = value;
    }

    public override void Write(ReadOnlySpan<char> buffer)
    {
        if (_length + buffer.Length > _buffer.Length)
        {
            Grow(buffer.Length);
        }
        buffer.CopyTo(_buffer.AsSpan(_length));
        _length += buffer.Length;
    }

    public override void Write(string? value) => Write(value.AsSpan());

    public override void Write(char[] buffer, int index, int count) => Write(buffer.AsSpan(index, count));

    public override string ToString() => new(WrittenSpan);

    private void Grow(int needed)
    {
        var size = Math.Max(_buffer.Length * 2, _length + needed);
        Array.Resize(ref _buffer, size);
    }
}
