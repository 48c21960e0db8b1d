using Orleans.Concurrency;
using Platform.Contracts.Grains;
using Platform.Inference.Imaging;
using Platform.ServiceDefaults.Cluster;

namespace Platform.Retrieval;

/// <summary>The query path as a stateless worker: any silo, as many local activations as the load needs.</summary>
[StatelessWorker]
public sealed class RetrievalGrain(SearchService search) : Grain, IRetrievalGrain
{
    public async Task<SearchHit[]> SearchText(string query, int k) => [.. await search.SearchTextAsync(query, k)];

    public async Task<SearchHit[]> SearchImage(ImageInput image, int k) => [.. await search.SearchImageAsync(image, k)];
}

/// <summary>Query encodes through the cluster's encoder grains, at query priority.</summary>
public sealed class GrainQueryEncoder(EncoderDirectory encoders) : IQueryEncoder
{
    public async Task<float[]> EncodeTextAsync(string text, CancellationToken cancellationToken) =>
        (await encoders.Pick(EncodePriority.Query).EncodeTexts([text], EncodePriority.Query).WaitAsync(cancellationToken))[0];

    public async Task<float[]> EncodeImageAsync(ImageInput image, CancellationToken cancellationToken)
    {
        var result = (await encoders.Pick(EncodePriority.Query).EncodeImages([image], EncodePriority.Query).WaitAsync(cancellationToken))[0];
        // The gateway validated the image already; a refusal here is the encoder's word on it, passed on as such.
        return result.Vector ?? throw new ImageRejectedException(ImageRejectReason.Corrupt, result.Rejected ?? "the image was refused");
    }
}
