using System.Runtime.InteropServices;

namespace Platform.VectorStore.Embedded;

/// <summary>
/// fsync of a directory, so a rename into it survives a power cut (a renamed file's data is synced by its own
/// fsync; the name lives in the directory). Linux and other Unix only; elsewhere a no-op.
/// </summary>
internal static partial class DirectorySync
{
    private const int ReadOnly = 0; // O_RDONLY

    public static void Sync(string directory)
    {
        if (OperatingSystem.IsWindows())
            return;
        var fd = Open(directory, ReadOnly);
        if (fd < 0)
            throw new IOException($"cannot open {directory} to sync it (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (Fsync(fd) != 0)
                throw new IOException($"fsync of {directory} failed (errno {Marshal.GetLastPInvokeError()})");
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
