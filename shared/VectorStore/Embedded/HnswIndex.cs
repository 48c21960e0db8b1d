namespace Platform.VectorStore.Embedded;

/// <summary>
/// A standalone HNSW index over one vector space, numbered by insertion order: what the collections use inside,
/// exposed for benchmarks and for callers who manage ids and persistence themselves. One writer, many readers.
/// </summary>
public sealed unsafe class HnswIndex : IDisposable
{
    private readonly VectorSpace _space;
    private int _count;

    public HnswIndex(int dimension, Distance distance, int m = 16, int efConstruction = 200)
    {
        var parameters = new VectorParams(dimension, distance);
        new CollectionSchema(new Dictionary<string, VectorParams> { ["v"] = parameters }).Validate();
        _space = new VectorSpace("v", parameters, m, efConstruction);
    }

    public int Count => Volatile.Read(ref _count);

    /// <summary>Bytes held: vectors plus links.</summary>
    public long MemoryBytes => _space.Bytes;

    /// <summary>Adds a vector; returns its number. Writer only.</summary>
    public int Add(ReadOnlySpan<float> vector)
    {
        var prepared = _space.Prepare(vector, $"vector {_count}");
        var node = _count;
        _space.Write(node, prepared);
        _space.Index(node);
        Volatile.Write(ref _count, node + 1);
        return node;
    }

    /// <summary>The approximate <paramref name="k"/> nearest, closest first, with the interface's scores.</summary>
    public int Search(ReadOnlySpan<float> query, int k, int ef, Span<int> ids, Span<float> scores) =>
        Search(query, k, ef, ids, scores, out _);

    /// <summary>As above; <paramref name="distances"/> counts the distance evaluations on the bottom layer.</summary>
    public int Search(ReadOnlySpan<float> query, int k, int ef, Span<int> ids, Span<float> scores, out int distances)
    {
        var q = _space.Prepare(query, "query");
        Span<Neighbor> found = k <= 256 ? stackalloc Neighbor[k] : new Neighbor[k];
        int n;
        fixed (float* p = q)
            n = _space.Graph.Search(p, k, ef, new AllowAll(), found, out distances);
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
