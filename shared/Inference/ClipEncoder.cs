using System.Buffers;
using Microsoft.ML.OnnxRuntime.Tensors;
using Platform.Inference.Imaging;
using Platform.Inference.Onnx;
using Platform.Inference.Tokenization;

namespace Platform.Inference;

/// <summary>
/// A CLIP-style dual encoder: both towers of a model package on one device, with its preprocessing and tokenizer.
/// Every method is safe to call from several threads at once (each tower is one ONNX Runtime session, which allows
/// concurrent runs; the tokenizer and the preprocessor keep no per-call state).
/// </summary>
public sealed class ClipEncoder : IDisposable
{
    private readonly OnnxTower _imageTower;
    private readonly OnnxTower _textTower;

    private ClipEncoder(ModelPackage package, OnnxTower imageTower, OnnxTower textTower, ClipTokenizer tokenizer, ImagePreprocessor preprocessor, InferenceOptions options)
    {
        Package = package;
        _imageTower = imageTower;
        _textTower = textTower;
        Tokenizer = tokenizer;
        Preprocessor = preprocessor;
        Options = options;
    }

    public ModelPackage Package { get; }

    public ClipTokenizer Tokenizer { get; }

    public ImagePreprocessor Preprocessor { get; }

    public int Dimension => Package.EmbeddingDim;

    /// <summary>The device both towers run on, normalised (<c>cpu</c>, <c>cuda:N</c>).</summary>
    public string Device => _imageTower.Device;

    /// <summary>The ONNX Runtime execution provider the towers were given.</summary>
    public string ExecutionProvider => _imageTower.ExecutionProvider;

    /// <summary>The thread and graph settings the sessions were created with.</summary>
    public InferenceOptions Options { get; }

    /// <summary>
    /// Loads both towers of <paramref name="package"/> onto <paramref name="device"/> (<c>cpu</c>, <c>cuda:N</c>) and
    /// checks that their inputs and outputs are the ones model.json describes.
    /// </summary>
    /// <exception cref="ModelPackageException">A tower is not a loadable ONNX model or does not fit model.json.</exception>
    /// <exception cref="InferenceDeviceException">The device is unknown or this build cannot run on it.</exception>
    public static ClipEncoder Load(ModelPackage package, string device = "cpu", long maxImagePixels = 40_000_000, InferenceOptions? options = null)
    {
        options ??= InferenceOptions.Default;
        var tokenizer = package.TokenizerKind == "clip-bpe-gz"
            ? ClipTokenizer.FromBpeGz(package.VocabPath)
            : ClipTokenizer.FromFiles(package.VocabPath, package.MergesPath!);
        var preprocessor = new ImagePreprocessor(new ImagePreprocessOptions(package.ImageSize, package.Mean, package.Std, maxImagePixels));
        var size = package.ImageSize;
        var image = LoadTower(package, "image", package.ImageTowerPath, package.ImageInput, package.ImageOutput,
            TensorElementType.Float, [-1, 3, size, size], $"image_size {size}", device, options);
        try
        {
            var text = LoadTower(package, "text", package.TextTowerPath, package.TextInput, package.TextOutput,
                TensorElementType.Int64, [-1, package.ContextLength], $"context_length {package.ContextLength}", device, options);
            return new ClipEncoder(package, image, text, tokenizer, preprocessor, options);
        }
        catch
        {
            image.Dispose();
            throw;
        }
    }

    /// <summary>Decodes and preprocesses one image into a new tensor; throws <see cref="ImageRejectedException"/> for bad input.</summary>
    public float[] PreprocessImage(ReadOnlySpan<byte> encoded)
    {
        var tensor = new float[Preprocessor.TensorLength];
        Preprocessor.Preprocess(encoded, tensor);
        return tensor;
    }

    /// <summary>
    /// Preprocesses several images across the machine's cores (decoding dominates batch encoding on CPU). Each entry
    /// is either a tensor or the reason that image was refused; one bad image does not sink the others.
    /// </summary>
    public (float[]? Tensor, ImageRejectedException? Error)[] PreprocessImages(IReadOnlyList<byte[]> images)
    {
        var results = new (float[]?, ImageRejectedException?)[images.Count];
        Parallel.For(0, images.Count, i =>
        {
            try
            {
                results[i] = (PreprocessImage(images[i]), null);
            }
            catch (ImageRejectedException e)
            {
                results[i] = (null, e);
            }
        });
        return results;
    }

    /// <summary>Runs the image tower on already preprocessed tensors (each <see cref="ImagePreprocessor.TensorLength"/> floats).</summary>
    public float[][] EncodePreprocessedImages(IReadOnlyList<float[]> tensors)
    {
        if (tensors.Count == 0)
            return [];
        var length = Preprocessor.TensorLength;
        for (var i = 0; i < tensors.Count; i++)
        {
            if (tensors[i].Length != length)
                throw new ArgumentException($"image tensor {i} has {tensors[i].Length} values; this model takes {length}", nameof(tensors));
        }
        var batch = ArrayPool<float>.Shared.Rent(tensors.Count * length);
        try
        {
            for (var i = 0; i < tensors.Count; i++)
                tensors[i].CopyTo(batch, i * length);
            return RunImages(batch, tensors.Count);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(batch);
        }
    }

    /// <summary>Decodes, preprocesses and encodes images; the first bad image fails the whole call.</summary>
    public float[][] EncodeImages(IReadOnlyList<byte[]> images)
    {
        if (images.Count == 0)
            return [];
        var length = Preprocessor.TensorLength;
        var batch = ArrayPool<float>.Shared.Rent(images.Count * length);
        try
        {
            // Each image is preprocessed straight into its slot of the batch, across the cores.
            var errors = new ImageRejectedException?[images.Count];
            Parallel.For(0, images.Count, i =>
            {
                try
                {
                    Preprocessor.Preprocess(images[i], batch.AsSpan(i * length, length));
                }
                catch (ImageRejectedException e)
                {
                    errors[i] = e;
                }
            });
            foreach (var error in errors)
            {
                if (error is not null)
                    throw error;
            }
            return RunImages(batch, images.Count);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(batch);
        }
    }

    public float[] EncodeImage(ReadOnlySpan<byte> encoded)
    {
        var length = Preprocessor.TensorLength;
        var batch = ArrayPool<float>.Shared.Rent(length);
        try
        {
            Preprocessor.Preprocess(encoded, batch.AsSpan(0, length));
            return RunImages(batch, 1)[0];
        }
        finally
        {
            ArrayPool<float>.Shared.Return(batch);
        }
    }

    public float[][] EncodeTexts(IReadOnlyList<string> texts)
    {
        if (texts.Count == 0)
            return [];
        var context = Package.ContextLength;
        var tokens = ArrayPool<long>.Shared.Rent(texts.Count * context);
        var output = ArrayPool<float>.Shared.Rent(texts.Count * Dimension);
        try
        {
            for (var i = 0; i < texts.Count; i++)
                Tokenizer.EncodeForModel(texts[i], tokens.AsSpan(i * context, context));
            _textTower.Run(tokens.AsMemory(0, texts.Count * context), [texts.Count, context],
                output.AsMemory(0, texts.Count * Dimension), [texts.Count, Dimension]);
            return Rows(output, texts.Count);
        }
        finally
        {
            ArrayPool<long>.Shared.Return(tokens);
            ArrayPool<float>.Shared.Return(output);
        }
    }

    public float[] EncodeText(string text) => EncodeTexts([text])[0];

    public void Dispose()
    {
        _imageTower.Dispose();
        _textTower.Dispose();
    }

    /// <summary>The image tower over the first <paramref name="count"/> tensors of <paramref name="batch"/>.</summary>
    private float[][] RunImages(float[] batch, int count)
    {
        var size = Package.ImageSize;
        var output = ArrayPool<float>.Shared.Rent(count * Dimension);
        try
        {
            _imageTower.Run(batch.AsMemory(0, count * Preprocessor.TensorLength), [count, 3, size, size],
                output.AsMemory(0, count * Dimension), [count, Dimension]);
            return Rows(output, count);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(output);
        }
    }

    // The result rows are the only allocations of an encode that grow with the batch: inputs and outputs are pooled.
    private float[][] Rows(float[] output, int count)
    {
        var dim = Dimension;
        var rows = new float[count][];
        for (var i = 0; i < count; i++)
            rows[i] = output.AsSpan(i * dim, dim).ToArray();
        return rows;
    }

    /// <summary>Loads one tower and checks its input and output against model.json, naming what differs.</summary>
    private static OnnxTower LoadTower(ModelPackage package, string tower, string path, string inputName, string outputName,
        TensorElementType inputType, long[] inputDims, string because, string device, InferenceOptions options)
    {
        var file = Path.GetFileName(path);
        OnnxTower loaded;
        try
        {
            loaded = OnnxTower.Load(path, device, options, inputName, outputName);
        }
        catch (Exception e) when (e is InferenceException or FileNotFoundException)
        {
            throw new ModelPackageException($"the {tower} tower of {package.Name} ({file}) cannot be used: {e.Message}");
        }

        try
        {
            var problems = new List<string>();
            var declared = loaded.InputDimensions;
            var expected = $"{OnnxTower.Name(inputType)} [batch, {string.Join(", ", inputDims.Skip(1))}] ({because})";
            if (loaded.InputType != inputType || declared.Count != inputDims.Length)
                problems.Add($"its input '{inputName}' is {OnnxTower.Name(loaded.InputType)} {Dims(loaded.InputDimensions, loaded.InputSymbols)}; model.json needs {expected}");
            else if (declared[0] >= 0)
                problems.Add($"its input '{inputName}' has a fixed batch axis of {declared[0]}; export it with a dynamic batch axis (models/onnx_towers.py)");
            else
            {
                for (var i = 1; i < inputDims.Length; i++)
                {
                    if (declared[i] >= 0 && declared[i] != inputDims[i])
                        problems.Add($"its input '{inputName}' is {Dims(loaded.InputDimensions, loaded.InputSymbols)}; model.json needs {expected}");
                }
            }
            var output = loaded.OutputDimensions;
            if (loaded.OutputType != TensorElementType.Float || output.Count != 2 || output[0] >= 0 || (output[1] >= 0 && output[1] != package.EmbeddingDim))
                problems.Add($"its output '{outputName}' is {OnnxTower.Name(loaded.OutputType)} {Dims(output, loaded.OutputSymbols)}; model.json needs float32 [batch, {package.EmbeddingDim}] (embedding_dim {package.EmbeddingDim})");
            if (problems.Count > 0)
                throw new ModelPackageException($"the {tower} tower of {package.Name} ({file}) does not fit model.json: {string.Join("; ", problems.Distinct())}");
            return loaded;
        }
        catch
        {
            loaded.Dispose();
            throw;
        }
    }

    private static string Dims(IReadOnlyList<long> dims, IReadOnlyList<string> symbols) =>
        $"[{string.Join(", ", dims.Select((d, i) => d >= 0 ? d.ToString(System.Globalization.CultureInfo.InvariantCulture) : symbols[i] is { Length: > 0 } s ? s : "?"))}]";
}
