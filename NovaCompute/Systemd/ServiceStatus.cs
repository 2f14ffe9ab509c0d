namespace NovaCompute.Systemd;

/// <summary>
/// The one-line status an operator reads in <c>systemctl status</c> (<c>STATUS=</c>): each part of
/// the daemon sets its own piece ("registered as node1", "heartbeat ok at 12:00:03", "broker
/// connected"); the line is the pieces in the order they first appeared, sent only when it changed.
/// </summary>
public interface IServiceStatus
{
    /// <summary>Sets (or, with null, removes) one component's piece of the status line.</summary>
    void Set(string component, string? text);

    /// <summary>The current status line.</summary>
    string Current { get; }
}

public sealed class ServiceStatus(ISystemdNotifier notifier) : IServiceStatus
{
    private readonly object _gate = new();
    private readonly List<(string Component, string Text)> _parts = [];
    private string _current = "";

    public string Current
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    public void Set(string component, string? text)
    {
        lock (_gate)
        {
            var index = _parts.FindIndex(p => p.Component == component);
            if (text is null)
            {
                if (index >= 0)
                {
                    _parts.RemoveAt(index);
                }
            }
            else if (index >= 0)
            {
                _parts[index] = (component, text);
            }
            else
            {
                _parts.Add((component, text));
            }
            // A newline would end the assignment early: STATUS= is one line.
            var line = string.Join("; ", _parts.Select(p => p.Text)).Replace('\n', ' ');
            if (line == _current)
            {
                return;
            }
            _current = line;
            notifier.Notify("STATUS=" + line);
        }
    }
}
