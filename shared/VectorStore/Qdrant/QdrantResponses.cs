using System.Globalization;
using Google.Protobuf.Collections;
using G = Qdrant.Client.Grpc;

namespace Platform.VectorStore.Qdrant;

/// <summary>Reads Qdrant's gRPC answers into our types: schemas, points, hits. Pure functions, like <see cref="QdrantRequests"/>.</summary>
public static class QdrantResponses
{
    /// <summary>
    /// A collection's schema from its info: the named dense map (or the single unnamed vector under ""), and the
    /// sparse spaces with their IDF modifier. Spaces our interface cannot express (multi-vectors, Manhattan distance)
    /// are refused with a message saying so.
    /// </summary>
    public static CollectionSchema Schema(string collection, G.CollectionInfo info)
    {
        var config = info.Config?.Params
            ?? throw new FormatException($"collection '{collection}': Qdrant's collection info has no config.params");
        var vectors = new Dictionary<string, VectorParams>(StringComparer.Ordinal);
        switch (config.VectorsConfig?.ConfigCase)
        {
            case G.VectorsConfig.ConfigOneofCase.Params:
                vectors[QdrantRequests.UnnamedVector] = VectorParamsOf(collection, QdrantRequests.UnnamedVector, config.VectorsConfig.Params);
                break;
            case G.VectorsConfig.ConfigOneofCase.ParamsMap:
                foreach (var (name, p) in config.VectorsConfig.ParamsMap.Map)
                    vectors[name] = VectorParamsOf(collection, name, p);
                break;
            // None: a collection with sparse vectors only.
        }
        var sparse = new Dictionary<string, SparseVectorParams>(StringComparer.Ordinal);
        if (config.SparseVectorsConfig is { } sparseConfig)
        {
            foreach (var (name, p) in sparseConfig.Map)
                sparse[name] = new SparseVectorParams(Idf: p.HasModifier && p.Modifier == G.Modifier.Idf);
        }
        return new CollectionSchema(vectors) { SparseVectors = sparse };
    }

    private static VectorParams VectorParamsOf(string collection, string name, G.VectorParams p)
    {
        Distance distance = p.Distance switch
        {
            G.Distance.Cosine => Distance.Cosine,
            G.Distance.Dot => Distance.Dot,
            G.Distance.Euclid => Distance.Euclid,
            _ => throw Unsupported(collection, name, $"distance {p.Distance}"),
        };
        if (p.MultivectorConfig is not null)
            throw Unsupported(collection, name, "multi-vectors");
        if (p.Size > CollectionSchema.MaxDimension)
            throw Unsupported(collection, name, $"dimension {p.Size}");
        return new VectorParams((int)p.Size, distance);
    }

    private static VectorStoreException Unsupported(string collection, string name, string what) =>
        new(VectorStoreErrorKind.BadRequest,
            $"collection '{collection}': named vector '{name}' uses {what}, which this vector store interface does not support");

    /// <summary>Our id for a returned point: the id kept in its payload, else (a point we did not write) Qdrant's own.</summary>
    public static string IdOf(G.PointId id, MapField<string, G.Value> payload)
    {
        if (payload.TryGetValue(QdrantVectorStore.IdPayloadKey, out var pid) && pid.KindCase == G.Value.KindOneofCase.StringValue)
            return pid.StringValue;
        return QdrantId(id);
    }

    /// <summary>A Qdrant id as text: a UUID in canonical form, or an unsigned integer.</summary>
    public static string QdrantId(G.PointId id) => id.PointIdOptionsCase switch
    {
        G.PointId.PointIdOptionsOneofCase.Uuid when Guid.TryParse(id.Uuid, out var g) => g.ToString("D"),
        G.PointId.PointIdOptionsOneofCase.Uuid => id.Uuid,
        G.PointId.PointIdOptionsOneofCase.Num => id.Num.ToString(CultureInfo.InvariantCulture),
        _ => throw new FormatException("a returned point has no id"),
    };

    /// <summary>
    /// The dense vectors of a returned point by name: the named map, or the single unnamed vector under "". Sparse and
    /// multi-vectors are left out: <see cref="VectorPoint.Vectors"/> holds dense ones only (see <see cref="SparseVectors"/>).
    /// </summary>
    public static Dictionary<string, float[]> Vectors(G.VectorsOutput? output)
    {
        var vectors = new Dictionary<string, float[]>(StringComparer.Ordinal);
        switch (output?.VectorsOptionsCase)
        {
            case G.VectorsOutput.VectorsOptionsOneofCase.Vector:
                if (DenseOf(output.Vector) is { } single)
                    vectors[QdrantRequests.UnnamedVector] = single;
                break;
            case G.VectorsOutput.VectorsOptionsOneofCase.Vectors:
                foreach (var (name, v) in output.Vectors.Vectors)
                {
                    if (DenseOf(v) is { } dense)
                        vectors[name] = dense;
                }
                break;
        }
        return vectors;
    }

    /// <summary>The sparse vectors of a returned point by name; null when it has none.</summary>
    public static Dictionary<string, SparseVector>? SparseVectors(G.VectorsOutput? output)
    {
        if (output?.VectorsOptionsCase != G.VectorsOutput.VectorsOptionsOneofCase.Vectors)
            return null;
        Dictionary<string, SparseVector>? sparse = null;
        foreach (var (name, v) in output.Vectors.Vectors)
        {
            if (v.VectorCase == G.VectorOutput.VectorOneofCase.Sparse)
                (sparse ??= new(StringComparer.Ordinal))[name] = new SparseVector([.. v.Sparse.Indices], [.. v.Sparse.Values]);
#pragma warning disable CS0612, CS0618 // Qdrant servers before the dense/sparse oneof answer in the deprecated data + indices fields.
            else if (v.VectorCase == G.VectorOutput.VectorOneofCase.None && v.Indices is { Data.Count: > 0 } indices)
                (sparse ??= new(StringComparer.Ordinal))[name] = new SparseVector([.. indices.Data], [.. v.Data]);
#pragma warning restore CS0612, CS0618
        }
        return sparse;
    }

    private static float[]? DenseOf(G.VectorOutput v)
    {
        switch (v.VectorCase)
        {
            case G.VectorOutput.VectorOneofCase.Dense:
                return [.. v.Dense.Data];
            case G.VectorOutput.VectorOneofCase.None:
#pragma warning disable CS0612, CS0618 // see SparseVectors: older servers answer in the deprecated fields.
                if (v.Indices is { Data.Count: > 0 } || v.HasVectorsCount)
                    return null;
                return [.. v.Data];
#pragma warning restore CS0612, CS0618
            default:
                return null;
        }
    }

    /// <summary>A retrieved point as ours; vectors and payload only when they were asked for.</summary>
    public static VectorPoint Point(G.RetrievedPoint p, bool withPayload, bool withVectors) =>
        new(IdOf(p.Id, p.Payload),
            withVectors ? Vectors(p.Vectors) : new Dictionary<string, float[]>(StringComparer.Ordinal),
            withPayload ? QdrantPayload.ToJson(p.Payload) : "{}")
        {
            Sparse = withVectors ? SparseVectors(p.Vectors) : null,
        };

    public static List<ScoredPoint> Hits(RepeatedField<G.ScoredPoint> points, bool withPayload, bool withVectors)
    {
        var hits = new List<ScoredPoint>(points.Count);
        foreach (var p in points)
        {
            hits.Add(new ScoredPoint(
                IdOf(p.Id, p.Payload),
                p.Score,
                withPayload ? QdrantPayload.ToJson(p.Payload) : null,
                withVectors ? Vectors(p.Vectors) : null));
        }
        return hits;
    }
}
