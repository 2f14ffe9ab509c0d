namespace NovaCompute.Tests.Support;

/// <summary>
/// A real systemd (/lib/systemd/systemd) as PID 1 of private pid/mount/cgroup/uts/ipc namespaces,
/// so units can be tested end to end on a machine whose own PID 1 is not systemd. /run, /tmp and the
/// journal are private tmpfs; /usr, /etc and /var/lib are overlays whose changes vanish with the
/// sandbox, so the real <c>./build.sh install</c> can run inside without touching the host. Only a
/// private set of units is loaded (no udev, no tmpfiles, none of the host's services). The network
/// is the host's: units reach RabbitMQ and PostgreSQL on 127.0.0.1.
/// (After ../shared/tools/systemd-sandbox, rewritten for the project's own tests.)
/// </summary>
internal sealed class SystemdSandbox : IAsyncDisposable
{
    private const string UnitDirectory = "/run/sandbox-units";

    private readonly string _name;
    private readonly string _cgroup;
    private readonly string _stateDirectory;
    private int _pid;

    private SystemdSandbox(string name, string cgroup, string stateDirectory)
    {
        _name = name;
        _cgroup = cgroup;
        _stateDirectory = stateDirectory;
    }

    public static bool Supported(out string reason)
    {
        reason = "";
        if (Environment.UserName != "root")
        {
            reason = "needs root";
        }
        else if (!File.Exists("/lib/systemd/systemd"))
        {
            reason = "/lib/systemd/systemd is not installed";
        }
        else if (CgroupRoot() is null)
        {
            reason = "no cgroup2 mount";
        }
        return reason.Length == 0;
    }

    private static string? CgroupRoot() =>
        File.ReadLines("/proc/self/mounts").Select(l => l.Split(' ')).FirstOrDefault(f => f.Length > 2 && f[2] == "cgroup2")?[1];

    public static async Task<SystemdSandbox> StartAsync(string name)
    {
        if (!Supported(out var reason))
        {
            if (TestServices.Required)
            {
                Assert.Fail("systemd sandbox unavailable: " + reason);
            }
            Assert.Ignore("systemd sandbox unavailable: " + reason);
        }
        // Several test runs may share this machine (each with its own vhost and database): the
        // cgroup is per process so their sandboxes never meet.
        name = $"{name}-{Environment.ProcessId}";
        var cgroup = Path.Combine(CgroupRoot()!, name);
        var state = Path.Combine(TestServices.RepositoryRoot, "var", "test-sandbox", name);
        Directory.CreateDirectory(state);
        var init = Path.Combine(state, "init.sh");
        await File.WriteAllTextAsync(init, InitScript);
        File.SetUnixFileMode(init, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.CreateDirectory(cgroup);

        var sandbox = new SystemdSandbox(name, cgroup, state);
        // The launcher moves itself into the sandbox's cgroup, then becomes PID 1 of new namespaces.
        var launch = $"( echo $BASHPID > {cgroup}/cgroup.procs && exec setsid unshare --pid --fork --mount --mount-proc --cgroup --uts --ipc --propagation private {init} '{TestServices.RepositoryRoot}' ) </dev/null >{state}/console.log 2>&1 &";
        var launched = await Shell.RunAsync("/bin/bash", ["-c", launch], TimeSpan.FromSeconds(10));
        Assert.That(launched.ExitCode, Is.Zero, launched.Output);

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            var procs = Path.Combine(cgroup, "init.scope", "cgroup.procs");
            if (File.Exists(procs) && File.ReadLines(procs).FirstOrDefault() is { } pid && int.TryParse(pid, out sandbox._pid))
            {
                break;
            }
            await Task.Delay(50);
        }
        if (sandbox._pid == 0)
        {
            Assert.Fail("the sandboxed systemd did not come up: " + ReadConsole(state));
        }
        while (DateTime.UtcNow < deadline)
        {
            var running = await sandbox.RunAsync("systemctl", "is-system-running");
            if (running.Stdout.Trim() is "running" or "degraded")
            {
                return sandbox;
            }
            await Task.Delay(50);
        }
        Assert.Fail("the sandboxed systemd did not reach running: " + ReadConsole(state));
        return sandbox;
    }

    private static string ReadConsole(string state) =>
        File.Exists(Path.Combine(state, "console.log")) ? File.ReadAllText(Path.Combine(state, "console.log")) : "(no console output)";

    /// <summary>Runs a command inside the sandbox's namespaces.</summary>
    public Task<ShellResult> RunAsync(string file, params string[] arguments) =>
        Shell.RunAsync("nsenter", ["-t", _pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "-m", "-p", "-u", "-i", "-C", "--", file, .. arguments], TimeSpan.FromSeconds(120));

    /// <summary>Runs a command inside and fails the test when it fails.</summary>
    public async Task<string> MustAsync(string file, params string[] arguments)
    {
        var result = await RunAsync(file, arguments);
        Assert.That(result.ExitCode, Is.Zero, $"{file} {string.Join(' ', arguments)}:\n{result.Output}");
        return result.Stdout;
    }

    /// <summary>Makes a unit file visible to the sandboxed systemd and reloads it.</summary>
    public async Task LoadUnitAsync(string pathInside)
    {
        await MustAsync("cp", pathInside, UnitDirectory + "/");
        await MustAsync("systemctl", "daemon-reload");
    }

    /// <summary>Writes a file inside the sandbox (its /etc and /run are private).</summary>
    public async Task WriteFileAsync(string pathInside, string content)
    {
        var result = await Shell.RunAsync("nsenter", ["-t", _pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "-m", "--", "sh", "-c", $"mkdir -p \"$(dirname '{pathInside}')\" && cat > '{pathInside}'"], TimeSpan.FromSeconds(30), content);
        Assert.That(result.ExitCode, Is.Zero, result.Output);
    }

    /// <summary><c>systemctl show -p NAME --value</c>.</summary>
    public async Task<string> PropertyAsync(string unit, string property) =>
        (await MustAsync("systemctl", "show", "-p", property, "--value", unit)).Trim();

    public async ValueTask DisposeAsync()
    {
        if (_pid != 0)
        {
            await RunAsync("systemctl", "exit", "0");
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (Directory.Exists($"/proc/{_pid}") && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
            if (Directory.Exists($"/proc/{_pid}"))
            {
                await Shell.RunAsync("kill", "-9", _pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
                await Task.Delay(200);
            }
        }
        var children = Directory.Exists(_cgroup) ? Directory.GetDirectories(_cgroup, "*", SearchOption.AllDirectories) : [];
        foreach (var dir in children.OrderByDescending(d => d.Length))
        {
            TryRemove(dir);
        }
        TryRemove(_cgroup);
        try
        {
            Directory.Delete(_stateDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static void TryRemove(string cgroup)
    {
        try
        {
            Directory.Delete(cgroup);
        }
        catch (IOException)
        {
            // Still has processes for a moment after the inner systemd exits; the next run reuses it.
        }
    }

    public override string ToString() => $"sandbox {_name} (pid {_pid})";

    private const string InitScript = """
        #!/bin/bash
        # PID 1 of the sandbox's namespaces: private /run, /tmp, journal; overlays on /usr, /etc,
        # /var/lib; a private unit directory; then the real systemd.
        set -eu
        REPO=$1
        # The repository may live under a directory replaced by a tmpfs below (a CI clone in /tmp):
        # keep the original reachable on /mnt (private to this namespace) and bind it back after.
        KEEP=
        for d in /tmp /var/tmp; do
          case "$REPO/" in "$d"/*) KEEP=$d; mount --bind "$d" /mnt ;; esac
        done
        mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /run
        mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
        mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /var/tmp
        if [ -n "$KEEP" ]; then
          mkdir -p "$REPO"
          mount --bind "/mnt${REPO#"$KEEP"}" "$REPO"
        fi
        mkdir -p /run/overlay
        for d in usr etc var/lib var/log; do
          key=${d//\//_}
          mkdir -p /run/overlay/$key/upper /run/overlay/$key/work
          mount -t overlay overlay -o lowerdir=/$d,upperdir=/run/overlay/$key/upper,workdir=/run/overlay/$key/work /$d
        done
        mkdir -p /var/log/journal && mount -t tmpfs -o mode=2755 tmpfs /var/log/journal
        mount -o remount,bind,ro /sys
        mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
        U=/run/sandbox-units
        mkdir -p $U /run/sandbox-empty /run/systemd/transient
        for f in basic.target sysinit.target sockets.target shutdown.target exit.target halt.target \
                 poweroff.target reboot.target final.target umount.target systemd-exit.service \
                 systemd-halt.service systemd-poweroff.service systemd-reboot.service \
                 systemd-journald.service systemd-journald.socket systemd-journald-dev-log.socket \
                 dbus.socket dbus.service; do
          [ -e /lib/systemd/system/$f ] && cp /lib/systemd/system/$f $U/
        done
        cat > $U/sandbox.target <<UNIT
        [Unit]
        Description=sandbox boot target
        Wants=systemd-journald.socket systemd-journald-dev-log.socket systemd-journald.service dbus.socket
        UNIT
        exec env -i container=sandbox PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
          SYSTEMD_UNIT_PATH=$U:/run/systemd/transient \
          SYSTEMD_GENERATOR_PATH=/run/sandbox-empty SYSTEMD_ENVIRONMENT_GENERATOR_PATH=/run/sandbox-empty \
          /lib/systemd/systemd --system --unit=sandbox.target --log-target=journal --show-status=false

        """;
}
