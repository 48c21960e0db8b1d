using System.Numerics.Tensors;

namespace Platform.VectorStore.Embedded;

/// <summary>
/// One named vector space of a collection: the vectors by slot in native memory, and the HNSW graph over them.
/// Cosine vectors are stored normalised, so cosine is a dot product. Internally distances are "lower is closer"
/// (negated dot, or squared L2); <see cref="ToScore"/> turns them into the interface's scores.
/// </summary>
internal sealed unsafe class VectorSpace : IDisposable
{
    private readonly NativeSlab _vectors;
    private ScalarQuantizer? _quantizer;
    private NativeSlab? _codes;

    public VectorSpace(string name, VectorParams parameters, int m, int efConstruction)
    {
        Name = name;
        Parameters = parameters;
        Dimension = parameters.Size;
        // Rows padded to whole cache lines keep every vector 64-byte aligned.
        _vectors = new NativeSlab((parameters.Size * sizeof(float) + 63) & ~63);
        Graph = new HnswGraph(_vectors, parameters.Size,
            parameters.Distance == VectorStore.Distance.Euclid ? GraphMetric.L2 : GraphMetric.InnerProduct, m, efConstruction);
    }

    public string Name { get; }
    public VectorParams Parameters { get; }
    public int Dimension { get; }
    public HnswGraph Graph { get; }

    public long Bytes => _vectors.Bytes + CodeBytes + Graph.LinkBytes;

    /// <summary>Bytes of the float vectors alone.</summary>
    public long VectorBytes => _vectors.Bytes;

    /// <summary>Bytes of the int8 codes (0 without quantisation).</summary>
    public long CodeBytes => _codes?.Bytes ?? 0;

    public ScalarQuantizer? Quantizer => _quantizer;

    /// <summary>
    /// Adds int8 codes beside the floats: encodes slots 0..<paramref name="count"/>-1 with <paramref name="quantizer"/>
    /// (which this space then owns), encodes every later write, and lets the graph walk on them. Writer only.
    /// </summary>
    public void Quantize(ScalarQuantizer quantizer, int count, bool buildOnCodes)
    {
        if (_quantizer is not null)
            throw new InvalidOperationException("this vector space is already quantised");
        var codes = new NativeSlab(quantizer.RowBytes);
        codes.EnsureCapacity(Math.Max(count, 1));
        for (var slot = 0; slot < count; slot++)
            quantizer.Encode(this[slot], codes[slot]);
        _quantizer = quantizer;
        _codes = codes;
        Graph.UseCodes(quantizer, codes, buildOnCodes);
    }

    public float* this[int slot] => (float*)_vectors[slot];

    public ReadOnlySpan<float> Get(int slot) => new(_vectors[slot], Dimension);

    /// <summary>Copies a (validated, already normalised where needed) vector into a slot. Writer only.</summary>
    public void Write(int slot, ReadOnlySpan<float> vector)
    {
        _vectors.EnsureCapacity(slot + 1);
        vector.CopyTo(new Span<float>(_vectors[slot], Dimension));
        if (_codes is not null)
        {
            _codes.EnsureCapacity(slot + 1);
            _quantizer!.Encode(this[slot], _codes[slot]);
        }
    }

    /// <summary>Links a written slot into the graph. Writer only.</summary>
    public void Index(int slot) => Graph.Insert(slot);

    public float Distance(float* a, float* b) => Graph.Distance(a, b);

    /// <summary>The interface's score for an internal distance: similarity for cosine and dot, distance for Euclid.</summary>
    public float ToScore(float distance) => Parameters.Distance == VectorStore.Distance.Euclid ? MathF.Sqrt(Math.Max(distance, 0)) : -distance;

    /// <summary>The internal distance bound for a score threshold.</summary>
    public float ToDistance(float score) => Parameters.Distance == VectorStore.Distance.Euclid ? score * score : -score;

    /// <summary>Checks a vector for this space and returns it as it will be stored (normalised for cosine).</summary>
    public float[] Prepare(ReadOnlySpan<float> vector, string what)
    {
        if (vector.Length != Dimension)
            throw new VectorStoreException(VectorStoreErrorKind.BadRequest,
                $"{what} has {vector.Length} dimensions; vector '{Name}' expects {Dimension}");
        for (var i = 0; i < vector.Length; i++)
        {
            if (!float.IsFinite(vector[i]))
                throw new VectorStoreException(VectorStoreErrorKind.BadRequest,
                    $"{what} has a {(float.IsNaN(vector[i]) ? "NaN" : "infinite")} component at index {i}");
        }
        var result = vector.ToArray();
        if (Parameters.Distance == VectorStore.Distance.Cosine)
        {
            var norm = TensorPrimitives.Norm(vector);
            if (norm == 0)
                throw new VectorStoreException(VectorStoreErrorKind.BadRequest,
                    $"{what} is all zeros; cosine similarity is undefined for it");
            if (!float.IsFinite(norm))
                throw new VectorStoreException(VectorStoreErrorKind.BadRequest,
                    $"{what} has components too large to normalise (its length overflows a float)");
            TensorPrimitives.Divide(result, norm, result);
        }
        return result;
    }

    public void Dispose()
    {
        Graph.Dispose();
        _vectors.Dispose();
        _codes?.Dispose();
        _quantizer?.Dispose();
    }
}
