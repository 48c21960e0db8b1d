namespace Platform.VectorStore;

/// <summary>
/// A vector store: named collections of points, each point an id, one vector per named space (for example
/// <c>image</c> and <c>text</c>) and a JSON payload. Every service goes through this interface and is indifferent
/// to the engine behind it: the embedded engine (<see cref="Embedded.EmbeddedVectorStore"/>) or Qdrant over gRPC
/// (<see cref="Qdrant.QdrantVectorStore"/>, through Qdrant.Client).
/// </summary>
/// <remarks>
/// <para>Errors: a request the store cannot carry out throws <see cref="VectorStoreException"/> whose
/// <see cref="VectorStoreException.Kind"/> says why and whose message says what is wrong (a wrong dimension, a NaN
/// component, an unknown collection or named vector). A rejected write changes nothing: a batch is validated as a
/// whole before any of it is stored.</para>
/// <para>Durability: when a write's task completes, the write survives a crash or a <c>kill -9</c> of the process.</para>
/// <para>Scores: <see cref="Distance.Cosine"/> gives the cosine similarity and <see cref="Distance.Dot"/> the dot
/// product (higher is closer); <see cref="Distance.Euclid"/> gives the Euclidean distance (lower is closer). Results
/// are always ordered closest first, and a score threshold keeps hits at least that close.</para>
/// </remarks>
public interface IVectorStore
{
    /// <summary>Creates a collection. If it exists with the same schema this does nothing; with a different schema it throws (<see cref="VectorStoreErrorKind.Conflict"/>).</summary>
    ValueTask CreateCollectionAsync(string collection, CollectionSchema schema, CancellationToken cancellationToken = default);

    /// <summary>The collection's schema, or null when there is no such collection.</summary>
    ValueTask<CollectionSchema?> GetCollectionAsync(string collection, CancellationToken cancellationToken = default);

    ValueTask<IReadOnlyList<string>> ListCollectionsAsync(CancellationToken cancellationToken = default);

    /// <summary>Deletes a collection and everything in it; false when there was none.</summary>
    ValueTask<bool> DeleteCollectionAsync(string collection, CancellationToken cancellationToken = default);

    /// <summary>
    /// Inserts or replaces points by id. A point may carry any subset of the collection's named vectors, dense and sparse (at least one);
    /// a replaced point loses the vectors and payload it had. Cosine vectors must not be all zeros.
    /// </summary>
    ValueTask UpsertAsync(string collection, IReadOnlyList<VectorPoint> points, CancellationToken cancellationToken = default);

    /// <summary>Deletes the points with these ids; ids that are not there are ignored.</summary>
    ValueTask DeleteAsync(string collection, IReadOnlyList<string> ids, CancellationToken cancellationToken = default);

    /// <summary>Deletes every point the filter matches.</summary>
    ValueTask DeleteAsync(string collection, Filter filter, CancellationToken cancellationToken = default);

    /// <summary>The points with these ids, in the order asked, skipping ids that are not there.</summary>
    ValueTask<IReadOnlyList<VectorPoint>> GetAsync(string collection, IReadOnlyList<string> ids, bool withVectors = false, CancellationToken cancellationToken = default);

    /// <summary>How many points the collection holds, or how many the filter matches.</summary>
    ValueTask<long> CountAsync(string collection, Filter? filter = null, CancellationToken cancellationToken = default);

    /// <summary>One page of points in ascending id order (ordinal for the embedded engine; the backend's own order for Qdrant), from <see cref="ScrollRequest.Offset"/> on.</summary>
    ValueTask<ScrollPage> ScrollAsync(string collection, ScrollRequest request, CancellationToken cancellationToken = default);

    /// <summary>The points nearest to a query vector in one named space, closest first.</summary>
    ValueTask<IReadOnlyList<ScoredPoint>> SearchAsync(string collection, SearchRequest request, CancellationToken cancellationToken = default);

    /// <summary>Points like the positive examples and unlike the negative ones, closest first; example points themselves are never returned.</summary>
    ValueTask<IReadOnlyList<ScoredPoint>> RecommendAsync(string collection, RecommendRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// The points scoring highest against a sparse query in one named sparse space, highest first: the sum over the
    /// indices query and point share of query value × point value, each term weighted by its inverse document
    /// frequency when the space has <see cref="SparseVectorParams.Idf"/>. Points sharing no index with the query are
    /// not returned (an index shared only through a zero value does not count).
    /// </summary>
    ValueTask<IReadOnlyList<ScoredPoint>> SearchSparseAsync(string collection, SparseSearchRequest request, CancellationToken cancellationToken = default);
}

/// <summary>How closeness is measured in a named vector space.</summary>
public enum Distance
{
    /// <summary>Cosine similarity: vectors are normalised on the way in; higher is closer.</summary>
    Cosine,

    /// <summary>Dot product, vectors stored as given; higher is closer.</summary>
    Dot,

    /// <summary>Euclidean (L2) distance; lower is closer.</summary>
    Euclid,
}

/// <summary>One named vector space: its dimension and distance.</summary>
public sealed record VectorParams(int Size, Distance Distance);

/// <summary>
/// One named sparse vector space (term weights keyed by a term id, for lexical search). With <paramref name="Idf"/>
/// each term's contribution to a score is multiplied by its inverse document frequency over the collection,
/// <c>ln(1 + (N − n + 0.5) / (n + 0.5))</c> for N points of which n have the term (BM25's IDF, as Qdrant's
/// <c>idf</c> modifier computes it), so stored values can be term frequencies that never need rewriting.
/// </summary>
public sealed record SparseVectorParams(bool Idf = false);

/// <summary>
/// A sparse vector: distinct indices and their values, in any order (engines store them sorted by index, and return
/// them so). Entries whose value is zero are kept but never match: a point is a hit only through an index where both
/// it and the query have a non-zero value.
/// </summary>
public sealed record SparseVector(uint[] Indices, float[] Values)
{
    /// <summary>The most entries one sparse vector may have.</summary>
    public const int MaxEntries = 65536;

    /// <summary>Throws (<see cref="VectorStoreErrorKind.BadRequest"/>, naming <paramref name="what"/>) unless the vector is well-formed: arrays of one length, at most <see cref="MaxEntries"/>, distinct indices, finite values.</summary>
    public void Validate(string what)
    {
        if (Indices is null || Values is null)
            throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"{what}: a sparse vector needs both indices and values");
        if (Indices.Length != Values.Length)
            throw new VectorStoreException(VectorStoreErrorKind.BadRequest,
                $"{what}: a sparse vector has {Indices.Length} indices but {Values.Length} values");
        if (Indices.Length > MaxEntries)
            throw new VectorStoreException(VectorStoreErrorKind.BadRequest,
                $"{what}: a sparse vector has at most {MaxEntries} entries, got {Indices.Length}");
        for (var i = 0; i < Values.Length; i++)
        {
            if (!float.IsFinite(Values[i]))
                throw new VectorStoreException(VectorStoreErrorKind.BadRequest,
                    $"{what}: the value of index {Indices[i]} is {(float.IsNaN(Values[i]) ? "NaN" : "infinite")}; sparse values must be finite");
        }
        if (Indices.Length > 1)
        {
            var sorted = (uint[])Indices.Clone();
            Array.Sort(sorted);
            for (var i = 1; i < sorted.Length; i++)
            {
                if (sorted[i] == sorted[i - 1])
                    throw new VectorStoreException(VectorStoreErrorKind.BadRequest,
                        $"{what}: index {sorted[i]} appears more than once; sparse indices must be distinct");
            }
        }
    }
}

/// <summary>The named vector spaces of a collection: dense ones, and sparse ones (<see cref="SparseVectors"/>).</summary>
public sealed record CollectionSchema(IReadOnlyDictionary<string, VectorParams> Vectors)
{
    /// <summary>The named sparse vector spaces; names are shared with <see cref="Vectors"/> and must not repeat.</summary>
    public IReadOnlyDictionary<string, SparseVectorParams> SparseVectors { get; init; } = new Dictionary<string, SparseVectorParams>();

    public VectorParams this[string vector] => Vectors.TryGetValue(vector, out var p)
        ? p
        : throw new VectorStoreException(VectorStoreErrorKind.BadRequest,
            $"unknown named vector '{vector}'; this collection has {string.Join(", ", Vectors.Keys.Order(StringComparer.Ordinal).Select(k => $"'{k}'"))}");

    /// <summary>
    /// Throws when the schema itself is unusable: no vectors at all (dense or sparse), a bad name, a name used for both
    /// a dense and a sparse space, a dimension out of range.
    /// </summary>
    public void Validate()
    {
        if (Vectors is null)
            throw new VectorStoreException(VectorStoreErrorKind.BadRequest, "a collection schema needs its dense vectors (an empty map when it has only sparse ones)");
        if (SparseVectors is null)
            throw new VectorStoreException(VectorStoreErrorKind.BadRequest, "a collection schema's sparse vectors must not be null (an empty map when it has none)");
        if (Vectors.Count == 0 && SparseVectors.Count == 0)
            throw new VectorStoreException(VectorStoreErrorKind.BadRequest, "a collection needs at least one named vector, dense or sparse");
        foreach (var (name, p) in Vectors)
        {
            if (!Names.IsValid(name))
                throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"named vector '{name}': {Names.Rule}");
            if (p is null)
                throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"named vector '{name}' has no parameters");
            if (p.Size is < 1 or > MaxDimension)
                throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"named vector '{name}': size must be 1..{MaxDimension}, got {p.Size}");
            if (!Enum.IsDefined(p.Distance))
                throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"named vector '{name}': unknown distance {p.Distance}");
        }
        foreach (var (name, p) in SparseVectors)
        {
            if (!Names.IsValid(name))
                throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"sparse vector '{name}': {Names.Rule}");
            if (p is null)
                throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"sparse vector '{name}' has no parameters");
            // One namespace for both kinds: a point's vectors and a query name a space without saying which kind it is in Qdrant.
            if (Vectors.ContainsKey(name))
                throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"'{name}' is named both as a dense and as a sparse vector; names must not repeat");
        }
    }

    /// <summary>Same vector names, sizes and distances, and the same sparse vector names and modifiers.</summary>
    public bool SameAs(CollectionSchema other) =>
        Vectors.Count == other.Vectors.Count
        && Vectors.All(kv => other.Vectors.TryGetValue(kv.Key, out var p) && p == kv.Value)
        && SparseVectors.Count == other.SparseVectors.Count
        && SparseVectors.All(kv => other.SparseVectors.TryGetValue(kv.Key, out var p) && p == kv.Value);

    public const int MaxDimension = 65536;
}

/// <summary>
/// A point: an id (1..256 characters), one vector per named space it has, and a payload that is a JSON object
/// (<c>"{}"</c> when there is none). Returned points carry vectors only when they were asked for.
/// </summary>
public sealed record VectorPoint(string Id, IReadOnlyDictionary<string, float[]> Vectors, string Payload = "{}")
{
    /// <summary>
    /// The point's sparse vectors, by named sparse space; a point needs at least one dense or sparse vector. Returned
    /// points carry them (a map, empty when the point has none) only when vectors were asked for.
    /// </summary>
    public IReadOnlyDictionary<string, SparseVector>? Sparse { get; init; }
}

/// <summary>A hit: its id, score (see <see cref="IVectorStore"/> for what scores mean), and payload and vectors when asked for.</summary>
public sealed record ScoredPoint(string Id, float Score, string? Payload = null, IReadOnlyDictionary<string, float[]>? Vectors = null);

/// <summary>A nearest-neighbour search in one named vector space.</summary>
/// <param name="Vector">Which named vector to search.</param>
/// <param name="Query">The query vector; its length must equal the named vector's size.</param>
/// <param name="Limit">How many hits at most (1..10000).</param>
public sealed record SearchRequest(string Vector, ReadOnlyMemory<float> Query, int Limit)
{
    /// <summary>Only points the filter matches.</summary>
    public Filter? Filter { get; init; }

    /// <summary>Only hits at least this close: score ≥ threshold for cosine and dot, distance ≤ threshold for Euclid.</summary>
    public float? ScoreThreshold { get; init; }

    /// <summary>Skip this many of the best hits first (paging).</summary>
    public int Offset { get; init; }

    public bool WithPayload { get; init; } = true;
    public bool WithVectors { get; init; }

    /// <summary>Search breadth for approximate (HNSW) search; the engine's default when null. Larger is slower and more accurate.</summary>
    public int? Ef { get; init; }

    /// <summary>Exact search (full scan) instead of the approximate index.</summary>
    public bool Exact { get; init; }
}

/// <summary>A search in one named sparse vector space (see <see cref="IVectorStore.SearchSparseAsync"/>).</summary>
/// <param name="Limit">How many hits at most (1..10000).</param>
public sealed record SparseSearchRequest(string Vector, SparseVector Query, int Limit)
{
    public Filter? Filter { get; init; }

    /// <summary>Only hits scoring at least this much.</summary>
    public float? ScoreThreshold { get; init; }

    /// <summary>Skip this many of the best hits first (paging).</summary>
    public int Offset { get; init; }

    public bool WithPayload { get; init; } = true;
}

/// <summary>How a recommendation combines its examples.</summary>
public enum RecommendStrategy
{
    /// <summary>
    /// Search with one vector: the mean of the positives, moved away from the mean of the negatives
    /// (<c>2·mean(pos) − mean(neg)</c> when there are negatives). Needs at least one positive.
    /// </summary>
    AverageVector,

    /// <summary>
    /// Score each candidate against every example: if it is closer to its best positive than to its best negative
    /// it scores σ(that positive similarity), in (0, 1); otherwise −σ(its best negative similarity), in (−1, 0), where
    /// σ(x) = ½(x / (1 + |x|) + 1), the "fast sigmoid" Qdrant uses. So every candidate nearer a positive ranks above
    /// every candidate nearer a negative. Works with
    /// negatives only too. Similarity is the cosine or dot product, or for Euclid the negated distance; scores are
    /// higher-is-better for every distance, and the score threshold keeps hits scoring at least that much.
    /// </summary>
    BestScore,
}

/// <summary>A recommendation example: an existing point's id, or a raw vector. Exactly one of the two.</summary>
public sealed record RecommendExample
{
    public string? Id { get; init; }
    public float[]? Vector { get; init; }

    public static RecommendExample Point(string id) => new() { Id = id };
    public static RecommendExample Of(float[] vector) => new() { Vector = vector };

    public static implicit operator RecommendExample(string id) => Point(id);
}

/// <summary>Recommendation by example in one named vector space.</summary>
public sealed record RecommendRequest(string Vector, int Limit)
{
    public IReadOnlyList<RecommendExample> Positive { get; init; } = [];
    public IReadOnlyList<RecommendExample> Negative { get; init; } = [];
    public RecommendStrategy Strategy { get; init; } = RecommendStrategy.AverageVector;
    public Filter? Filter { get; init; }
    public float? ScoreThreshold { get; init; }
    public bool WithPayload { get; init; } = true;
    public bool WithVectors { get; init; }
    public int? Ef { get; init; }
}

/// <summary>One page of a scroll.</summary>
/// <param name="Limit">Points per page (1..10000).</param>
public sealed record ScrollRequest(int Limit = 100)
{
    /// <summary>The id to start from (inclusive): the previous page's <see cref="ScrollPage.NextOffset"/>.</summary>
    public string? Offset { get; init; }

    public Filter? Filter { get; init; }
    public bool WithPayload { get; init; } = true;
    public bool WithVectors { get; init; }
}

/// <summary>A page of points and where the next page starts (null at the end).</summary>
public sealed record ScrollPage(IReadOnlyList<VectorPoint> Points, string? NextOffset);

/// <summary>Why a request failed.</summary>
public enum VectorStoreErrorKind
{
    /// <summary>The request is malformed: wrong dimension, NaN, unknown named vector, bad filter or id.</summary>
    BadRequest,

    /// <summary>The collection (or an example point) does not exist.</summary>
    NotFound,

    /// <summary>The collection exists with a different schema.</summary>
    Conflict,

    /// <summary>The backend cannot be reached or failed; the request may be retried.</summary>
    Unavailable,
}

/// <summary>A request the store cannot carry out: the message says what is wrong.</summary>
public sealed class VectorStoreException(VectorStoreErrorKind kind, string message, Exception? inner = null) : Exception(message, inner)
{
    public VectorStoreErrorKind Kind { get; } = kind;
}

/// <summary>Limits every engine enforces, so a request that one refuses the other refuses too.</summary>
public static class Limits
{
    /// <summary>Point ids are 1..this many characters.</summary>
    public const int MaxIdLength = 256;

    /// <summary>Search, recommend and scroll return at most this many points per call.</summary>
    public const int MaxLimit = 10_000;
}

/// <summary>The rule for collection and vector names.</summary>
public static class Names
{
    public const string Rule = "names are 1..64 characters of letters, digits, '_' and '-'";

    public static bool IsValid(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');
}
