using System.Runtime.CompilerServices;
using System.Text.Json;
using Platform.Contracts;
using Platform.VectorStore;

namespace Platform.Search;

/// <summary>An indexed product, with its image and text embeddings when they were asked for.</summary>
public sealed record IndexedProduct(ProductInfo Product, float[]? Image, float[]? Text);

/// <summary>What the vector store keeps beside a product's vectors.</summary>
public sealed record ProductPayload(ProductInfo Product, string ContentHash, string Model);

/// <summary>
/// The searchable catalog: one point per product in one collection of the vector store, holding its image and text
/// embeddings, its lexical terms as sparse vectors (<see cref="LexicalTerms"/>: BM25 and the title match) and its
/// payload, written together so they never disagree. Nothing is held in memory: every replica reading the store
/// serves lexical search at once, with no index to rebuild. The collection is created on first use with the
/// model's dimension; if it exists with another schema (the model changed, or the lexical spaces did), it is dropped
/// and made again, and <see cref="Recreated"/> says so, so the products can be encoded again.
/// </summary>
public sealed class ProductIndex(IVectorStore store, ProductIndex.Settings settings)
{
    public const string ImageVector = "image";
    public const string TextVector = "text";

    // The sparse spaces' names carry a version: a change to how their values are computed renames them, so an index
    // built the old way is found to have another schema and is rebuilt (see LexicalTerms). 2: stemming and segmentation.

    /// <summary>Sparse, with IDF: BM25's saturated term frequencies over the product's text.</summary>
    public const string LexicalVector = "lexical2";

    /// <summary>Sparse, without IDF: the title's terms, for the title-match signal.</summary>
    public const string TitleVector = "title2";

    /// <summary>Sparse, with IDF: character trigrams of the product's short fields, for typo tolerance.</summary>
    public const string FuzzyVector = "fuzzy1";

    /// <summary>The payload field of a product's category, for filters.</summary>
    public const string CategoryField = "product.category";

    /// <summary>The collection, the embedding dimension of the model in use, and BM25's average document length.</summary>
    public sealed record Settings(int Dimension, string Collection = "products")
    {
        public double LexicalAverageLength { get; init; } = LexicalTerms.AverageLength;
    }

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly SemaphoreSlim _ensure = new(1, 1);
    private volatile bool _ready;

    public IVectorStore Store => store;

    public string Collection => settings.Collection;

    /// <summary>True when start-up found the collection with another schema and replaced it (its vectors are gone).</summary>
    public bool Recreated { get; private set; }

    /// <summary>Creates the collection if needed; replaces it when its schema no longer matches the model.</summary>
    public async ValueTask EnsureCollectionAsync(CancellationToken cancellationToken = default)
    {
        if (_ready)
            return;
        await _ensure.WaitAsync(cancellationToken);
        try
        {
            if (_ready)
                return;
            var vectors = new VectorParams(settings.Dimension, Distance.Cosine);
            var schema = new CollectionSchema(new Dictionary<string, VectorParams> { [ImageVector] = vectors, [TextVector] = vectors })
            {
                SparseVectors = new Dictionary<string, SparseVectorParams> { [LexicalVector] = new(Idf: true), [TitleVector] = new(Idf: false), [FuzzyVector] = new(Idf: true) },
            };
            var existing = await store.GetCollectionAsync(settings.Collection, cancellationToken);
            if (existing is not null && !existing.SameAs(schema))
            {
                await store.DeleteCollectionAsync(settings.Collection, cancellationToken);
                Recreated = true;
            }
            await store.CreateCollectionAsync(settings.Collection, schema, cancellationToken);
            _ready = true;
        }
        finally
        {
            _ensure.Release();
        }
    }

    public async ValueTask UpsertAsync(ProductEmbedded embedded, CancellationToken cancellationToken = default)
    {
        await EnsureCollectionAsync(cancellationToken);
        await store.UpsertAsync(settings.Collection, [Point(embedded)], cancellationToken);
    }

    /// <summary>Many products in one write (a bulk load); the same points as one <see cref="UpsertAsync"/> each.</summary>
    public async ValueTask UpsertManyAsync(IReadOnlyList<ProductEmbedded> embedded, CancellationToken cancellationToken = default)
    {
        await EnsureCollectionAsync(cancellationToken);
        await store.UpsertAsync(settings.Collection, [.. embedded.Select(Point)], cancellationToken);
    }

    private VectorPoint Point(ProductEmbedded embedded)
    {
        var payload = new ProductPayload(embedded.Product, embedded.ContentHash, embedded.Model);
        var vectors = new Dictionary<string, float[]>
        {
            [ImageVector] = embedded.ImageEmbedding,
            [TextVector] = embedded.TextEmbedding,
        };
        var (lexical, title) = LexicalTerms.Of(embedded.Product, settings.LexicalAverageLength);
        var sparse = new Dictionary<string, SparseVector>();
        // A text without a single token (punctuation only) has no terms: the point then lacks that space.
        if (lexical.Indices.Length > 0)
            sparse[LexicalVector] = lexical;
        if (title.Indices.Length > 0)
            sparse[TitleVector] = title;
        if (LexicalTerms.Fuzzy(embedded.Product) is { Indices.Length: > 0 } fuzzy)
            sparse[FuzzyVector] = fuzzy;
        return new VectorPoint(embedded.Product.Id, vectors, JsonSerializer.Serialize(payload, Json)) { Sparse = sparse };
    }

    /// <summary>The best <paramref name="limit"/> products for <paramref name="query"/> by BM25, best first; only products sharing a term, with payloads.</summary>
    public ValueTask<IReadOnlyList<ScoredPoint>> SearchLexicalAsync(string query, int limit, Filter? filter = null, CancellationToken cancellationToken = default) =>
        SearchLexicalAsync(LexicalTerms.Query(query), limit, filter, cancellationToken);

    /// <summary>The best <paramref name="limit"/> products by BM25 for weighted query terms (see <see cref="LexicalTerms.Query(string, string, float, string?)"/>).</summary>
    public async ValueTask<IReadOnlyList<ScoredPoint>> SearchLexicalAsync(SparseVector terms, int limit, Filter? filter = null, CancellationToken cancellationToken = default)
    {
        await EnsureCollectionAsync(cancellationToken);
        if (terms.Indices.Length == 0)
            return [];
        return await store.SearchSparseAsync(settings.Collection, new SparseSearchRequest(LexicalVector, terms, limit) { Filter = filter }, cancellationToken);
    }

    /// <summary>
    /// Products whose title holds every word of <paramref name="query"/>, closest titles (fewest other words) first, with
    /// payloads: a shopper who types a product's name, or the words that set it apart, expects it at the top.
    /// </summary>
    public async ValueTask<IReadOnlyList<ScoredPoint>> TitleMatchesAsync(string query, int limit, Filter? filter = null, CancellationToken cancellationToken = default)
    {
        await EnsureCollectionAsync(cancellationToken);
        var terms = LexicalTerms.Query(query);
        if (terms.Indices.Length == 0)
            return [];
        var request = new SparseSearchRequest(TitleVector, terms, limit) { Filter = filter, ScoreThreshold = LexicalTerms.TitleMatchThreshold(terms) };
        return await store.SearchSparseAsync(settings.Collection, request, cancellationToken);
    }

    /// <summary>
    /// Products sharing character trigrams with the query's longer words, most (IDF-weighted) first, with payloads: what
    /// a misspelt query ("sneekers", "headphnes") still finds. Rare trigrams weigh most (IDF), so a product sharing
    /// only a common one ("ing") ranks far below one sharing the word's own.
    /// </summary>
    public async ValueTask<IReadOnlyList<ScoredPoint>> FuzzyMatchesAsync(string query, int limit, Filter? filter = null, CancellationToken cancellationToken = default)
    {
        await EnsureCollectionAsync(cancellationToken);
        var terms = LexicalTerms.FuzzyQuery(query);
        if (terms.Indices.Length == 0)
            return [];
        return await store.SearchSparseAsync(settings.Collection, new SparseSearchRequest(FuzzyVector, terms, limit) { Filter = filter }, cancellationToken);
    }

    /// <summary>The <paramref name="limit"/> products nearest to <paramref name="query"/> in one vector space, with payloads.</summary>
    public async ValueTask<IReadOnlyList<ScoredPoint>> SearchAsync(string vector, float[] query, int limit, Filter? filter = null, CancellationToken cancellationToken = default)
    {
        await EnsureCollectionAsync(cancellationToken);
        return await store.SearchAsync(settings.Collection, new SearchRequest(vector, query, limit) { Filter = filter }, cancellationToken);
    }

    /// <summary>A recommendation by examples (stored products or raw vectors) in this index's collection.</summary>
    public async ValueTask<IReadOnlyList<ScoredPoint>> RecommendAsync(RecommendRequest request, CancellationToken cancellationToken = default)
    {
        await EnsureCollectionAsync(cancellationToken);
        return await store.RecommendAsync(settings.Collection, request, cancellationToken);
    }

    /// <summary>Payloads by product id; ids not in the index are absent from the result.</summary>
    public async ValueTask<IReadOnlyDictionary<string, string>> GetPayloadsAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken = default)
    {
        await EnsureCollectionAsync(cancellationToken);
        var points = await store.GetAsync(settings.Collection, ids, withVectors: false, cancellationToken);
        return points.ToDictionary(p => p.Id, p => p.Payload, StringComparer.Ordinal);
    }

    /// <summary>Products by id with their embeddings (when <paramref name="withVectors"/>); ids not in the index are absent.</summary>
    public async ValueTask<IReadOnlyDictionary<string, IndexedProduct>> GetProductsAsync(IReadOnlyList<string> ids, bool withVectors,
        CancellationToken cancellationToken = default)
    {
        await EnsureCollectionAsync(cancellationToken);
        if (ids.Count == 0)
            return new Dictionary<string, IndexedProduct>();
        var points = await store.GetAsync(settings.Collection, ids, withVectors, cancellationToken);
        return points.ToDictionary(p => p.Id, p => new IndexedProduct(ReadPayload(p.Payload).Product,
            p.Vectors.GetValueOrDefault(ImageVector), p.Vectors.GetValueOrDefault(TextVector)), StringComparer.Ordinal);
    }

    public async ValueTask<long> CountAsync(CancellationToken cancellationToken = default)
    {
        await EnsureCollectionAsync(cancellationToken);
        return await store.CountAsync(settings.Collection, null, cancellationToken);
    }

    /// <summary>Every indexed product: id and payload, page by page.</summary>
    public async IAsyncEnumerable<(string Id, ProductPayload Payload)> ScrollAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await EnsureCollectionAsync(cancellationToken);
        string? offset = null;
        do
        {
            var page = await store.ScrollAsync(settings.Collection, new ScrollRequest(1000) { Offset = offset }, cancellationToken);
            foreach (var point in page.Points)
                yield return (point.Id, ReadPayload(point.Payload));
            offset = page.NextOffset;
        } while (offset is not null);
    }

    /// <summary>The ids of every indexed product (a scroll without payloads or vectors), for the start-up check.</summary>
    public async Task<IReadOnlySet<string>> StoredIdsAsync(CancellationToken cancellationToken = default)
    {
        await EnsureCollectionAsync(cancellationToken);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        string? offset = null;
        do
        {
            var page = await store.ScrollAsync(settings.Collection, new ScrollRequest(Limits.MaxLimit) { Offset = offset, WithPayload = false }, cancellationToken);
            foreach (var point in page.Points)
                ids.Add(point.Id);
            offset = page.NextOffset;
        } while (offset is not null);
        return ids;
    }

    public static ProductPayload ReadPayload(string json) =>
        JsonSerializer.Deserialize<ProductPayload>(json, Json) ?? throw new InvalidDataException("empty product payload");
}
