using Platform.Contracts.Grains;
using Platform.VectorStore;

namespace Platform.Search;

/// <summary>A <see cref="ProductFilter"/> as a condition on the products' payloads in the vector store.</summary>
public static class ProductFilters
{
    public const string PriceField = "product.price";

    public static string AttributeField(string key) => $"product.attributes.{key}";

    /// <summary>The store filter for <paramref name="filter"/> (null or empty: none), with <paramref name="exclude"/>d ids added.</summary>
    public static Filter? ToStoreFilter(ProductFilter? filter, IReadOnlyCollection<string>? exclude = null)
    {
        var must = new List<Condition>();
        if (filter is not null)
        {
            if (filter.Category is { } categories)
                must.Add(new MatchAny(ProductIndex.CategoryField, categories));
            if (filter.Subcategory is { } subcategories)
                must.Add(new MatchAny(AttributeField(ProductFilter.SubcategoryAttribute), subcategories));
            if (filter.MinPrice is not null || filter.MaxPrice is not null)
                must.Add(new VectorStore.Range(PriceField, Gte: (double?)filter.MinPrice, Lte: (double?)filter.MaxPrice));
            foreach (var (key, values) in filter.Attributes ?? new Dictionary<string, IReadOnlyList<string>>())
                must.Add(new MatchAny(AttributeField(key), values));
        }
        var mustNot = exclude is { Count: > 0 } ? new Condition[] { new HasId([.. exclude]) } : [];
        return must.Count == 0 && mustNot.Length == 0 ? null : new Filter { Must = must, MustNot = mustNot };
    }
}
