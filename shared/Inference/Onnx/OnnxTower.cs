using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Platform.Inference.Onnx;

/// <summary>
/// One ONNX model with a single tensor input, run through one ONNX Runtime session on a device.
/// </summary>
/// <remarks>
/// Thread safety: <c>Run</c> may be called from several threads at once; they share the session (ONNX Runtime allows
/// concurrent Run calls on one session, each with its own intermediate buffers), so the weights are loaded once.
/// Inputs and outputs are the caller's memory, pinned for the call: nothing is copied in, and the output is written
/// straight into the caller's buffer. <see cref="Dispose"/> is safe during in-flight runs: the session is released
/// when the last of them returns, and later calls throw <see cref="ObjectDisposedException"/>.
/// </remarks>
public sealed class OnnxTower : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly long[] _inputDims;
    private readonly long[] _outputDims;
    private int _inFlight;
    private int _disposed;
    private int _released;

    private OnnxTower(InferenceSession session, string path, InferenceDevice device, string inputName, string outputName)
    {
        _session = session;
        Path = path;
        Device = device.ToString();
        ExecutionProvider = device.ExecutionProvider;
        InputName = inputName;
        OutputName = outputName;
        _inputNames = [inputName];
        _outputNames = [outputName];
        var input = session.InputMetadata[inputName];
        var output = session.OutputMetadata[outputName];
        InputType = input.ElementDataType;
        OutputType = output.ElementDataType;
        _inputDims = Array.ConvertAll(input.Dimensions, d => (long)d);
        _outputDims = Array.ConvertAll(output.Dimensions, d => (long)d);
        InputSymbols = input.SymbolicDimensions;
        OutputSymbols = output.SymbolicDimensions;
    }

    /// <summary>Full path of the loaded .onnx file.</summary>
    public string Path { get; }

    /// <summary>The device, normalised (<c>cpu</c>, <c>cuda:N</c>).</summary>
    public string Device { get; }

    /// <summary>The execution provider the session was given for <see cref="Device"/>.</summary>
    public string ExecutionProvider { get; }

    public string InputName { get; }

    public string OutputName { get; }

    public TensorElementType InputType { get; }

    public TensorElementType OutputType { get; }

    /// <summary>The input's declared dims; -1 where the axis is symbolic (any size), as the batch axis must be.</summary>
    public IReadOnlyList<long> InputDimensions => _inputDims;

    /// <summary>The output's declared dims; -1 where symbolic.</summary>
    public IReadOnlyList<long> OutputDimensions => _outputDims;

    /// <summary>The input's dim names (the symbol where symbolic, "" where fixed).</summary>
    public IReadOnlyList<string> InputSymbols { get; }

    public IReadOnlyList<string> OutputSymbols { get; }

    /// <summary>
    /// Loads <paramref name="path"/> onto <paramref name="device"/> (<c>cpu</c>, <c>cuda:N</c>). The model must have exactly
    /// one input; <paramref name="inputName"/> and <paramref name="outputName"/>, when given, must be its input and one of
    /// its outputs (the first output otherwise).
    /// </summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InferenceException">Not an ONNX model ONNX Runtime accepts, or not the named input and output.</exception>
    /// <exception cref="InferenceDeviceException">The device is unknown or this build cannot run on it.</exception>
    public static OnnxTower Load(string path, string device = "cpu", InferenceOptions? options = null, string? inputName = null, string? outputName = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var parsed = InferenceDevice.Parse(device);
        options ??= InferenceOptions.Default;
        options.Validate();
        var fullPath = System.IO.Path.GetFullPath(path);
        if (!File.Exists(fullPath))
            throw new FileNotFoundException($"ONNX model not found: {fullPath}", fullPath);
        if (IsZipArchive(fullPath))
            throw new InferenceException($"'{fullPath}' is a zip archive (a TorchScript .pt file?), not an ONNX model; " +
                "convert TorchScript towers with /usr/bin/python3 models/convert_to_onnx.py PACKAGE_DIR");

        using var sessionOptions = new SessionOptions
        {
            IntraOpNumThreads = options.IntraOpThreads,
            InterOpNumThreads = options.InterOpThreads,
            ExecutionMode = options.InterOpThreads == 1 ? ExecutionMode.ORT_SEQUENTIAL : ExecutionMode.ORT_PARALLEL,
            GraphOptimizationLevel = options.GraphOptimization,
        };
        sessionOptions.AddSessionConfigEntry("session.intra_op.allow_spinning", options.AllowSpinning ? "1" : "0");
        sessionOptions.AddSessionConfigEntry("session.inter_op.allow_spinning", options.AllowSpinning ? "1" : "0");
        parsed.AppendTo(sessionOptions);

        InferenceSession session;
        try
        {
            session = new InferenceSession(fullPath, sessionOptions);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InferenceException($"ONNX Runtime could not load '{fullPath}' onto {parsed}: {e.Message}", e);
        }
        try
        {
            var inputs = session.InputMetadata.Keys.ToList();
            if (inputs.Count != 1 || (inputName is not null && inputs[0] != inputName))
                throw new InferenceException($"'{fullPath}' has inputs [{string.Join(", ", inputs)}]; expected exactly one{(inputName is null ? "" : $", '{inputName}'")}");
            var outputs = session.OutputMetadata.Keys.ToList();
            var output = outputName ?? outputs.FirstOrDefault();
            if (output is null || !session.OutputMetadata.ContainsKey(output))
                throw new InferenceException($"'{fullPath}' has outputs [{string.Join(", ", outputs)}]; expected one named '{outputName}'");
            if (!session.InputMetadata[inputs[0]].IsTensor || !session.OutputMetadata[output].IsTensor)
                throw new InferenceException($"'{fullPath}': input '{inputs[0]}' and output '{output}' must be tensors");
            return new OnnxTower(session, fullPath, parsed, inputs[0], output);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Runs the model on a float32 input of <paramref name="inputShape"/>, writing a float32 output of <paramref name="outputShape"/>.</summary>
    public void Run(Memory<float> input, ReadOnlySpan<long> inputShape, Memory<float> output, ReadOnlySpan<long> outputShape) =>
        Run(input, TensorElementType.Float, inputShape, output, outputShape);

    /// <summary>Runs the model on an int64 input (e.g. token ids) of <paramref name="inputShape"/>.</summary>
    public void Run(Memory<long> input, ReadOnlySpan<long> inputShape, Memory<float> output, ReadOnlySpan<long> outputShape) =>
        Run(input, TensorElementType.Int64, inputShape, output, outputShape);

    /// <summary>Convenience for tests and tools: a new output array of [batch, fixed output dims...].</summary>
    public float[] Run(float[] input, long[] inputShape)
    {
        var outputShape = OutputShapeFor(inputShape);
        var output = new float[checked((int)Product(outputShape))];
        Run(input, inputShape, output, outputShape);
        return output;
    }

    /// <inheritdoc cref="Run(float[], long[])"/>
    public float[] Run(long[] input, long[] inputShape)
    {
        var outputShape = OutputShapeFor(inputShape);
        var output = new float[checked((int)Product(outputShape))];
        Run(input, inputShape, output, outputShape);
        return output;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0 && Volatile.Read(ref _inFlight) == 0)
            Release();
    }

    public override string ToString() => $"OnnxTower({Path} on {Device})";

    /// <summary>The output shape for an input batch: the batch size, then the output's fixed dims.</summary>
    public long[] OutputShapeFor(ReadOnlySpan<long> inputShape)
    {
        if (inputShape.Length == 0)
            throw new ArgumentException("the input shape is empty; the first axis is the batch", nameof(inputShape));
        if (inputShape[0] < 0)
            throw new ArgumentException($"input shape [{string.Join(", ", inputShape.ToArray())}] has a negative dimension at axis 0", nameof(inputShape));
        var shape = new long[_outputDims.Length];
        shape[0] = inputShape[0];
        for (var i = 1; i < shape.Length; i++)
        {
            shape[i] = _outputDims[i] >= 0 ? _outputDims[i]
                : throw new InvalidOperationException($"'{Path}' declares output axis {i} symbolic ('{OutputSymbols[i]}'); give the output shape");
        }
        return shape;
    }

    private void Run<T>(Memory<T> input, TensorElementType type, ReadOnlySpan<long> inputShape, Memory<float> output, ReadOnlySpan<long> outputShape)
        where T : unmanaged
    {
        if (type != InputType)
            throw new ArgumentException($"'{Path}' takes {Name(InputType)} input '{InputName}'; got {Name(type)}", nameof(input));
        if (OutputType != TensorElementType.Float)
            throw new InvalidOperationException($"'{Path}' output '{OutputName}' is {Name(OutputType)}; only float32 outputs are read");
        CheckShape(inputShape, _inputDims, input.Length, "input");
        CheckShape(outputShape, _outputDims, output.Length, "output");

        Enter();
        try
        {
            // The OrtValues only describe (and pin) the caller's memory; ONNX Runtime reads and writes it in place.
            using var inputValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, input, inputShape.ToArray());
            using var outputValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, output, outputShape.ToArray());
            _session.Run(_runOptions, _inputNames, [inputValue], _outputNames, [outputValue]);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InferenceException($"Forward of '{Path}' on {Name(type)} input [{string.Join(", ", inputShape.ToArray())}] failed: {e.Message}", e);
        }
        finally
        {
            Exit();
        }
    }

    // Managed-side checks, so a wrong shape is an ArgumentException naming the axis before ONNX Runtime sees it.
    private void CheckShape(ReadOnlySpan<long> shape, long[] declared, int length, string what)
    {
        var name = what == "input" ? InputName : OutputName;
        if (shape.Length != declared.Length)
            throw new ArgumentException($"'{Path}' {what} '{name}' has rank {declared.Length} ({Describe(declared)}); got shape [{string.Join(", ", shape.ToArray())}]", what);
        var product = 1L;
        for (var i = 0; i < shape.Length; i++)
        {
            if (shape[i] < 0)
                throw new ArgumentException($"{what} shape [{string.Join(", ", shape.ToArray())}] has a negative dimension at axis {i}", what);
            if (declared[i] >= 0 && shape[i] != declared[i])
                throw new ArgumentException($"'{Path}' {what} '{name}' is {Describe(declared)}; got [{string.Join(", ", shape.ToArray())}] (axis {i} must be {declared[i]})", what);
            product = shape[i] == 0 || product <= long.MaxValue / shape[i] ? product * shape[i] : long.MaxValue;
        }
        if (product != length)
            throw new ArgumentException($"the {what} buffer holds {length} elements but shape [{string.Join(", ", shape.ToArray())}] needs {product}", what);
    }

    private string Describe(long[] dims)
    {
        var parts = new string[dims.Length];
        for (var i = 0; i < dims.Length; i++)
            parts[i] = dims[i] >= 0 ? dims[i].ToString(System.Globalization.CultureInfo.InvariantCulture) : "?";
        return $"[{string.Join(", ", parts)}]";
    }

    private void Enter()
    {
        Interlocked.Increment(ref _inFlight);
        if (Volatile.Read(ref _disposed) != 0)
        {
            Exit();
            throw new ObjectDisposedException(ToString());
        }
    }

    private void Exit()
    {
        if (Interlocked.Decrement(ref _inFlight) == 0 && Volatile.Read(ref _disposed) != 0)
            Release();
    }

    private void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
            return;
        _session.Dispose();
        _runOptions.Dispose();
    }

    private static long Product(ReadOnlySpan<long> shape)
    {
        var product = 1L;
        foreach (var d in shape)
            product = checked(product * d);
        return product;
    }

    internal static string Name(TensorElementType type) => type switch
    {
        TensorElementType.Float => "float32",
        TensorElementType.Int64 => "int64",
        TensorElementType.Int32 => "int32",
        TensorElementType.Float16 => "float16",
        _ => type.ToString().ToLowerInvariant(),
    };

    // TorchScript files are zip archives; ONNX files are protobuf and never start with a zip header.
    private static bool IsZipArchive(string path)
    {
        Span<byte> head = stackalloc byte[4];
        using var file = File.OpenRead(path);
        return file.ReadAtLeast(head, 4, throwOnEndOfStream: false) == 4 && head.SequenceEqual("PK\u0003\u0004"u8);
    }
}
