using Platform.VectorStore;

namespace Platform.Search.Cluster;

/// <summary>
/// <see cref="IVectorStore"/> on the store another silo of the cluster holds (<see cref="IVectorStoreGrain"/>):
/// what the indexer writes to when the vectors live in the retrieval silo's embedded engine rather than in Qdrant.
/// The store's errors arrive with their kind; a cluster that cannot reach it is <see cref="VectorStoreErrorKind.Unavailable"/>.
/// </summary>
public sealed class ClusterVectorStore(IGrainFactory grains) : IVectorStore
{
    private IVectorStoreGrain Store => grains.GetGrain<IVectorStoreGrain>(0);

    public ValueTask CreateCollectionAsync(string collection, CollectionSchema schema, CancellationToken cancellationToken = default) =>
        Call(() => Store.CreateCollection(collection, schema), cancellationToken);

    public ValueTask<CollectionSchema?> GetCollectionAsync(string collection, CancellationToken cancellationToken = default) =>
        Call(() => Store.GetCollection(collection), cancellationToken);

    public async ValueTask<IReadOnlyList<string>> ListCollectionsAsync(CancellationToken cancellationToken = default) =>
        await Call(() => Store.ListCollections(), cancellationToken);

    public ValueTask<bool> DeleteCollectionAsync(string collection, CancellationToken cancellationToken = default) =>
        Call(() => Store.DeleteCollection(collection), cancellationToken);

    public ValueTask UpsertAsync(string collection, IReadOnlyList<VectorPoint> points, CancellationToken cancellationToken = default) =>
        Call(() => Store.Upsert(collection, [.. points]), cancellationToken);

    public ValueTask DeleteAsync(string collection, IReadOnlyList<string> ids, CancellationToken cancellationToken = default) =>
        Call(() => Store.DeleteIds(collection, [.. ids]), cancellationToken);

    public ValueTask DeleteAsync(string collection, Filter filter, CancellationToken cancellationToken = default) =>
        Call(() => Store.DeleteFilter(collection, filter), cancellationToken);

    public async ValueTask<IReadOnlyList<VectorPoint>> GetAsync(string collection, IReadOnlyList<string> ids, bool withVectors = false, CancellationToken cancellationToken = default) =>
        await Call(() => Store.Get(collection, [.. ids], withVectors), cancellationToken);

    public ValueTask<long> CountAsync(string collection, Filter? filter = null, CancellationToken cancellationToken = default) =>
        Call(() => Store.Count(collection, filter), cancellationToken);

    public ValueTask<ScrollPage> ScrollAsync(string collection, ScrollRequest request, CancellationToken cancellationToken = default) =>
        Call(() => Store.Scroll(collection, request), cancellationToken);

    public async ValueTask<IReadOnlyList<ScoredPoint>> SearchAsync(string collection, SearchRequest request, CancellationToken cancellationToken = default) =>
        await Call(() => Store.Search(collection, request), cancellationToken);

    public async ValueTask<IReadOnlyList<ScoredPoint>> RecommendAsync(string collection, RecommendRequest request, CancellationToken cancellationToken = default) =>
        await Call(() => Store.Recommend(collection, request), cancellationToken);

    public async ValueTask<IReadOnlyList<ScoredPoint>> SearchSparseAsync(string collection, SparseSearchRequest request, CancellationToken cancellationToken = default) =>
        await Call(() => Store.SearchSparse(collection, request), cancellationToken);

    private static async ValueTask Call(Func<Task> call, CancellationToken cancellationToken)
    {
        try
        {
            await call().WaitAsync(cancellationToken);
        }
        catch (Exception e) when (Translate(e) is { } error)
        {
            throw error;
        }
    }

    private static async ValueTask<T> Call<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call().WaitAsync(cancellationToken);
        }
        catch (Exception e) when (Translate(e) is { } error)
        {
            throw error;
        }
    }

    private static VectorStoreException? Translate(Exception e) => e switch
    {
        VectorStoreGrainException remote => remote.ToStoreException(),
        // No silo holds a store (none started, or none left), or the one that does cannot be reached now.
        ArgumentException when e.Message.StartsWith("Could not find an implementation", StringComparison.Ordinal) =>
            new VectorStoreException(VectorStoreErrorKind.Unavailable, "no silo of the cluster holds a vector store: start the retrieval silo", e),
        Orleans.Runtime.OrleansException or TimeoutException =>
            new VectorStoreException(VectorStoreErrorKind.Unavailable, $"the silo that holds the vector store cannot be reached: {e.Message}", e),
        _ => null,
    };
}
