namespace Platform.Contracts;

/// <summary>What a merchant says about a product, apart from its image.</summary>
public sealed record ProductInfo(
    string Id,
    string Title,
    string? Description = null,
    string? Category = null,
    decimal? Price = null,
    IReadOnlyDictionary<string, string>? Attributes = null);

/// <summary>Where a product is on its way from ingest to search.</summary>
public enum ProductStatus
{
    Pending,
    Indexed,
    Failed,
}
