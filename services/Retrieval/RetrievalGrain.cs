using Orleans.Concurrency;
using Orleans.Runtime;
using Platform.Contracts.Grains;
using Platform.Inference.Imaging;
using Platform.Retrieval.Behaviour;
using Platform.ServiceDefaults.Cluster;

namespace Platform.Retrieval;

/// <summary>The query path as a stateless worker: any silo, as many local activations as the load needs.</summary>
[StatelessWorker]
public sealed class RetrievalGrain(SearchService search, Recommender recommender) : Grain, IRetrievalGrain
{
    public async Task<SearchHit[]> SearchText(string query, int k) => [.. await search.SearchTextAsync(query, k)];

    public async Task<SearchHit[]> SearchImage(ImageInput image, int k) => [.. await search.SearchImageAsync(image, k)];

    /// <summary>The composed search; with a shopper (or else a session) whose taste personalises it.</summary>
    public async Task<SearchResult> Search(SearchQuery query)
    {
        ShopperTaste? taste = null;
        if (query.Shopper is { } shopper)
            taste = await GrainFactory.GetGrain<IShopperGrain>(shopper).Taste();
        if (taste is null && query.Session is { } session)
            taste = (await recommender.SessionProfileAsync(session)).Taste();
        return await search.SearchAsync(query, taste);
    }

    public async Task<SearchHit[]?> Similar(string productId, int k, bool sameCategory, ProductFilter? filter) =>
        await recommender.SimilarAsync(productId, k, sameCategory, filter) is { } hits ? [.. hits] : null;

    public Task<RecommendResult> Recommend(RecommendQuery query) => recommender.RecommendAsync(query);

    public async Task<SearchHit[]> NextInSession(string sessionId, int k, ProductFilter? filter) =>
        [.. await recommender.NextInSessionAsync(sessionId, k, filter)];
}

/// <summary>
/// Query encodes through the cluster's encoder grains, at query priority. An encoder that cannot be reached (its silo
/// was just killed and is not yet declared dead) costs a shopper one failed try, not the search: the next encoder is
/// asked, up to <see cref="Attempts"/> times.
/// </summary>
public sealed class GrainQueryEncoder(EncoderDirectory encoders) : IQueryEncoder
{
    private const int Attempts = 3;

    public async Task<float[]> EncodeTextAsync(string text, CancellationToken cancellationToken) =>
        (await WithFailover(e => e.EncodeTexts([text], EncodePriority.Query), cancellationToken))[0];

    public async Task<float[]> EncodeImageAsync(ImageInput image, CancellationToken cancellationToken)
    {
        var result = (await WithFailover(e => e.EncodeImages([image], EncodePriority.Query), cancellationToken))[0];
        // The gateway validated the image already; a refusal here is the encoder's word on it, passed on as such.
        return result.Vector ?? throw new ImageRejectedException(ImageRejectReason.Corrupt, result.Rejected ?? "the image was refused");
    }

    private async Task<T> WithFailover<T>(Func<IEncoderGrain, Task<T>> call, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call(encoders.Pick(EncodePriority.Query)).WaitAsync(cancellationToken);
            }
            catch (Exception e) when (attempt < Attempts && e is SiloUnavailableException or OrleansMessageRejectionException or Orleans.Runtime.Messaging.ConnectionFailedException or TimeoutException)
            {
                // the directory hands out the next encoder on the next pick
            }
        }
    }
}
