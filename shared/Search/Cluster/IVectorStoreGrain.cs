using Platform.VectorStore;

namespace Platform.Search.Cluster;

/// <summary>
/// The vector store of a silo that holds one (a retrieval silo with the embedded engine), for processes of the cluster
/// that have none of their own: the indexer writes through it, and tests and operators read through it. One call per
/// <see cref="IVectorStore"/> operation; the store's types travel as JSON (ServiceDefaults' VectorStoreSerialization).
/// </summary>
[Alias("platform.vector-store")]
public interface IVectorStoreGrain : IGrainWithIntegerKey
{
    [Alias("create-collection")] Task CreateCollection(string collection, CollectionSchema schema);
    [Alias("get-collection")] Task<CollectionSchema?> GetCollection(string collection);
    [Alias("list-collections")] Task<string[]> ListCollections();
    [Alias("delete-collection")] Task<bool> DeleteCollection(string collection);
    [Alias("upsert")] Task Upsert(string collection, VectorPoint[] points);
    [Alias("delete-ids")] Task DeleteIds(string collection, string[] ids);
    [Alias("delete-filter")] Task DeleteFilter(string collection, Filter filter);
    [Alias("get")] Task<VectorPoint[]> Get(string collection, string[] ids, bool withVectors);
    [Alias("count")] Task<long> Count(string collection, Filter? filter);
    [Alias("scroll")] Task<ScrollPage> Scroll(string collection, ScrollRequest request);
    [Alias("search")] Task<ScoredPoint[]> Search(string collection, SearchRequest request);
    [Alias("recommend")] Task<ScoredPoint[]> Recommend(string collection, RecommendRequest request);
    [Alias("search-sparse")] Task<ScoredPoint[]> SearchSparse(string collection, SparseSearchRequest request);
}

/// <summary>A <see cref="VectorStoreException"/> raised in the silo that holds the store, carried to the caller with its kind.</summary>
[GenerateSerializer, Alias("platform.vector-store-error")]
public sealed class VectorStoreGrainException : Exception
{
    public VectorStoreGrainException(int kind, string message) : base(message) => Kind = kind;

    [Id(0)]
    public int Kind { get; private set; }

    public VectorStoreException ToStoreException() => new((VectorStoreErrorKind)Kind, Message, this);
}
