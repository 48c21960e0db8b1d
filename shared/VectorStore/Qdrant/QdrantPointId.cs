using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace Platform.VectorStore.Qdrant;

/// <summary>
/// Maps our string point ids onto the ids Qdrant accepts (unsigned integers or UUIDs): a name-based UUID, version 5
/// (RFC 9562 §5.5: SHA-1 over a fixed namespace and the UTF-8 bytes of the id), so the same id always names the same
/// Qdrant point from any process, with no lookup table.
/// </summary>
/// <remarks>The original id travels in the point's payload (<see cref="QdrantVectorStore.IdPayloadKey"/>), which is how
/// search and scroll results are mapped back. Changing <see cref="Namespace"/> would orphan every stored point.</remarks>
public static class QdrantPointId
{
    /// <summary>The namespace of our name-based UUIDs (random, fixed once).</summary>
    public static readonly Guid Namespace = new("3f0c2b9e-6a47-4d1e-9a55-1c8e0b7d2f61");

    // Throwing on lone surrogates keeps the mapping injective: a replacement character would merge distinct ids.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The Qdrant point id (lowercase hyphenated UUID) for one of our ids.</summary>
    /// <exception cref="ArgumentException">The id is not valid UTF-16 (a lone surrogate).</exception>
    public static string For(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        var byteCount = StrictUtf8.GetByteCount(id);
        var buffer = ArrayPool<byte>.Shared.Rent(16 + byteCount);
        try
        {
            // RFC 9562: the namespace in network byte order, then the name.
            if (!Namespace.TryWriteBytes(buffer.AsSpan(0, 16), bigEndian: true, out _))
                throw new InvalidOperationException("unreachable: a Guid is 16 bytes");
            StrictUtf8.GetBytes(id, buffer.AsSpan(16, byteCount));
            Span<byte> hash = stackalloc byte[SHA1.HashSizeInBytes];
            SHA1.HashData(buffer.AsSpan(0, 16 + byteCount), hash);
            hash[6] = (byte)((hash[6] & 0x0F) | 0x50); // version 5
            hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // RFC variant
            return new Guid(hash[..16], bigEndian: true).ToString("D");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>True when the id can be mapped (it holds no lone surrogate).</summary>
    public static bool IsMappable(string id)
    {
        try
        {
            StrictUtf8.GetByteCount(id);
            return true;
        }
        catch (EncoderFallbackException)
        {
            return false;
        }
    }
}
