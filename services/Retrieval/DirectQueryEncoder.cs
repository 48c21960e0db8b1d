using Platform.Contracts.Grains;
using Platform.Inference;

namespace Platform.Retrieval;

/// <summary>Query encodes on an encoder in this process, without grains or batching (the eval's in-process runs).</summary>
public sealed class DirectQueryEncoder(ClipEncoder encoder) : IQueryEncoder
{
    public Task<float[]> EncodeTextAsync(string text, CancellationToken cancellationToken) => Task.FromResult(encoder.EncodeText(text));

    public Task<float[]> EncodeImageAsync(ImageInput image, CancellationToken cancellationToken) =>
        Task.FromResult(image.Preprocessed is { } tensor
            ? encoder.EncodePreprocessedImages([tensor])[0]
            : encoder.EncodeImage(image.Encoded ?? []));
}
