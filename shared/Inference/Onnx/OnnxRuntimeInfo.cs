using Microsoft.ML.OnnxRuntime;

namespace Platform.Inference.Onnx;

/// <summary>Which ONNX Runtime this process loaded, and what it can run on.</summary>
public static class OnnxRuntimeInfo
{
    public const string CpuProvider = "CPUExecutionProvider";
    public const string CudaProvider = "CUDAExecutionProvider";

    /// <summary>The NuGet package this build took (the <c>PlatformGpu</c> build property chooses).</summary>
#if PLATFORM_GPU
    public const string Package = "Microsoft.ML.OnnxRuntime.Gpu.Linux, the CUDA build";
#else
    public const string Package = "Microsoft.ML.OnnxRuntime, the CPU build";
#endif

    /// <summary>The native library's version, e.g. <c>1.31.1</c>; loading it happens here the first time.</summary>
    public static string Version => OrtEnv.Instance().GetVersionString();

    /// <summary>Execution providers compiled into the loaded native library.</summary>
    public static IReadOnlyList<string> AvailableProviders => OrtEnv.Instance().GetAvailableProviders();

    /// <summary>One line for the start-up log: version, package, the provider <paramref name="device"/> runs on, and the rest available.</summary>
    public static string Describe(string device = "cpu")
    {
        var provider = InferenceDevice.Parse(device).ExecutionProvider;
        return $"ONNX Runtime {Version} ({Package}); device {device} runs on {provider}; available: {string.Join(", ", AvailableProviders)}";
    }
}
