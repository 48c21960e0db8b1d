namespace Platform.Contracts.Grains;

/// <summary>Who is waiting for an encode: shoppers' queries go ahead of catalog ingest.</summary>
[Alias("platform.EncodePriority")]
public enum EncodePriority
{
    Query = 0,
    Ingest = 1,
}

/// <summary>
/// One image to encode: either its encoded bytes (JPEG, PNG, WebP, GIF), decoded by the encoder, or a tensor already
/// preprocessed for this model (3 × S × S floats), which skips a second decode.
/// </summary>
[GenerateSerializer, Immutable, Alias("platform.ImageInput")]
public sealed record ImageInput([property: Id(0)] byte[]? Encoded, [property: Id(1)] float[]? Preprocessed)
{
    public static ImageInput FromBytes(byte[] encoded) => new(encoded, null);

    public static ImageInput FromTensor(float[] tensor) => new(null, tensor);
}

/// <summary>An image's embedding, or why the image was refused (the other images of the call are unaffected).</summary>
[GenerateSerializer, Immutable, Alias("platform.ImageEmbedding")]
public sealed record ImageEmbedding([property: Id(0)] float[]? Vector, [property: Id(1)] string? Rejected);

/// <summary>What an encoder activation runs: the model, its dimension and the device it is pinned to.</summary>
[GenerateSerializer, Immutable, Alias("platform.EncoderDescription")]
public sealed record EncoderDescription(
    [property: Id(0)] string Model,
    [property: Id(1)] int Dimension,
    [property: Id(2)] string Device,
    [property: Id(3)] string Silo);

/// <summary>Counters of one encoder activation since it started: how well batching gathers concurrent calls.</summary>
[GenerateSerializer, Immutable, Alias("platform.EncoderStats")]
public sealed record EncoderStats(
    [property: Id(0)] long TextCalls,
    [property: Id(1)] long TextForwards,
    [property: Id(2)] long TextItems,
    [property: Id(3)] long ImageCalls,
    [property: Id(4)] long ImageForwards,
    [property: Id(5)] long ImageItems);

/// <summary>
/// The encoder on one device of one silo: both towers of the model, with a batching queue that gathers concurrent
/// calls (queries and ingest) into one forward per tower. Keyed by <c>device@silo</c> (see the placement filter in
/// ServiceDefaults), or by a bare device name for "any silo with this device".
/// </summary>
[Alias("platform.IEncoderGrain")]
public interface IEncoderGrain : IGrainWithStringKey
{
    [Alias("Describe")]
    Task<EncoderDescription> Describe();

    /// <summary>Text embeddings, one per text, in order.</summary>
    [Alias("EncodeTexts")]
    Task<float[][]> EncodeTexts(string[] texts, EncodePriority priority);

    /// <summary>Image embeddings, one per image, in order; a bad image is refused alone.</summary>
    [Alias("EncodeImages")]
    Task<ImageEmbedding[]> EncodeImages(ImageInput[] images, EncodePriority priority);

    [Alias("GetStats")]
    Task<EncoderStats> GetStats();
}
