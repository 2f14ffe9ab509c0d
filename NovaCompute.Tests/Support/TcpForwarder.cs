using System.Net;
using System.Net.Sockets;

namespace NovaCompute.Tests.Support;

/// <summary>
/// A local TCP port that forwards to a real service once <see cref="Start"/> is called: before
/// that, connections to <see cref="Port"/> are refused, as they are while a broker is down. It
/// listens on loopback, or on <see cref="Address"/> (a bridge's address, so that hosts in network
/// namespaces reach a service that listens on loopback only).
/// </summary>
internal sealed class TcpForwarder : IAsyncDisposable
{
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<TcpClient, byte> _live = new();
    private TcpListener? _listener;
    private Task? _accepting;

    public TcpForwarder(string targetHost, int targetPort, IPAddress? address = null)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
        Address = address ?? IPAddress.Loopback;
        // Reserve a free port number, then release it so that connecting is refused until Start.
        var probe = new TcpListener(Address, 0);
        probe.Start();
        Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
    }

    public IPAddress Address { get; }

    public int Port { get; }

    public void Start()
    {
        _listener = new TcpListener(Address, Port);
        _listener.Start();
        _accepting = AcceptAsync(_listener, _stop.Token);
    }

    private async Task AcceptAsync(TcpListener listener, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(stop);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            _ = PipeAsync(client, stop);
        }
    }

    private async Task PipeAsync(TcpClient client, CancellationToken stop)
    {
        using (client)
        using (var upstream = new TcpClient())
        {
            _live[client] = 0;
            try
            {
                await upstream.ConnectAsync(_targetHost, _targetPort, stop);
                var a = client.GetStream();
                var b = upstream.GetStream();
                await Task.WhenAny(a.CopyToAsync(b, stop), b.CopyToAsync(a, stop));
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // Either side went away.
            }
            finally
            {
                _live.TryRemove(client, out _);
            }
        }
    }

    /// <summary>
    /// Drops every forwarded connection at once, as a broker that goes down does (the client sees
    /// its socket close), and refuses new ones for <paramref name="down"/> before accepting again.
    /// </summary>
    public async Task CutAsync(TimeSpan down)
    {
        _listener?.Stop();
        foreach (var client in _live.Keys)
        {
            client.Client.Close(0);
        }
        await Task.Delay(down);
        _listener = new TcpListener(Address, Port);
        _listener.Start();
        _accepting = AcceptAsync(_listener, _stop.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener?.Stop();
        if (_accepting is not null)
        {
            await _accepting;
        }
        _stop.Dispose();
    }
}
