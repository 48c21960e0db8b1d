using System.Globalization;
using Microsoft.ML.OnnxRuntime;

namespace Platform.Inference.Onnx;

/// <summary>A device string parsed: <c>cpu</c>, or <c>cuda:N</c> (<c>cuda</c> is <c>cuda:0</c>).</summary>
public readonly record struct InferenceDevice(int? CudaIndex)
{
    public static InferenceDevice Cpu => new(null);

    public bool IsCuda => CudaIndex is not null;

    /// <summary>ONNX Runtime's name for the execution provider this device runs on.</summary>
    public string ExecutionProvider => IsCuda ? OnnxRuntimeInfo.CudaProvider : OnnxRuntimeInfo.CpuProvider;

    /// <exception cref="InferenceDeviceException">Not <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</exception>
    public static InferenceDevice Parse(string device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (device == "cpu")
            return Cpu;
        if (device == "cuda")
            return new(0);
        if (device.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(device.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            return new(index);
        throw new InferenceDeviceException($"unknown inference device '{device}'; use cpu or cuda:N (N the GPU index, e.g. cuda:0)");
    }

    /// <summary>Throws, saying how to get one, when this build of ONNX Runtime lacks the device's execution provider.</summary>
    public void EnsureAvailable()
    {
        if (!IsCuda || OnnxRuntimeInfo.AvailableProviders.Contains(OnnxRuntimeInfo.CudaProvider))
            return;
        throw new InferenceDeviceException(
            $"device cuda:{CudaIndex} needs ONNX Runtime's CUDA execution provider, and this build has only " +
            $"{string.Join(", ", OnnxRuntimeInfo.AvailableProviders)} ({OnnxRuntimeInfo.Package}). Build for GPU with " +
            "`dotnet build -c Release -p:PlatformGpu=true` (or `dotnet publish -p:PlatformGpu=true`), which takes " +
            "Microsoft.ML.OnnxRuntime.Gpu.Linux; the machine then needs an NVIDIA driver, CUDA 12 and cuDNN 9.");
    }

    /// <summary>Adds the device's execution provider to <paramref name="options"/> (the CPU one is always there).</summary>
    internal void AppendTo(SessionOptions options)
    {
        if (CudaIndex is not { } index)
            return;
        EnsureAvailable();
        try
        {
            options.AppendExecutionProvider_CUDA(index);
        }
        catch (OnnxRuntimeException e)
        {
            // The CUDA build without a usable GPU, driver or CUDA libraries ends here; ONNX Runtime's text says which.
            throw new InferenceDeviceException($"ONNX Runtime could not start its CUDA execution provider on GPU {index}: {e.Message}");
        }
    }

    public override string ToString() => CudaIndex is { } index ? $"cuda:{index}" : "cpu";
}

/// <summary>A device this build cannot run on (unknown name, or CUDA on the CPU build); the message says what would work.</summary>
public sealed class InferenceDeviceException(string message) : Exception(message);

/// <summary>ONNX Runtime refused a model file or a forward; the message names the file, the input and ONNX Runtime's reason.</summary>
public sealed class InferenceException(string message, Exception? inner = null) : Exception(message, inner);
