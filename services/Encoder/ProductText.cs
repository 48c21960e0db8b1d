using Platform.Contracts;

namespace Platform.Encoder;

/// <summary>The text of a product that the text tower encodes.</summary>
public static class ProductText
{
    /// <summary>Title first (it survives truncation to the context length), then category and description.</summary>
    public static string Of(ProductInfo product)
    {
        var parts = new List<string>(3) { product.Title };
        if (!string.IsNullOrWhiteSpace(product.Category))
            parts.Add(product.Category);
        if (!string.IsNullOrWhiteSpace(product.Description))
            parts.Add(product.Description);
        return string.Join(". ", parts);
    }
}
