using System.Text.Json;
using Platform.Contracts;
using Platform.VectorStore;

namespace Platform.Retrieval;

/// <summary>What the vector store keeps beside a product's vectors.</summary>
public sealed record ProductPayload(ProductInfo Product, string ContentHash, string Model);

/// <summary>
/// The searchable catalog: product vectors and payloads in the vector store, plus the lexical index built over
/// the same payloads. The one place that writes both, so they never disagree.
/// </summary>
public sealed class ProductIndex(IVectorStore store, LexicalIndex lexical)
{
    public const string ImageVector = "image";
    public const string TextVector = "text";

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public IVectorStore Store => store;

    public LexicalIndex Lexical => lexical;

    public async ValueTask UpsertAsync(ProductEmbedded embedded, CancellationToken cancellationToken = default)
    {
        var payload = new ProductPayload(embedded.Product, embedded.ContentHash, embedded.Model);
        var vectors = new Dictionary<string, float[]>
        {
            [ImageVector] = embedded.ImageEmbedding,
            [TextVector] = embedded.TextEmbedding,
        };
        await store.UpsertAsync([new VectorPoint(embedded.Product.Id, vectors, JsonSerializer.Serialize(payload, Json))], cancellationToken);
        AddToLexical(payload.Product);
    }

    /// <summary>Rebuilds the lexical index from the store's payloads (on start-up).</summary>
    public async Task RebuildLexicalAsync(CancellationToken cancellationToken = default)
    {
        await foreach (var point in store.ScrollAsync(cancellationToken))
            AddToLexical(ReadPayload(point.Payload).Product);
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
