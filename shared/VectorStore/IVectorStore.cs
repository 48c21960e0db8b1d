namespace Platform.VectorStore;

/// <summary>A point: an id, one vector per named space (for example <c>image</c> and <c>text</c>), and a JSON payload.</summary>
public sealed record VectorPoint(string Id, IReadOnlyDictionary<string, float[]> Vectors, string Payload);

/// <summary>A search hit: higher scores are closer (cosine similarity).</summary>
public sealed record ScoredPoint(string Id, float Score, string Payload);

/// <summary>The named vectors a store holds and their dimensions.</summary>
public sealed record VectorSchema(IReadOnlyDictionary<string, int> Dimensions)
{
    public int DimensionOf(string vector) => Dimensions.TryGetValue(vector, out var dim)
        ? dim
        : throw new VectorStoreException($"unknown named vector '{vector}'; this store has {string.Join(", ", Dimensions.Keys)}");
}

/// <summary>A vector store; every service goes through this, indifferent to which engine is behind it.</summary>
public interface IVectorStore
{
    VectorSchema Schema { get; }

    /// <summary>Inserts or replaces points by id. When the returned task completes the write is durable.</summary>
    ValueTask UpsertAsync(IReadOnlyList<VectorPoint> points, CancellationToken cancellationToken = default);

    /// <summary>Deletes a point; false when there was none.</summary>
    ValueTask<bool> DeleteAsync(string id, CancellationToken cancellationToken = default);

    ValueTask<VectorPoint?> GetAsync(string id, CancellationToken cancellationToken = default);

    ValueTask<long> CountAsync(CancellationToken cancellationToken = default);

    /// <summary>The <paramref name="k"/> points nearest to <paramref name="query"/> in the named vector space, best first.</summary>
    ValueTask<IReadOnlyList<ScoredPoint>> SearchAsync(string vector, ReadOnlyMemory<float> query, int k, CancellationToken cancellationToken = default);

    /// <summary>Every point, in no particular order.</summary>
    IAsyncEnumerable<VectorPoint> ScrollAsync(CancellationToken cancellationToken = default);
}

/// <summary>A request the store cannot carry out: the message says what is wrong.</summary>
public sealed class VectorStoreException(string message) : Exception(message);
