namespace Platform.Inference.Imaging;

/// <summary>
/// How an encoded image becomes a model input: the square side <paramref name="ImageSize"/>, the per-channel
/// (R, G, B) <paramref name="Mean"/> and <paramref name="Std"/> of the normalisation, and the largest image
/// (width × height, read from the header before any pixel is decoded) that is accepted at all.
/// </summary>
public sealed record ImagePreprocessOptions(int ImageSize, float[] Mean, float[] Std, long MaxPixels = 40_000_000)
{
    /// <summary>CLIP's normalisation constants (OpenAI CLIP, open_clip's "openai" pretrained weights).</summary>
    public static float[] ClipMean => [0.48145466f, 0.4578275f, 0.40821073f];

    /// <inheritdoc cref="ClipMean"/>
    public static float[] ClipStd => [0.26862954f, 0.26130258f, 0.27577711f];

    /// <summary>Options for CLIP-style models: <paramref name="imageSize"/> (224 for ViT-B/32) with CLIP's mean and std.</summary>
    public static ImagePreprocessOptions ForClip(int imageSize = 224, long maxPixels = 40_000_000) =>
        new(imageSize, ClipMean, ClipStd, maxPixels);
}

/// <summary>Why an image was refused.</summary>
public enum ImageRejectReason
{
    /// <summary>No bytes at all.</summary>
    Empty,

    /// <summary>Not JPEG, PNG, WebP or GIF (possibly a valid image of another kind).</summary>
    UnsupportedFormat,

    /// <summary>A supported format whose header or data is damaged or truncated.</summary>
    Corrupt,

    /// <summary>More pixels than <see cref="ImagePreprocessOptions.MaxPixels"/> (checked from the header, before decoding).</summary>
    TooLarge,
}

/// <summary>An image the preprocessor refuses; <see cref="Reason"/> says which kind of problem, the message says what exactly.</summary>
public sealed class ImageRejectedException : Exception
{
    public ImageRejectedException(ImageRejectReason reason, string message)
        : base(message) => Reason = reason;

    public ImageRejectedException(ImageRejectReason reason, string message, Exception inner)
        : base(message, inner) => Reason = reason;

    public ImageRejectReason Reason { get; }
}

/// <summary>What the header says: <paramref name="Format"/> is "jpeg", "png", "webp" or "gif"; for animated
/// images <paramref name="Width"/> and <paramref name="Height"/> are those of the first frame.</summary>
public sealed record ImageInfo(string Format, int Width, int Height);

/// <summary>A preprocessed image: what its header said, and its CHW tensor (<see cref="ImagePreprocessor.TensorLength"/> floats).</summary>
public sealed record PreprocessedImage(ImageInfo Info, float[] Tensor);
