using Orleans.Concurrency;
using Platform.VectorStore;

namespace Platform.Search.Cluster;

/// <summary>
/// Serves this silo's <see cref="IVectorStore"/> to the cluster. A stateless worker: the store is thread-safe and
/// readers never wait for its writer, so calls run side by side, on whichever silo of those that hold one (in the
/// local distributed recipe there is one: the retrieval silo).
/// </summary>
[StatelessWorker, Reentrant]
internal sealed class VectorStoreGrain(IVectorStore store) : Grain, IVectorStoreGrain
{
    public Task CreateCollection(string collection, CollectionSchema schema) => Run(() => store.CreateCollectionAsync(collection, schema));

    public Task<CollectionSchema?> GetCollection(string collection) => Run(() => store.GetCollectionAsync(collection));

    public Task<string[]> ListCollections() => Run(async () => (await store.ListCollectionsAsync()).ToArray());

    public Task<bool> DeleteCollection(string collection) => Run(() => store.DeleteCollectionAsync(collection));

    public Task Upsert(string collection, VectorPoint[] points) => Run(() => store.UpsertAsync(collection, points));

    public Task DeleteIds(string collection, string[] ids) => Run(() => store.DeleteAsync(collection, ids));

    public Task DeleteFilter(string collection, Filter filter) => Run(() => store.DeleteAsync(collection, filter));

    public Task<VectorPoint[]> Get(string collection, string[] ids, bool withVectors) =>
        Run(async () => (await store.GetAsync(collection, ids, withVectors)).ToArray());

    public Task<long> Count(string collection, Filter? filter) => Run(() => store.CountAsync(collection, filter));

    public Task<ScrollPage> Scroll(string collection, ScrollRequest request) => Run(() => store.ScrollAsync(collection, request));

    public Task<ScoredPoint[]> Search(string collection, SearchRequest request) =>
        Run(async () => (await store.SearchAsync(collection, request)).ToArray());

    public Task<ScoredPoint[]> Recommend(string collection, RecommendRequest request) =>
        Run(async () => (await store.RecommendAsync(collection, request)).ToArray());

    public Task<ScoredPoint[]> SearchSparse(string collection, SparseSearchRequest request) =>
        Run(async () => (await store.SearchSparseAsync(collection, request)).ToArray());

    // The store's own errors keep their kind across the wire (its exception type is not an Orleans one).
    private static async Task Run(Func<ValueTask> call)
    {
        try
        {
            await call();
        }
        catch (VectorStoreException e)
        {
            throw new VectorStoreGrainException((int)e.Kind, e.Message);
        }
    }

    private static async Task<T> Run<T>(Func<ValueTask<T>> call)
    {
        try
        {
            return await call();
        }
        catch (VectorStoreException e)
        {
            throw new VectorStoreGrainException((int)e.Kind, e.Message);
        }
    }
}
