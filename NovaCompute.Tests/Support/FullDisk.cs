namespace NovaCompute.Tests.Support;

/// <summary>
/// A small tmpfs of the test's own (the tests run as root, as <c>./build.sh test</c> does) that the
/// test fills to the last byte and frees again: a real ENOSPC, as an operator's full /var/lib would give.
/// </summary>
internal sealed class FullDisk : IAsyncDisposable
{
    private readonly string _filler;

    private FullDisk(string directory)
    {
        Directory = directory;
        _filler = Path.Combine(directory, "filler");
    }

    /// <summary>The mount point.</summary>
    public string Directory { get; }

    public static async Task<FullDisk> MountAsync(string size = "2m")
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("nova-full-disk-").FullName;
        var mount = await Shell.RunAsync("mount", ["-t", "tmpfs", "-o", $"size={size},mode=0700", "tmpfs", directory]);
        if (mount.ExitCode != 0)
        {
            System.IO.Directory.Delete(directory);
            Assert.Fail($"mounting a tmpfs needs root (the suite runs as root): {mount.Output}");
        }
        return new FullDisk(directory);
    }

    /// <summary>Writes a filler file until the filesystem refuses another byte.</summary>
    public void Fill()
    {
        var chunk = new byte[64 * 1024];
        using var handle = File.OpenHandle(_filler, FileMode.Append, FileAccess.Write);
        var size = chunk.Length;
        while (size > 0)
        {
            try
            {
                RandomAccess.Write(handle, chunk.AsSpan(0, size), RandomAccess.GetLength(handle));
            }
            catch (IOException)
            {
                // The last chunk did not fit (a part of it may have): retry smaller until not even one byte does.
                size /= 2;
            }
        }
        Assert.That(new DriveInfo(Directory).AvailableFreeSpace, Is.Zero, "the tmpfs should be full");
    }

    /// <summary>Deletes the filler: space is back.</summary>
    public void Free() => File.Delete(_filler);

    public async ValueTask DisposeAsync()
    {
        // Lazy unmount: a daemon or pooled connection still holding a file open must not leave the mount behind.
        await Shell.RunAsync("umount", ["-l", Directory]);
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
