namespace Platform.Inference.Torch;

/// <summary>Process-wide libtorch settings and capabilities.</summary>
public static class TorchRuntime
{
    /// <summary>libtorch's version string, e.g. "1.13.0".</summary>
    public static string Version
    {
        get
        {
            PlatformTorchLibrary.EnsureLoaded();
            return System.Runtime.InteropServices.Marshal.PtrToStringUTF8(NativeMethods.pt_torch_version()) ?? string.Empty;
        }
    }

    /// <summary>Visible CUDA devices; 0 for a CPU-only libtorch or when no GPU is visible.</summary>
    public static int CudaDeviceCount
    {
        get
        {
            PlatformTorchLibrary.EnsureLoaded();
            var count = NativeMethods.pt_cuda_device_count();
            return count >= 0 ? count : throw TorchException.FromLastError("Querying CUDA devices failed");
        }
    }

    public static bool IsCudaAvailable => CudaDeviceCount > 0;

    /// <summary>libtorch's intra-op thread pool size (applies to every module in the process).</summary>
    public static int NumThreads
    {
        get
        {
            PlatformTorchLibrary.EnsureLoaded();
            var threads = NativeMethods.pt_get_num_threads();
            return threads >= 0 ? threads : throw TorchException.FromLastError("Reading the libtorch thread count failed");
        }
    }

    /// <summary>Sets the intra-op thread pool size; e.g. 1 when many requests run forwards concurrently.</summary>
    public static void SetNumThreads(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        PlatformTorchLibrary.EnsureLoaded();
        if (NativeMethods.pt_set_num_threads(threads) != 0)
            throw TorchException.FromLastError($"Setting the libtorch thread count to {threads} failed");
    }
}
