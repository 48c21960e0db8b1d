using System.Security.Cryptography;
using System.Text.Json;
using Platform.Contracts;

namespace Platform.Catalog;

/// <summary>The identity of a product's content: what the catalog's status changes are guarded by.</summary>
public static class ContentHash
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>SHA-256 over the product's fields (attributes in ordinal order) and its image bytes, as lower-case hex.</summary>
    public static string Compute(ProductInfo product, ReadOnlySpan<byte> image)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var canonical = product with
        {
            Attributes = product.Attributes is null ? null : new SortedDictionary<string, string>(product.Attributes.ToDictionary(), StringComparer.Ordinal),
        };
        hash.AppendData(JsonSerializer.SerializeToUtf8Bytes(canonical, Json));
        hash.AppendData(image);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
