using Platform.Inference.Imaging;
using Platform.Inference.Tokenization;
using Platform.Inference.Torch;

namespace Platform.Inference;

/// <summary>
/// A CLIP-style dual encoder: both towers of a model package on one device, with its preprocessing and tokenizer.
/// Every method is safe to call from several threads at once (TorchScript forward is reentrant; the tokenizer and
/// the preprocessor keep no per-call state).
/// </summary>
public sealed class ClipEncoder : IDisposable
{
    private readonly TorchModule _imageTower;
    private readonly TorchModule _textTower;

    private ClipEncoder(ModelPackage package, TorchModule imageTower, TorchModule textTower, ClipTokenizer tokenizer, ImagePreprocessor preprocessor)
    {
        Package = package;
        _imageTower = imageTower;
        _textTower = textTower;
        Tokenizer = tokenizer;
        Preprocessor = preprocessor;
    }

    public ModelPackage Package { get; }

    public ClipTokenizer Tokenizer { get; }

    public ImagePreprocessor Preprocessor { get; }

    public int Dimension => Package.EmbeddingDim;

    public string Device => _imageTower.Device;

    /// <summary>Loads both towers of <paramref name="package"/> onto <paramref name="device"/> (<c>cpu</c>, <c>cuda:0</c>, ...).</summary>
    public static ClipEncoder Load(ModelPackage package, string device = "cpu", long maxImagePixels = 40_000_000)
    {
        var tokenizer = package.TokenizerKind == "clip-bpe-gz"
            ? ClipTokenizer.FromBpeGz(package.VocabPath)
            : ClipTokenizer.FromFiles(package.VocabPath, package.MergesPath!);
        var preprocessor = new ImagePreprocessor(new ImagePreprocessOptions(package.ImageSize, package.Mean, package.Std, maxImagePixels));
        var image = TorchModule.Load(package.ImageTowerPath, device);
        try
        {
            var text = TorchModule.Load(package.TextTowerPath, device);
            return new ClipEncoder(package, image, text, tokenizer, preprocessor);
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
        var batch = new float[tensors.Count * length];
        for (var i = 0; i < tensors.Count; i++)
        {
            if (tensors[i].Length != length)
                throw new ArgumentException($"image tensor {i} has {tensors[i].Length} values; this model takes {length}", nameof(tensors));
            tensors[i].CopyTo(batch, i * length);
        }
        var size = Package.ImageSize;
        return Rows(_imageTower.Forward(batch, [tensors.Count, 3, size, size]), tensors.Count, "image");
    }

    /// <summary>Decodes, preprocesses and encodes images; the first bad image fails the whole call.</summary>
    public float[][] EncodeImages(IReadOnlyList<byte[]> images)
    {
        var tensors = new float[images.Count][];
        var preprocessed = PreprocessImages(images);
        for (var i = 0; i < preprocessed.Length; i++)
            tensors[i] = preprocessed[i].Tensor ?? throw preprocessed[i].Error!;
        return EncodePreprocessedImages(tensors);
    }

    public float[] EncodeImage(ReadOnlySpan<byte> encoded) => EncodePreprocessedImages([PreprocessImage(encoded)])[0];

    public float[][] EncodeTexts(IReadOnlyList<string> texts)
    {
        if (texts.Count == 0)
            return [];
        var context = Package.ContextLength;
        var tokens = new long[texts.Count * context];
        for (var i = 0; i < texts.Count; i++)
            Tokenizer.EncodeForModel(texts[i], tokens.AsSpan(i * context, context));
        return Rows(_textTower.Forward(tokens, [texts.Count, context]), texts.Count, "text");
    }

    public float[] EncodeText(string text) => EncodeTexts([text])[0];

    public void Dispose()
    {
        _imageTower.Dispose();
        _textTower.Dispose();
    }

    private float[][] Rows(TorchOutput output, int count, string tower)
    {
        var dim = Package.EmbeddingDim;
        if (output.Shape is not [var n, var d] || n != count || d != dim)
            throw new ModelPackageException($"the {tower} tower of {Package.Name} returned shape [{string.Join(", ", output.Shape)}]; model.json promises [{count}, {dim}]");
        var rows = new float[count][];
        for (var i = 0; i < count; i++)
            rows[i] = output.Data.AsSpan(i * dim, dim).ToArray();
        return rows;
    }
}
