using System.Runtime.CompilerServices;
using System.Text.Json;
using Platform.Contracts;
using Platform.VectorStore;

namespace Platform.Search;

/// <summary>What the vector store keeps beside a product's vectors.</summary>
public sealed record ProductPayload(ProductInfo Product, string ContentHash, string Model);

/// <summary>
/// The searchable catalog: product vectors and payloads in one collection of the vector store, plus the lexical
/// index built over the same payloads. The one place that writes both, so they never disagree. The collection is
/// created on first use with the model's dimension; if it exists with another schema (the model changed), it is
/// dropped and made again, and <see cref="Recreated"/> says so, so the products can be encoded again.
/// </summary>
public sealed class ProductIndex(IVectorStore store, LexicalIndex lexical, ProductIndex.Settings settings)
{
    public const string ImageVector = "image";
    public const string TextVector = "text";

    /// <summary>The collection and the embedding dimension of the model in use.</summary>
    public sealed record Settings(int Dimension, string Collection = "products");

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly SemaphoreSlim _ensure = new(1, 1);
    private volatile bool _ready;

    public IVectorStore Store => store;

    public string Collection => settings.Collection;

    public LexicalIndex Lexical => lexical;

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
            var schema = new CollectionSchema(new Dictionary<string, VectorParams> { [ImageVector] = vectors, [TextVector] = vectors });
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
        var payload = new ProductPayload(embedded.Product, embedded.ContentHash, embedded.Model);
        var vectors = new Dictionary<string, float[]>
        {
            [ImageVector] = embedded.ImageEmbedding,
            [TextVector] = embedded.TextEmbedding,
        };
        await store.UpsertAsync(settings.Collection, [new VectorPoint(embedded.Product.Id, vectors, JsonSerializer.Serialize(payload, Json))], cancellationToken);
        AddToLexical(payload.Product);
    }

    /// <summary>The <paramref name="limit"/> products nearest to <paramref name="query"/> in one vector space, with payloads.</summary>
    public async ValueTask<IReadOnlyList<ScoredPoint>> SearchAsync(string vector, float[] query, int limit, Filter? filter = null, CancellationToken cancellationToken = default)
    {
        await EnsureCollectionAsync(cancellationToken);
        return await store.SearchAsync(settings.Collection, new SearchRequest(vector, query, limit) { Filter = filter }, cancellationToken);
    }

    /// <summary>Payloads by product id; ids not in the index are absent from the result.</summary>
    public async ValueTask<IReadOnlyDictionary<string, string>> GetPayloadsAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken = default)
    {
        await EnsureCollectionAsync(cancellationToken);
        var points = await store.GetAsync(settings.Collection, ids, withVectors: false, cancellationToken);
        return points.ToDictionary(p => p.Id, p => p.Payload, StringComparer.Ordinal);
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

    /// <summary>Rebuilds the lexical index from the store's payloads (on start-up); returns the ids the store holds.</summary>
    public async Task<IReadOnlySet<string>> RebuildLexicalAsync(CancellationToken cancellationToken = default)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var (id, payload) in ScrollAsync(cancellationToken))
        {
            AddToLexical(payload.Product);
            ids.Add(id);
        }
        return ids;
    }

    public static ProductPayload ReadPayload(string json) =>
        JsonSerializer.Deserialize<ProductPayload>(json, Json) ?? throw new InvalidDataException("empty product payload");

    /// <summary>
    /// Attributes named <c>title_xx</c> (for example <c>title_zh</c>) are the product's title in another language:
    /// they count as title text, for ranking and for the title-match signal.
    /// </summary>
    private void AddToLexical(ProductInfo product)
    {
        var titles = new List<string> { product.Title };
        var fields = new List<string?> { product.Category, product.Description };
        foreach (var (key, value) in product.Attributes ?? new Dictionary<string, string>())
        {
            if (key.StartsWith("title_", StringComparison.Ordinal))
                titles.Add(value);
            else
                fields.Add(value);
        }
        lexical.Upsert(product.Id, titles, fields);
    }
}
