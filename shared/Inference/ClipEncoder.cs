using System.Buffers;
using Microsoft.ML.OnnxRuntime.Tensors;
using Platform.Inference.Imaging;
using Platform.Inference.Onnx;
using Platform.Inference.Tokenization;

namespace Platform.Inference;

/// <summary>
/// A CLIP-style dual encoder: both towers of a model package on one device, with its preprocessing and tokenizer,
/// and the package's second text tower for CJK text when it has one.
/// Every method is safe to call from several threads at once (each tower is one ONNX Runtime session, which allows
/// concurrent runs; the tokenizer and the preprocessor keep no per-call state).
/// </summary>
public sealed class ClipEncoder : IDisposable
{
    private readonly OnnxTower _imageTower;
    private readonly TextTower _text;
    private readonly TextTower? _cjkText;

    private ClipEncoder(ModelPackage package, OnnxTower imageTower, TextTower text, TextTower? cjkText, ImagePreprocessor preprocessor, InferenceOptions options)
    {
        Package = package;
        _imageTower = imageTower;
        _text = text;
        _cjkText = cjkText;
        Preprocessor = preprocessor;
        Options = options;
    }

    public ModelPackage Package { get; }

    /// <summary>The main text tower's tokenizer (all text, or all but CJK text when the package has <c>cjk_text</c>).</summary>
    public ITextTokenizer Tokenizer => _text.Tokenizer;

    /// <summary>The <c>cjk_text</c> tower's tokenizer; null when the package has no such tower.</summary>
    public ITextTokenizer? CjkTokenizer => _cjkText?.Tokenizer;

    /// <summary>Whether the main text tower takes batches cut after their longest text (its sequence axis is symbolic).</summary>
    public bool TrimsTextBatches => _text.TrimsToLongest;

    public ImagePreprocessor Preprocessor { get; }

    public int Dimension => Package.EmbeddingDim;

    /// <summary>The device both towers run on, normalised (<c>cpu</c>, <c>cuda:N</c>).</summary>
    public string Device => _imageTower.Device;

    /// <summary>The ONNX Runtime execution provider the towers were given.</summary>
    public string ExecutionProvider => _imageTower.ExecutionProvider;

    /// <summary>The thread and graph settings the sessions were created with.</summary>
    public InferenceOptions Options { get; }

    /// <summary>
    /// Loads the towers of <paramref name="package"/> (image, text, and cjk_text when it has one) onto
    /// <paramref name="device"/> (<c>cpu</c>, <c>cuda:N</c>) and checks that their inputs and outputs are the ones
    /// model.json describes.
    /// </summary>
    /// <exception cref="ModelPackageException">A tower is not a loadable ONNX model or does not fit model.json.</exception>
    /// <exception cref="InferenceDeviceException">The device is unknown or this build cannot run on it.</exception>
    public static ClipEncoder Load(ModelPackage package, string device = "cpu", long maxImagePixels = 40_000_000, InferenceOptions? options = null)
    {
        options ??= InferenceOptions.Default;
        var tokenizer = LoadTokenizer(package.Text.Tokenizer);
        var cjkTokenizer = package.CjkText is { } cjk ? LoadTokenizer(cjk.Tokenizer) : null;
        var preprocessor = new ImagePreprocessor(new ImagePreprocessOptions(package.ImageSize, package.Mean, package.Std, maxImagePixels));
        var size = package.ImageSize;
        var image = LoadTower(package, "image", package.ImageTowerPath, package.ImageInput, package.ImageOutput,
            TensorElementType.Float, [-1, 3, size, size], $"image_size {size}", device, options);
        OnnxTower? text = null;
        try
        {
            text = LoadTower(package, "text", package.TextTowerPath, package.TextInput, package.TextOutput,
                TensorElementType.Int64, [-1, package.ContextLength], $"context_length {package.ContextLength}", device, options);
            var cjkText = package.CjkText is { } spec
                ? new TextTower(LoadTower(package, "cjk_text", spec.TowerPath, spec.Input, spec.Output, TensorElementType.Int64,
                    [-1, spec.ContextLength], $"cjk_text.context_length {spec.ContextLength}", device, options), cjkTokenizer!, spec.ContextLength, package.EmbeddingDim)
                : null;
            return new ClipEncoder(package, image, new TextTower(text, tokenizer, package.ContextLength, package.EmbeddingDim), cjkText, preprocessor, options);
        }
        catch
        {
            text?.Dispose();
            image.Dispose();
            throw;
        }
    }

    /// <summary>The tokenizer model.json describes.</summary>
    public static ITextTokenizer LoadTokenizer(TokenizerSpec spec) => spec.Kind switch
    {
        ModelPackage.ClipBpeGz => ClipTokenizer.FromBpeGz(spec.VocabPath),
        ModelPackage.ClipBpe => ClipTokenizer.FromFiles(spec.VocabPath, spec.MergesPath!),
        ModelPackage.WordPiece => WordPieceTokenizer.FromFile(spec.VocabPath, spec.Lowercase),
        _ => throw new ArgumentException($"unknown tokenizer kind '{spec.Kind}'", nameof(spec)),
    };

    /// <summary>The tokenizer of the tower <paramref name="text"/> goes to.</summary>
    public ITextTokenizer TokenizerFor(string text) => Route(text).Tokenizer;

    /// <summary>The context length of the tower <paramref name="text"/> goes to.</summary>
    public int ContextLengthFor(string text) => Route(text).ContextLength;

    private TextTower Route(string text) => _cjkText is not null && CjkScript.IsMostlyCjk(text) ? _cjkText : _text;

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

    /// <summary>
    /// Encodes texts, each by the tower its script goes to (the <c>cjk_text</c> tower for text mostly in CJK,
    /// when the package has one); the rows come back in the order of <paramref name="texts"/>.
    /// </summary>
    public float[][] EncodeTexts(IReadOnlyList<string> texts)
    {
        if (texts.Count == 0)
            return [];
        var rows = new float[texts.Count][];
        if (_cjkText is null)
        {
            _text.Encode(texts, null, rows);
            return rows;
        }
        var routes = TextRoutes.Of(texts);
        // One run per tower the batch needs; a batch all of one script keeps its order and needs no index.
        if (routes.Cjk.Length == 0)
            _text.Encode(texts, null, rows);
        else if (routes.Main.Length == 0)
            _cjkText.Encode(texts, null, rows);
        else
        {
            _text.Encode(texts, routes.Main, rows);
            _cjkText.Encode(texts, routes.Cjk, rows);
        }
        return rows;
    }

    public float[] EncodeText(string text) => EncodeTexts([text])[0];

    public void Dispose()
    {
        _imageTower.Dispose();
        _text.Dispose();
        _cjkText?.Dispose();
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

    /// <summary>A text tower and the tokenizer that feeds it.</summary>
    private sealed class TextTower(OnnxTower tower, ITextTokenizer tokenizer, int contextLength, int dimension) : IDisposable
    {
        public ITextTokenizer Tokenizer { get; } = tokenizer;

        public int ContextLength { get; } = contextLength;

        // A tower whose sequence axis is symbolic takes any length, so a batch is cut after its longest text: the
        // forward costs what the texts need, not context_length. A fixed axis is always given context_length.
        public bool TrimsToLongest { get; } = tower.InputDimensions[1] < 0;

        /// <summary>
        /// Encodes <paramref name="texts"/>[<paramref name="indices"/>[k]] (all of them, in order, when null) into
        /// <paramref name="rows"/> at the same index.
        /// </summary>
        public void Encode(IReadOnlyList<string> texts, int[]? indices, float[][] rows)
        {
            var count = indices?.Length ?? texts.Count;
            var context = ContextLength;
            var tokens = ArrayPool<long>.Shared.Rent(count * context);
            var output = ArrayPool<float>.Shared.Rent(count * dimension);
            try
            {
                var longest = 0;
                for (var k = 0; k < count; k++)
                    longest = Math.Max(longest, Tokenizer.EncodeForModel(texts[indices?[k] ?? k], tokens.AsSpan(k * context, context)));
                var length = context;
                if (TrimsToLongest && longest < context)
                {
                    // Rows move down to the shorter stride, in order: row k's new place never overlaps a later row's old one.
                    length = longest;
                    for (var k = 1; k < count; k++)
                        tokens.AsSpan(k * context, length).CopyTo(tokens.AsSpan(k * length, length));
                }
                tower.Run(tokens.AsMemory(0, count * length), [count, length], output.AsMemory(0, count * dimension), [count, dimension]);
                for (var k = 0; k < count; k++)
                    rows[indices?[k] ?? k] = output.AsSpan(k * dimension, dimension).ToArray();
            }
            finally
            {
                ArrayPool<long>.Shared.Return(tokens);
                ArrayPool<float>.Shared.Return(output);
            }
        }

        public void Dispose() => tower.Dispose();
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
