using System.Net.Sockets;
using System.Text;

namespace NovaCompute.Tests.Support;

/// <summary>A real bound Unix datagram socket standing in for systemd's notify socket.</summary>
internal sealed class DatagramReceiver : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    private readonly string? _directory;

    private DatagramReceiver(string address, string? directory)
    {
        Address = address;
        _directory = directory;
    }

    /// <summary>The address to give the notifier: a path, or <c>@name</c> for an abstract socket.</summary>
    public string Address { get; }

    public static DatagramReceiver BindPath()
    {
        var dir = Directory.CreateTempSubdirectory("nova-notify-").FullName;
        var path = Path.Combine(dir, "notify.sock");
        var receiver = new DatagramReceiver(path, dir);
        receiver._socket.Bind(new UnixDomainSocketEndPoint(path));
        return receiver;
    }

    public static DatagramReceiver BindAbstract()
    {
        var name = "nova-test-" + Guid.NewGuid().ToString("N");
        var receiver = new DatagramReceiver("@" + name, null);
        receiver._socket.Bind(new UnixDomainSocketEndPoint("\0" + name));
        return receiver;
    }

    /// <summary>Receives the next datagram as text, or fails after the timeout.</summary>
    public async Task<string> ReceiveAsync(TimeSpan? timeout = null)
    {
        var buffer = new byte[64 * 1024];
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(5));
        var count = await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
        return Encoding.UTF8.GetString(buffer, 0, count);
    }

    /// <summary>Every datagram already waiting, without blocking.</summary>
    public List<string> Drain()
    {
        var result = new List<string>();
        var buffer = new byte[64 * 1024];
        while (_socket.Available > 0)
        {
            var count = _socket.Receive(buffer);
            result.Add(Encoding.UTF8.GetString(buffer, 0, count));
        }
        return result;
    }

    public void Dispose()
    {
        _socket.Dispose();
        if (_directory is not null)
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}
