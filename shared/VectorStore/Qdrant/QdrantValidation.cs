using System.Globalization;
using System.Text.Json;

namespace Platform.VectorStore.Qdrant;

/// <summary>
/// Checks requests before anything is sent, so a bad request fails the same way whichever engine is behind
/// <see cref="IVectorStore"/> and a rejected batch never reaches the server in part.
/// </summary>
internal static class QdrantValidation
{
    public const int MaxIdLength = Limits.MaxIdLength;
    public const int MaxLimit = Limits.MaxLimit;

    // Deep enough for any real filter; bounds recursion on a hostile one.
    private const int MaxFilterDepth = 64;

    public static VectorStoreException Bad(string message) => new(VectorStoreErrorKind.BadRequest, message);

    public static void CollectionName(string collection)
    {
        if (!Names.IsValid(collection))
            throw Bad($"collection name '{collection}' is not valid: {Names.Rule}");
    }

    public static void Id(string? id, string what = "id")
    {
        if (string.IsNullOrEmpty(id))
            throw Bad($"{what} must not be empty");
        if (id.Length > MaxIdLength)
            throw Bad($"{what} '{id[..32]}…' is {id.Length} characters; ids are 1..{MaxIdLength} characters");
        if (!QdrantPointId.IsMappable(id))
            throw Bad($"{what} '{id}' is not valid Unicode (it holds a lone surrogate)");
    }

    public static void Ids(IReadOnlyList<string> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        for (var i = 0; i < ids.Count; i++)
            Id(ids[i], $"ids[{i}]");
    }

    public static void Limit(int limit, string what = "limit")
    {
        if (limit is < 1 or > MaxLimit)
            throw Bad($"{what} must be 1..{MaxLimit}, got {limit}");
    }

    public static void ScoreThreshold(float? threshold)
    {
        if (threshold is { } t && !float.IsFinite(t))
            throw Bad($"score threshold must be a finite number, got {t.ToString(CultureInfo.InvariantCulture)}");
    }

    public static void Ef(int? ef)
    {
        if (ef is < 1)
            throw Bad($"ef must be at least 1, got {ef}");
    }

    /// <summary>The named vector's parameters; throws when the name is unknown or the vector does not fit them.</summary>
    public static VectorParams Vector(CollectionSchema schema, string? name, ReadOnlySpan<float> vector, string context)
    {
        VectorParams p;
        try
        {
            p = schema[name ?? throw Bad($"{context}: the named vector is missing")];
        }
        catch (VectorStoreException e)
        {
            throw Bad($"{context}: {e.Message}");
        }
        if (vector.Length != p.Size)
            throw Bad($"{context}: named vector '{name}' has dimension {p.Size}, got {vector.Length} components");
        var allZero = true;
        for (var i = 0; i < vector.Length; i++)
        {
            var x = vector[i];
            if (!float.IsFinite(x))
                throw Bad($"{context}: named vector '{name}' component {i} is {x.ToString(CultureInfo.InvariantCulture)}; components must be finite");
            allZero &= x == 0f;
        }
        if (allZero && p.Distance == Distance.Cosine)
            throw Bad($"{context}: named vector '{name}' is all zeros, which has no direction for cosine distance");
        return p;
    }

    /// <summary>Parses a point's payload: a JSON object without the reserved id key. The caller disposes the result.</summary>
    public static JsonDocument Payload(string? payload, string context)
    {
        if (payload is null)
            throw Bad($"{context}: payload must be a JSON object, got null");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(payload);
        }
        catch (JsonException e)
        {
            throw Bad($"{context}: payload is not valid JSON: {e.Message}");
        }
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            var kind = doc.RootElement.ValueKind;
            doc.Dispose();
            throw Bad($"{context}: payload must be a JSON object, got {kind.ToString().ToLowerInvariant()}");
        }
        if (doc.RootElement.TryGetProperty(QdrantVectorStore.IdPayloadKey, out _))
        {
            doc.Dispose();
            throw Bad($"{context}: payload key '{QdrantVectorStore.IdPayloadKey}' is reserved (the Qdrant backend keeps the point's id there)");
        }
        return doc;
    }

    public static void Filter(Filter? filter)
    {
        if (filter is not null)
            Condition(filter, 0);
    }

    private static void Condition(Condition? condition, int depth)
    {
        switch (condition)
        {
            case null:
                throw Bad("filter: a condition is null");
            case Filter f:
                if (depth > MaxFilterDepth)
                    throw Bad($"filter: nested more than {MaxFilterDepth} levels deep");
                Clause(f.Must, "must", depth);
                Clause(f.Should, "should", depth);
                Clause(f.MustNot, "must_not", depth);
                break;
            case MatchKeyword m:
                Key(m.Key);
                if (m.Value is null)
                    throw Bad($"filter: match on '{m.Key}' has a null value");
                break;
            case MatchInteger m:
                Key(m.Key);
                break;
            case MatchBool m:
                Key(m.Key);
                break;
            case MatchAny m:
                Key(m.Key);
                if (m.Values is null || m.Values.Any(v => v is null))
                    throw Bad($"filter: match-any on '{m.Key}' needs a list of non-null strings");
                break;
            case Range r:
                Key(r.Key);
                if (r.Gt is null && r.Gte is null && r.Lt is null && r.Lte is null)
                    throw Bad($"filter: range on '{r.Key}' needs at least one bound");
                foreach (var bound in (double?[])[r.Gt, r.Gte, r.Lt, r.Lte])
                {
                    if (bound is { } b && !double.IsFinite(b))
                        throw Bad($"filter: range on '{r.Key}' has a bound of {b.ToString(CultureInfo.InvariantCulture)}; bounds must be finite");
                }
                break;
            case HasId h:
                if (h.Ids is null)
                    throw Bad("filter: has-id needs a list of ids");
                for (var i = 0; i < h.Ids.Count; i++)
                    Id(h.Ids[i], $"filter: has-id ids[{i}]");
                break;
            default:
                throw Bad($"filter: condition {condition.GetType().Name} is not supported");
        }
    }

    private static void Clause(IReadOnlyList<Condition>? conditions, string name, int depth)
    {
        if (conditions is null)
            throw Bad($"filter: '{name}' is null");
        foreach (var c in conditions)
            Condition(c, depth + 1);
    }

    private static void Key(string? key)
    {
        if (string.IsNullOrEmpty(key))
            throw Bad("filter: a condition's key must not be empty");
    }
}
