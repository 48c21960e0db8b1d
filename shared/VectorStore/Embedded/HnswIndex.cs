namespace Platform.VectorStore.Embedded;

/// <summary>
/// A standalone HNSW index over one vector space, numbered by insertion order: what the collections use inside,
/// exposed for benchmarks and for callers who manage ids and persistence themselves. One writer, many readers.
/// </summary>
public sealed unsafe class HnswIndex : IDisposable
{
    private readonly VectorSpace _space;
    private readonly ScalarQuantization? _quantization;
    private int _count;

    /// <param name="quantization">Optional int8 scalar quantisation (off by default): see <see cref="ScalarQuantization"/>.</param>
    public HnswIndex(int dimension, Distance distance, int m = 16, int efConstruction = 200, ScalarQuantization? quantization = null)
    {
        var parameters = new VectorParams(dimension, distance);
        new CollectionSchema(new Dictionary<string, VectorParams> { ["v"] = parameters }).Validate();
        if (quantization is { TrainingSize: < 0 } or { Rescore: < 0 } or { ClipFraction: < 0 or >= 0.5 })
            throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"bad quantisation options: {quantization}");
        _space = new VectorSpace("v", parameters, m, efConstruction);
        _quantization = quantization;
    }

    public int Count => Volatile.Read(ref _count);

    /// <summary>Bytes held: float vectors, int8 codes (if any) and links.</summary>
    public long MemoryBytes => _space.Bytes;

    /// <summary>Bytes of the float vectors alone (what could live on disk when the walk is on codes).</summary>
    public long VectorBytes => _space.VectorBytes;

    /// <summary>Bytes of the int8 codes (0 until quantised).</summary>
    public long CodeBytes => _space.CodeBytes;

    /// <summary>True once searches walk on int8 codes.</summary>
    public bool IsQuantized => _space.Graph.IsQuantized;

    /// <summary>
    /// Learns the int8 quantiser from <paramref name="sample"/> (vectors back to back, in the form they are added:
    /// cosine ones are normalised here) and encodes every vector already added. Needs quantisation enabled in the
    /// constructor; once only. Writer only.
    /// </summary>
    public void TrainQuantizer(ReadOnlySpan<float> sample)
    {
        if (_quantization is null)
            throw new InvalidOperationException("this index was made without quantisation");
        var dim = _space.Dimension;
        if (sample.Length == 0 || sample.Length % dim != 0)
            throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"the training sample must be whole {dim}-d vectors");
        var prepared = new float[sample.Length];
        for (var i = 0; i < sample.Length / dim; i++)
            _space.Prepare(sample.Slice(i * dim, dim), $"training vector {i}").CopyTo(prepared.AsSpan(i * dim));
        _space.Quantize(ScalarQuantizer.Train(prepared, dim, _quantization.ClipFraction, _quantization.Symmetric), Count, _quantization.BuildOnCodes);
    }

    /// <summary>Adds a vector; returns its number. Writer only.</summary>
    public int Add(ReadOnlySpan<float> vector)
    {
        var prepared = _space.Prepare(vector, $"vector {_count}");
        var node = _count;
        _space.Write(node, prepared);
        _space.Index(node);
        Volatile.Write(ref _count, node + 1);
        if (_quantization is { TrainingSize: > 0 } && node + 1 == _quantization.TrainingSize && !IsQuantized)
        {
            var dim = _space.Dimension;
            var sample = new float[(long)(node + 1) * dim];
            for (var i = 0; i <= node; i++)
                _space.Get(i).CopyTo(sample.AsSpan(i * dim, dim));
            _space.Quantize(ScalarQuantizer.Train(sample, dim, _quantization.ClipFraction, _quantization.Symmetric), node + 1, _quantization.BuildOnCodes);
        }
        return node;
    }

    /// <summary>The approximate <paramref name="k"/> nearest, closest first, with the interface's scores.</summary>
    public int Search(ReadOnlySpan<float> query, int k, int ef, Span<int> ids, Span<float> scores) =>
        Search(query, k, ef, ids, scores, out _);

    /// <summary>As above; <paramref name="distances"/> counts the distance evaluations on the bottom layer.</summary>
    public int Search(ReadOnlySpan<float> query, int k, int ef, Span<int> ids, Span<float> scores, out int distances) =>
        Search(query, k, ef, ids, scores, out distances, out _);

    /// <summary>
    /// As above; once quantised, <paramref name="distances"/> counts the int8 code distances and
    /// <paramref name="rescored"/> the exact float distances that reorder the best candidates (0 without quantisation).
    /// </summary>
    /// <param name="rescore">Overrides <see cref="ScalarQuantization.Rescore"/> for this search when 0 or more.</param>
    /// <param name="symmetric">Overrides <see cref="ScalarQuantization.Symmetric"/> for this search (null: the option).</param>
    public int Search(ReadOnlySpan<float> query, int k, int ef, Span<int> ids, Span<float> scores, out int distances, out int rescored,
        int rescore = -1, bool? symmetric = null)
    {
        var q = _space.Prepare(query, "query");
        Span<Neighbor> found = k <= 256 ? stackalloc Neighbor[k] : new Neighbor[k];
        int n;
        rescored = 0;
        fixed (float* p = q)
        {
            n = _quantization is null
                ? _space.Graph.Search(p, k, ef, new AllowAll(), found, out distances)
                : _space.Graph.SearchQuantized(p, k, ef, rescore >= 0 ? rescore : _quantization.Rescore,
                    (symmetric ?? _quantization.Symmetric) && _space.Parameters.Distance != Distance.Dot, new AllowAll(), found, out distances, out rescored);
        }
        for (var i = 0; i < n; i++)
        {
            ids[i] = found[i].Node;
            scores[i] = _space.ToScore(found[i].Distance);
        }
        return n;
    }

    /// <summary>The exact <paramref name="k"/> nearest by a full scan, closest first.</summary>
    public int SearchExact(ReadOnlySpan<float> query, int k, Span<int> ids, Span<float> scores)
    {
        var q = _space.Prepare(query, "query");
        var heap = new NeighborHeap(farthestOnTop: true, k + 1);
        var count = Count;
        fixed (float* p = q)
        {
            for (var node = 0; node < count; node++)
            {
                var d = _space.Distance(p, _space[node]);
                if (heap.Count < k)
                    heap.Push(d, node);
                else if (d < heap.Top.Distance)
                    heap.ReplaceTop(d, node);
            }
        }
        Span<Neighbor> sorted = new Neighbor[heap.Count];
        var n = heap.DrainSorted(sorted);
        for (var i = 0; i < n; i++)
        {
            ids[i] = sorted[i].Node;
            scores[i] = _space.ToScore(sorted[i].Distance);
        }
        return n;
    }

    public void Dispose() => _space.Dispose();
}
