namespace Platform.Contracts.Grains;

/// <summary>
/// Which products a search or recommendation may return, the same for every endpoint: each given condition holds
/// (a list means any of its values). Category and attribute values match exactly; the subcategory is the product's
/// <c>subcategory</c> attribute; the price bounds are inclusive, and a product without a price fails a price bound.
/// </summary>
[GenerateSerializer, Immutable, Alias("platform.ProductFilter")]
public sealed record ProductFilter
{
    [Id(0)] public IReadOnlyList<string>? Category { get; init; }
    [Id(1)] public IReadOnlyList<string>? Subcategory { get; init; }
    [Id(2)] public decimal? MinPrice { get; init; }
    [Id(3)] public decimal? MaxPrice { get; init; }
    [Id(4)] public IReadOnlyDictionary<string, IReadOnlyList<string>>? Attributes { get; init; }

    /// <summary>The attribute that holds a product's subcategory.</summary>
    public const string SubcategoryAttribute = "subcategory";

    public bool IsEmpty => Category is null && Subcategory is null && MinPrice is null && MaxPrice is null && (Attributes is null || Attributes.Count == 0);

    /// <summary>Whether <paramref name="product"/> passes, decided from its fields (as the store decides from its payload).</summary>
    public bool Matches(ProductInfo product)
    {
        if (Category is not null && (product.Category is null || !Category.Contains(product.Category, StringComparer.Ordinal)))
            return false;
        if (Subcategory is not null && !HasAttribute(product, SubcategoryAttribute, Subcategory))
            return false;
        if (MinPrice is { } min && (product.Price is not { } low || low < min))
            return false;
        if (MaxPrice is { } max && (product.Price is not { } high || high > max))
            return false;
        return Attributes is null || Attributes.All(a => HasAttribute(product, a.Key, a.Value));
    }

    private static bool HasAttribute(ProductInfo product, string key, IReadOnlyList<string> values) =>
        product.Attributes is not null && product.Attributes.TryGetValue(key, out var value) && values.Contains(value, StringComparer.Ordinal);
}
