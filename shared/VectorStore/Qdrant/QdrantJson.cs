using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Platform.VectorStore.Qdrant;

/// <summary>Writes Qdrant request bodies and reads its responses (shapes from Qdrant's OpenAPI document, v1.19).</summary>
internal static class QdrantJson
{
    // Payload text keeps non-ASCII (Chinese titles) readable; these bodies are never embedded in HTML.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The vector name that stands for Qdrant's single unnamed vector (Qdrant's own name for it is "" too).</summary>
    public const string UnnamedVector = "";

    public static byte[] Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
            write(w);
        return buffer.WrittenSpan.ToArray();
    }

    public static string DistanceName(Distance d) => d switch
    {
        Distance.Cosine => "Cosine",
        Distance.Dot => "Dot",
        Distance.Euclid => "Euclid",
        _ => throw QdrantValidation.Bad($"unknown distance {d}"),
    };

    public static void Floats(Utf8JsonWriter w, ReadOnlySpan<float> values)
    {
        w.WriteStartArray();
        foreach (var x in values)
            w.WriteNumberValue(x);
        w.WriteEndArray();
    }

    /// <summary>A filter: must / should / must_not, each omitted when empty.</summary>
    public static void Filter(Utf8JsonWriter w, Filter f)
    {
        w.WriteStartObject();
        Clause(w, "must", f.Must);
        Clause(w, "should", f.Should);
        Clause(w, "must_not", f.MustNot);
        w.WriteEndObject();
    }

    /// <summary>The user's filter (when any) with the given point ids excluded.</summary>
    public static void FilterExcluding(Utf8JsonWriter w, Filter? filter, IReadOnlyCollection<string> excludedQdrantIds)
    {
        w.WriteStartObject();
        if (filter is { IsEmpty: false })
        {
            w.WriteStartArray("must");
            Filter(w, filter);
            w.WriteEndArray();
        }
        w.WriteStartArray("must_not");
        w.WriteStartObject();
        w.WriteStartArray("has_id");
        foreach (var id in excludedQdrantIds)
            w.WriteStringValue(id);
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void Clause(Utf8JsonWriter w, string name, IReadOnlyList<Condition> conditions)
    {
        if (conditions.Count == 0)
            return;
        w.WriteStartArray(name);
        foreach (var c in conditions)
            Condition(w, c);
        w.WriteEndArray();
    }

    private static void Condition(Utf8JsonWriter w, Condition condition)
    {
        switch (condition)
        {
            case Filter f:
                Filter(w, f);
                return;
            case HasId h:
                w.WriteStartObject();
                w.WriteStartArray("has_id");
                // Qdrant declares has_id's items unique.
                foreach (var id in h.Ids.Select(QdrantPointId.For).Distinct(StringComparer.Ordinal))
                    w.WriteStringValue(id);
                w.WriteEndArray();
                w.WriteEndObject();
                return;
        }

        w.WriteStartObject();
        switch (condition)
        {
            case MatchKeyword m:
                w.WriteString("key", m.Key);
                w.WriteStartObject("match");
                w.WriteString("value", m.Value);
                w.WriteEndObject();
                break;
            case MatchInteger m:
                w.WriteString("key", m.Key);
                w.WriteStartObject("match");
                w.WriteNumber("value", m.Value);
                w.WriteEndObject();
                break;
            case MatchBool m:
                w.WriteString("key", m.Key);
                w.WriteStartObject("match");
                w.WriteBoolean("value", m.Value);
                w.WriteEndObject();
                break;
            case MatchAny m:
                w.WriteString("key", m.Key);
                w.WriteStartObject("match");
                w.WriteStartArray("any");
                // Qdrant declares the values unique.
                foreach (var v in m.Values.Distinct(StringComparer.Ordinal))
                    w.WriteStringValue(v);
                w.WriteEndArray();
                w.WriteEndObject();
                break;
            case Range r:
                w.WriteString("key", r.Key);
                w.WriteStartObject("range");
                if (r.Gt is { } gt) w.WriteNumber("gt", gt);
                if (r.Gte is { } gte) w.WriteNumber("gte", gte);
                if (r.Lt is { } lt) w.WriteNumber("lt", lt);
                if (r.Lte is { } lte) w.WriteNumber("lte", lte);
                w.WriteEndObject();
                break;
            default:
                throw QdrantValidation.Bad($"filter: condition {condition.GetType().Name} is not supported");
        }
        w.WriteEndObject();
    }

    /// <summary>
    /// with_payload: everything when the caller wants the payload, else only the id key, which is how a hit's id is
    /// mapped back.
    /// </summary>
    public static void WithPayload(Utf8JsonWriter w, bool withPayload)
    {
        if (withPayload)
        {
            w.WriteBoolean("with_payload", true);
            return;
        }
        w.WriteStartArray("with_payload");
        w.WriteStringValue(QdrantVectorStore.IdPayloadKey);
        w.WriteEndArray();
    }

    // ---- reading ----

    /// <summary>Our id for a returned point: the id kept in its payload, else (a point we did not write) Qdrant's own.</summary>
    public static string PointId(JsonElement point)
    {
        if (point.TryGetProperty("payload", out var payload) && payload.ValueKind == JsonValueKind.Object
            && payload.TryGetProperty(QdrantVectorStore.IdPayloadKey, out var pid) && pid.ValueKind == JsonValueKind.String)
            return pid.GetString()!;
        return QdrantId(point.GetProperty("id"));
    }

    /// <summary>A Qdrant id as text: a UUID in canonical form, or an unsigned integer.</summary>
    public static string QdrantId(JsonElement id) => id.ValueKind switch
    {
        JsonValueKind.String when Guid.TryParse(id.GetString(), out var g) => g.ToString("D"),
        JsonValueKind.String => id.GetString()!,
        JsonValueKind.Number => id.GetUInt64().ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => throw new FormatException($"a point id is {id.ValueKind}"),
    };

    /// <summary>The point's payload as JSON text with the id key removed; "{}" when it has none.</summary>
    public static string Payload(JsonElement point)
    {
        if (!point.TryGetProperty("payload", out var payload) || payload.ValueKind != JsonValueKind.Object)
            return "{}";
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            foreach (var property in payload.EnumerateObject())
            {
                if (!property.NameEquals(QdrantVectorStore.IdPayloadKey))
                    property.WriteTo(w);
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// The point's dense vectors by name: the named map, or the single unnamed vector under "". Sparse and multi-vectors
    /// (which our collections never hold) are skipped.
    /// </summary>
    public static Dictionary<string, float[]> Vectors(JsonElement point)
    {
        var vectors = new Dictionary<string, float[]>(StringComparer.Ordinal);
        if (!point.TryGetProperty("vector", out var v))
            return vectors;
        switch (v.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var named in v.EnumerateObject())
                {
                    if (IsDense(named.Value))
                        vectors[named.Name] = ReadFloats(named.Value);
                }
                break;
            case JsonValueKind.Array when IsDense(v):
                vectors[UnnamedVector] = ReadFloats(v);
                break;
        }
        return vectors;
    }

    private static bool IsDense(JsonElement e) =>
        e.ValueKind == JsonValueKind.Array && (e.GetArrayLength() == 0 || e[0].ValueKind == JsonValueKind.Number);

    private static float[] ReadFloats(JsonElement array)
    {
        var result = new float[array.GetArrayLength()];
        var i = 0;
        foreach (var x in array.EnumerateArray())
            result[i++] = x.GetSingle();
        return result;
    }

    /// <summary>A collection schema from Qdrant's <c>config.params.vectors</c>: the named map, or the single unnamed form.</summary>
    public static CollectionSchema Schema(string collection, JsonElement vectorsConfig)
    {
        var vectors = new Dictionary<string, VectorParams>(StringComparer.Ordinal);
        if (vectorsConfig.ValueKind == JsonValueKind.Object && vectorsConfig.TryGetProperty("size", out _)
            && vectorsConfig.TryGetProperty("distance", out _))
        {
            vectors[UnnamedVector] = VectorParamsOf(collection, UnnamedVector, vectorsConfig);
        }
        else if (vectorsConfig.ValueKind == JsonValueKind.Object)
        {
            foreach (var named in vectorsConfig.EnumerateObject())
                vectors[named.Name] = VectorParamsOf(collection, named.Name, named.Value);
        }
        else
        {
            throw new FormatException($"config.params.vectors is {vectorsConfig.ValueKind}");
        }
        return new CollectionSchema(vectors);
    }

    private static VectorParams VectorParamsOf(string collection, string name, JsonElement p)
    {
        var distanceName = p.GetProperty("distance").GetString();
        Distance distance = distanceName switch
        {
            "Cosine" => Distance.Cosine,
            "Dot" => Distance.Dot,
            "Euclid" => Distance.Euclid,
            _ => throw Unsupported(collection, name, $"distance {distanceName}"),
        };
        if (p.TryGetProperty("multivector_config", out var multi) && multi.ValueKind != JsonValueKind.Null)
            throw Unsupported(collection, name, "multi-vectors");
        var size = p.GetProperty("size").GetUInt64();
        if (size > CollectionSchema.MaxDimension)
            throw Unsupported(collection, name, $"dimension {size}");
        return new VectorParams((int)size, distance);
    }

    private static VectorStoreException Unsupported(string collection, string name, string what) =>
        new(VectorStoreErrorKind.BadRequest,
            $"collection '{collection}': named vector '{name}' uses {what}, which this vector store interface does not support");
}
