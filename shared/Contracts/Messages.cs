namespace Platform.Contracts;

// Commands are imperative, events past tense. Every message carries the product id and the content hash
// of what was ingested, so consumers can be idempotent and ignore stale work. No message carries image bytes:
// the catalog holds them, so the same contracts travel over a broker.

/// <summary>Encode this product's image (read from the catalog) and text, and hand the embeddings to the indexer.</summary>
public sealed record IngestProduct(ProductInfo Product, string ContentHash);

/// <summary>The encoder produced both embeddings of a product (L2-normalised, model's dimension).</summary>
public sealed record ProductEmbedded(ProductInfo Product, string ContentHash, string Model, float[] ImageEmbedding, float[] TextEmbedding);

/// <summary>A product could not be encoded; <paramref name="Reason"/> says why, in words a merchant can act on.</summary>
public sealed record ProductIngestFailed(string ProductId, string ContentHash, string Reason);

/// <summary>A product is in the vector store and searchable.</summary>
public sealed record ProductIndexed(string ProductId, string ContentHash);

/// <summary>A shopper's interaction is in the interaction log; for what aggregates across shoppers (popularity, co-occurrence).</summary>
public sealed record InteractionRecorded(Interaction Interaction);
