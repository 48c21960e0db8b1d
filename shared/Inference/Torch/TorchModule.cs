namespace Platform.Inference.Torch;

/// <summary>
/// A TorchScript module loaded through libtorch (torch::jit::load + eval) on a device ("cpu", "cuda", "cuda:N").
/// </summary>
/// <remarks>
/// Thread safety: <see cref="Forward(ReadOnlySpan{float}, ReadOnlySpan{long})"/> may be called on one instance from
/// several threads at once (TorchScript allows concurrent forward; each call runs under its own InferenceMode guard
/// and builds its own tensors). <see cref="Dispose"/> is safe during in-flight forwards: the native module is freed
/// only when the last of them returns, and later calls throw <see cref="ObjectDisposedException"/>.
/// Inputs are copied into libtorch before the forward, so the caller's buffers are never aliased or written.
/// </remarks>
public sealed class TorchModule : IDisposable
{
    private readonly ModuleHandle _handle;

    private TorchModule(ModuleHandle handle, string path, string device)
    {
        _handle = handle;
        Path = path;
        Device = device;
    }

    /// <summary>Full path of the loaded .pt file.</summary>
    public string Path { get; }

    /// <summary>The device the module was loaded onto, as given.</summary>
    public string Device { get; }

    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="TorchException">libtorch rejected the file or the device; carries libtorch's message.</exception>
    /// <exception cref="TorchLibraryNotFoundException">The native shim or libtorch could not be loaded.</exception>
    public static TorchModule Load(string path, string device = "cpu")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentException.ThrowIfNullOrWhiteSpace(device);
        var fullPath = System.IO.Path.GetFullPath(path);
        if (!File.Exists(fullPath))
            throw new FileNotFoundException($"TorchScript module not found: {fullPath}", fullPath);

        // Load first so a missing shim surfaces as the full search report, not as a bare DllImport failure.
        PlatformTorchLibrary.EnsureLoaded();
        var handle = NativeMethods.pt_module_load(fullPath, device);
        if (handle.IsInvalid)
        {
            var error = TorchException.FromLastError($"Loading TorchScript module '{fullPath}' onto '{device}' failed");
            handle.Dispose();
            throw error;
        }
        return new TorchModule(handle, fullPath, device);
    }

    /// <summary>Runs forward on a float32 tensor of <paramref name="shape"/> (row-major <paramref name="input"/>).</summary>
    public unsafe TorchOutput Forward(ReadOnlySpan<float> input, ReadOnlySpan<long> shape)
    {
        ValidateShape(input.Length, shape);
        fixed (float* data = input)
        fixed (long* dims = shape)
            return Run(data, InputKind.Float32, dims, shape);
    }

    /// <summary>Runs forward on an int64 tensor (e.g. token ids) of <paramref name="shape"/>.</summary>
    public unsafe TorchOutput Forward(ReadOnlySpan<long> input, ReadOnlySpan<long> shape)
    {
        ValidateShape(input.Length, shape);
        fixed (long* data = input)
        fixed (long* dims = shape)
            return Run(data, InputKind.Int64, dims, shape);
    }

    public void Dispose() => _handle.Dispose();

    public override string ToString() => $"TorchModule({Path} on {Device})";

    private enum InputKind { Float32, Int64 }

    private unsafe TorchOutput Run(void* data, InputKind kind, long* dims, ReadOnlySpan<long> shape)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        // Hold a reference across the forward *and* the error read, so a concurrent Dispose cannot free the module
        // under us; AddRef itself throws ObjectDisposedException if Dispose won the race.
        var added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            using var tensor = kind == InputKind.Float32
                ? NativeMethods.pt_module_forward_f32(_handle, (float*)data, dims, shape.Length)
                : NativeMethods.pt_module_forward_i64(_handle, (long*)data, dims, shape.Length);
            if (tensor.IsInvalid)
                throw TorchException.FromLastError($"Forward of '{Path}' on {(kind == InputKind.Float32 ? "float32" : "int64")} input [{string.Join(", ", shape.ToArray())}] failed");
            return ReadTensor(tensor);
        }
        finally
        {
            if (added)
                _handle.DangerousRelease();
        }
    }

    private unsafe TorchOutput ReadTensor(TensorHandle tensor)
    {
        var ndim = NativeMethods.pt_tensor_ndim(tensor);
        if (ndim < 0)
            throw TorchException.FromLastError("Reading the output rank failed");

        var shape = new long[ndim];
        fixed (long* dims = shape)
        {
            if (NativeMethods.pt_tensor_shape(tensor, dims, ndim) != ndim)
                throw TorchException.FromLastError("Reading the output shape failed");
        }

        var count = 1L;
        foreach (var d in shape)
            count = checked(count * d);
        if (count > Array.MaxLength)
            throw new TorchException($"Output of '{Path}' has {count} elements, more than a managed array can hold");

        var data = new float[count];
        fixed (float* dst = data)
        {
            if (NativeMethods.pt_tensor_copy_f32(tensor, dst, count) != 0)
                throw TorchException.FromLastError("Copying the output failed");
        }
        return new TorchOutput(data, shape);
    }

    // Managed-side checks give ArgumentExceptions naming the problem before any native call.
    private static void ValidateShape(int inputLength, ReadOnlySpan<long> shape)
    {
        if (shape.Length > NativeMethods.MaxDims)
            throw new ArgumentException($"Shape has {shape.Length} dimensions; at most {NativeMethods.MaxDims} are supported.", nameof(shape));
        var product = 1L;
        for (var i = 0; i < shape.Length; i++)
        {
            if (shape[i] < 0)
                throw new ArgumentException($"Shape [{string.Join(", ", shape.ToArray())}] has a negative dimension at index {i}.", nameof(shape));
            product = shape[i] == 0 || product <= long.MaxValue / shape[i] ? product * shape[i] : long.MaxValue;
        }
        if (product != inputLength)
            throw new ArgumentException(
                $"Input holds {inputLength} elements but shape [{string.Join(", ", shape.ToArray())}] needs {product}.", "input");
    }
}
