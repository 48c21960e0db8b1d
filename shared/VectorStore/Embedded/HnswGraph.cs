using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Platform.VectorStore.Embedded;

/// <summary>Which nodes a search may return (all nodes may still be walked through).</summary>
internal interface INodeFilter
{
    bool Allows(int node);
}

/// <summary>Every node.</summary>
internal readonly struct AllowAll : INodeFilter
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Allows(int node) => true;
}

/// <summary>How the graph measures distance internally (lower is closer).</summary>
internal enum GraphMetric
{
    /// <summary>Squared Euclidean distance.</summary>
    L2,

    /// <summary>Negated dot product (cosine on normalised vectors).</summary>
    InnerProduct,
}

/// <summary>
/// A hierarchical navigable small-world graph (Malkov and Yashunin) over vectors held in a <see cref="NativeSlab"/>,
/// indexed by node number. One writer inserts while any number of readers search: links are plain ints written in
/// place, so a reader may see a neighbour list half-updated, which only ever holds valid node numbers (a benign
/// race that at worst costs a hop); the entry point is published last.
/// </summary>
internal sealed unsafe class HnswGraph : IDisposable
{
    private const int MaxLevel = 16;

    private readonly NativeSlab _vectors;
    private readonly NativeSlab _links0;
    private readonly int _dim;
    private readonly bool _innerProduct;
    private readonly int _m;
    private readonly int _m0;
    private readonly int _efConstruction;
    private readonly double _levelMultiplier;
    private readonly ConcurrentBag<Scratch> _scratch = [];
    private readonly Scratch _writerScratch;
    private Random _random;
    private int[]?[] _upper = new int[]?[1024];
    private long _upperBytes;
    private EntryPoint? _entry;
    private Sq8State? _sq8;

    private sealed record EntryPoint(int Node, int Level);

    /// <summary>Int8 codes of the vectors (see <see cref="ScalarQuantizer"/>), owned by the vector space.</summary>
    private sealed record Sq8State(ScalarQuantizer Quantizer, NativeSlab Codes, bool BuildOnCodes);

    /// <summary>The distance from one query to any node, specialised per kind so the hot loops stay direct calls.</summary>
    private interface IQuery
    {
        float To(int node);
        void Prefetch(int node);
    }

    /// <summary>Exact distances on the float vectors.</summary>
    private readonly struct FloatQuery(HnswGraph graph, float* q) : IQuery
    {
        private readonly float* _q = q;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float To(int node) => graph.Distance(_q, graph.Vector(node));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Prefetch(int node) => VectorMath.Prefetch(graph.Vector(node), graph._dim);
    }

    /// <summary>Asymmetric distances from a prepared float query to the int8 codes.</summary>
    private readonly struct CodeQuery(NativeSlab codes, float* prepared, float* scale, float bias, bool innerProduct, int dim) : IQuery
    {
        private readonly float* _q = prepared;
        private readonly float* _scale = scale;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float To(int node) => innerProduct
            ? -(bias + VectorMath.DotSq8(_q, codes[node], dim))
            : VectorMath.L2SquaredSq8(_q, codes[node], _scale, dim);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Prefetch(int node) => VectorMath.Prefetch(codes[node], Math.Min(dim, CodePrefetchBytes));
    }

    /// <summary>
    /// Symmetric integer distances: the query is encoded too and compared code to code, s²·Σ (a − b)² (pmaddwd). Exact
    /// L2 between the decoded vectors when the quantiser has one scale for every dimension (the offsets cancel); for
    /// cosine the L2 order of unit vectors is the similarity order, and the rescoring restores exact scores.
    /// </summary>
    private readonly struct SymmetricCodeQuery(NativeSlab codes, byte* query, float scaleSquared, int dim) : IQuery
    {
        private readonly byte* _q = query;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float To(int node) => scaleSquared * VectorMath.L2SquaredU8(_q, codes[node], dim);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Prefetch(int node) => VectorMath.Prefetch(codes[node], Math.Min(dim, CodePrefetchBytes));
    }

    /// <summary>
    /// Bytes of a code row requested ahead. Code walks request every unvisited neighbour's row before computing any
    /// distance (on the 100k × 512 benchmark whole 512-byte rows in a batch beat 256 bytes one neighbour ahead by
    /// ~15%; the same batching measured slower for float rows, so the float walk keeps one-ahead).
    /// </summary>
    private const int CodePrefetchBytes = 512;

    public HnswGraph(NativeSlab vectors, int dimension, GraphMetric metric, int m, int efConstruction, int seed = 42)
    {
        if (m < 2 || m > 256)
            throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"HNSW M must be 2..256, got {m}");
        if (efConstruction < 1)
            throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"HNSW ef_construction must be at least 1, got {efConstruction}");
        _vectors = vectors;
        _dim = dimension;
        _innerProduct = metric == GraphMetric.InnerProduct;
        _m = m;
        _m0 = 2 * m;
        _efConstruction = efConstruction;
        _levelMultiplier = 1 / Math.Log(m);
        _random = new Random(seed);
        _links0 = new NativeSlab((1 + _m0) * sizeof(int));
        _writerScratch = new Scratch(0);
    }

    public int M => _m;
    public int EfConstruction => _efConstruction;

    /// <summary>Native and managed bytes the links take (the vectors are counted by their slab).</summary>
    public long LinkBytes => _links0.Bytes + Interlocked.Read(ref _upperBytes) + (long)_upper.Length * IntPtr.Size;

    /// <summary>True once the graph has int8 codes to walk on.</summary>
    public bool IsQuantized => Volatile.Read(ref _sq8) is not null;

    /// <summary>
    /// Walks on <paramref name="codes"/> from now on (searches through <see cref="SearchQuantized{TFilter}"/>; inserts
    /// too when <paramref name="buildOnCodes"/>). Every node already inserted must have its codes written. Writer only.
    /// </summary>
    public void UseCodes(ScalarQuantizer quantizer, NativeSlab codes, bool buildOnCodes) =>
        Volatile.Write(ref _sq8, new Sq8State(quantizer, codes, buildOnCodes));

    /// <summary>True once at least one node is in the graph.</summary>
    public bool IsEmpty => Volatile.Read(ref _entry) is null;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private float* Vector(int node) => (float*)_vectors[node];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Distance(float* a, float* b) =>
        _innerProduct ? -VectorMath.Dot(a, b, _dim) : VectorMath.L2Squared(a, b, _dim);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Span<int> Links(int node, int level, out int count)
    {
        if (level == 0)
        {
            var p = (int*)_links0[node];
            count = Volatile.Read(ref p[0]);
            return new Span<int>(p + 1, _m0);
        }
        var upper = Volatile.Read(ref _upper)[node]!;
        var offset = (level - 1) * (1 + _m);
        count = Volatile.Read(ref upper[offset]);
        return upper.AsSpan(offset + 1, _m);
    }

    private void SetCount(int node, int level, int count)
    {
        if (level == 0)
            Volatile.Write(ref ((int*)_links0[node])[0], count);
        else
            Volatile.Write(ref _upper[node]![(level - 1) * (1 + _m)], count);
    }

    /// <summary>Adds a node whose vector is already in the slab. Writer only.</summary>
    public void Insert(int node)
    {
        _links0.EnsureCapacity(node + 1);
        var level = RandomLevel();
        EnsureUpperCapacity(node + 1);
        if (level > 0)
        {
            _upper[node] = new int[level * (1 + _m)];
            Interlocked.Add(ref _upperBytes, level * (1 + _m) * sizeof(int) + 24);
        }

        var entry = _entry;
        if (entry is null)
        {
            Volatile.Write(ref _entry, new EntryPoint(node, level));
            return;
        }

        var scratch = _writerScratch;
        scratch.EnsureVisited(_vectors.Capacity);
        var v = Vector(node);
        var sq8 = _sq8;
        if (sq8 is { BuildOnCodes: true })
        {
            fixed (float* prepared = scratch.Query(_dim))
            {
                sq8.Quantizer.PrepareQuery(v, prepared, _innerProduct, out var bias);
                Link(node, level, entry, new CodeQuery(sq8.Codes, prepared, sq8.Quantizer.Scale, bias, _innerProduct, _dim), scratch);
            }
        }
        else
        {
            Link(node, level, entry, new FloatQuery(this, v), scratch);
        }

        if (level > entry.Level)
            Volatile.Write(ref _entry, new EntryPoint(node, level));
    }

    private void Link<TQuery>(int node, int level, EntryPoint entry, TQuery query, Scratch scratch)
        where TQuery : IQuery
    {
        var current = entry.Node;
        var currentDistance = query.To(current);
        for (var l = entry.Level; l > level; l--)
            current = Greedy(query, current, ref currentDistance, l);

        Span<Neighbor> candidates = scratch.Buffer(Math.Max(_efConstruction, _m0) + 1);
        Span<int> selected = stackalloc int[_m0];
        for (var l = Math.Min(level, entry.Level); l >= 0; l--)
        {
            var found = SearchLayer(query, current, currentDistance, _efConstruction, l, new AllowAll(), scratch, candidates);
            var chosen = SelectNeighbors(candidates[..found], _m, selected);
            var links = Links(node, l, out _);
            selected[..chosen].CopyTo(links);
            SetCount(node, l, chosen);
            for (var i = 0; i < chosen; i++)
                Connect(selected[i], node, l);
            current = candidates[0].Node;
            currentDistance = candidates[0].Distance;
        }
    }

    /// <summary>The <paramref name="k"/> nearest nodes the filter allows, closest first; returns how many were found.</summary>
    public int Search<TFilter>(float* query, int k, int ef, TFilter filter, Span<Neighbor> results)
        where TFilter : INodeFilter => Search(query, k, ef, filter, results, out _);

    /// <summary>As above; <paramref name="distances"/> counts the layer-0 distance evaluations (the search's work).</summary>
    public int Search<TFilter>(float* query, int k, int ef, TFilter filter, Span<Neighbor> results, out int distances)
        where TFilter : INodeFilter
    {
        distances = 0;
        var entry = Volatile.Read(ref _entry);
        if (entry is null)
            return 0;
        ef = Math.Max(ef, k);
        if (!_scratch.TryTake(out var scratch))
            scratch = new Scratch(ef);
        try
        {
            scratch.EnsureVisited(_vectors.Capacity);
            var q = new FloatQuery(this, query);
            var current = entry.Node;
            var currentDistance = q.To(current);
            for (var l = entry.Level; l > 0; l--)
                current = Greedy(q, current, ref currentDistance, l);
            var buffer = scratch.Buffer(ef);
            var found = SearchLayer(q, current, currentDistance, ef, 0, filter, scratch, buffer);
            distances = scratch.Distances;
            var n = Math.Min(found, k);
            buffer[..n].CopyTo(results);
            return n;
        }
        finally
        {
            _scratch.Add(scratch);
        }
    }

    /// <summary>
    /// Like <see cref="Search{TFilter}(float*, int, int, TFilter, Span{Neighbor}, out int)"/>, walking on the int8
    /// codes, then rescoring the best <paramref name="rescore"/> candidates (0: all ef; never fewer than k) with exact
    /// float distances. Falls back to the float walk when the graph has no codes. <paramref name="distances"/> counts
    /// the layer-0 code distances; <paramref name="rescored"/> the float ones.
    /// </summary>
    /// <param name="symmetric">Walk with <see cref="SymmetricCodeQuery"/> (integer code-to-code L2; only meaningful
    /// for L2 and cosine, and exact only with a single-scale quantiser) instead of asymmetric float-to-code distances.</param>
    public int SearchQuantized<TFilter>(float* query, int k, int ef, int rescore, bool symmetric, TFilter filter, Span<Neighbor> results,
        out int distances, out int rescored)
        where TFilter : INodeFilter
    {
        rescored = 0;
        var sq8 = Volatile.Read(ref _sq8);
        if (sq8 is null)
            return Search(query, k, ef, filter, results, out distances);
        distances = 0;
        var entry = Volatile.Read(ref _entry);
        if (entry is null)
            return 0;
        ef = Math.Max(ef, k);
        if (!_scratch.TryTake(out var scratch))
            scratch = new Scratch(ef);
        try
        {
            scratch.EnsureVisited(_vectors.Capacity);
            var buffer = scratch.Buffer(ef);
            int found;
            if (symmetric)
            {
                fixed (byte* encoded = scratch.Codes(sq8.Quantizer.RowBytes))
                {
                    sq8.Quantizer.Encode(query, encoded);
                    var scale = sq8.Quantizer.Scale[0];
                    found = Walk(new SymmetricCodeQuery(sq8.Codes, encoded, scale * scale, _dim), entry, ef, filter, scratch, buffer);
                }
            }
            else
            {
                fixed (float* prepared = scratch.Query(_dim))
                {
                    sq8.Quantizer.PrepareQuery(query, prepared, _innerProduct, out var bias);
                    found = Walk(new CodeQuery(sq8.Codes, prepared, sq8.Quantizer.Scale, bias, _innerProduct, _dim), entry, ef, filter, scratch, buffer);
                }
            }
            distances = scratch.Distances;

            // Rescore: the walk's order is approximate; exact float distances decide the final k.
            var r = rescore <= 0 ? found : Math.Min(found, Math.Max(rescore, k));
            var top = buffer[..r];
            for (var i = 0; i < Math.Min(r, RescorePrefetch); i++)
                VectorMath.Prefetch(Vector(top[i].Node), _dim);
            for (var i = 0; i < r; i++)
            {
                if (i + RescorePrefetch < r)
                    VectorMath.Prefetch(Vector(top[i + RescorePrefetch].Node), _dim);
                top[i] = new Neighbor(Distance(query, Vector(top[i].Node)), top[i].Node);
            }
            top.Sort(static (a, b) => a.Distance.CompareTo(b.Distance));
            rescored = r;
            var n = Math.Min(r, k);
            top[..n].CopyTo(results);
            return n;
        }
        finally
        {
            _scratch.Add(scratch);
        }
    }

    /// <summary>Greedy descent through the upper layers, then best-first search of layer 0.</summary>
    private int Walk<TQuery, TFilter>(TQuery q, EntryPoint entry, int ef, TFilter filter, Scratch scratch, Span<Neighbor> buffer)
        where TQuery : IQuery
        where TFilter : INodeFilter
    {
        var current = entry.Node;
        var currentDistance = q.To(current);
        for (var l = entry.Level; l > 0; l--)
            current = Greedy(q, current, ref currentDistance, l);
        return SearchLayer(q, current, currentDistance, ef, 0, filter, scratch, buffer);
    }

    /// <summary>How many rows ahead the rescoring prefetches.</summary>
    private const int RescorePrefetch = 4;

    private int Greedy<TQuery>(TQuery query, int current, ref float currentDistance, int level)
        where TQuery : IQuery
    {
        var changed = true;
        while (changed)
        {
            changed = false;
            var links = Links(current, level, out var count);
            for (var i = 0; i < count; i++)
            {
                var candidate = links[i];
                var d = query.To(candidate);
                if (d < currentDistance)
                {
                    currentDistance = d;
                    current = candidate;
                    changed = true;
                }
            }
        }
        return current;
    }

    /// <summary>Best-first search of one layer; writes up to <paramref name="ef"/> allowed nodes, closest first, to <paramref name="output"/>.</summary>
    private int SearchLayer<TQuery, TFilter>(TQuery q, int start, float startDistance, int ef, int level, TFilter filter, Scratch scratch, Span<Neighbor> output)
        where TQuery : IQuery
        where TFilter : INodeFilter
    {
        var visited = scratch.Visited;
        var tag = scratch.NextTag();
        var evaluated = 0;
        var candidates = scratch.Candidates;
        var results = scratch.Results;
        candidates.Clear();
        results.Clear();

        visited[start] = tag;
        candidates.Push(startDistance, start);
        if (filter.Allows(start))
            results.Push(startDistance, start);
        var bound = results.Count > 0 ? startDistance : float.MaxValue;

        Span<int> fresh = stackalloc int[_m0];
        while (candidates.Count > 0)
        {
            var closest = candidates.Top;
            if (closest.Distance > bound && results.Count >= ef)
                break;
            candidates.Pop();
            var links = Links(closest.Node, level, out var count);
            if (typeof(TQuery) == typeof(CodeQuery) || typeof(TQuery) == typeof(SymmetricCodeQuery))
            {
                // Unvisited neighbours first, all their rows requested at once, then the distances.
                var m = 0;
                for (var i = 0; i < count; i++)
                {
                    var neighbor = links[i];
                    if ((uint)neighbor >= (uint)visited.Length || visited[neighbor] == tag)
                        continue;
                    visited[neighbor] = tag;
                    fresh[m++] = neighbor;
                    q.Prefetch(neighbor);
                }
                for (var i = 0; i < m; i++)
                {
                    var neighbor = fresh[i];
                    var d = q.To(neighbor);
                    evaluated++;
                    if (results.Count < ef || d < bound)
                    {
                        candidates.Push(d, neighbor);
                        if (filter.Allows(neighbor))
                        {
                            if (results.Count < ef)
                                results.Push(d, neighbor);
                            else
                                results.ReplaceTop(d, neighbor);
                            bound = results.Top.Distance;
                        }
                    }
                }
                continue;
            }
            // The neighbour handling below repeats the loop above on purpose: moving it into one method (even
            // marked for inlining) measured 30% fewer queries per second on the 100k benchmark.
            if (count > 0)
                q.Prefetch(links[0]);
            for (var i = 0; i < count; i++)
            {
                var neighbor = links[i];
                if (i + 1 < count)
                    q.Prefetch(links[i + 1]);
                if ((uint)neighbor >= (uint)visited.Length || visited[neighbor] == tag)
                    continue;
                visited[neighbor] = tag;
                var d = q.To(neighbor);
                evaluated++;
                if (results.Count < ef || d < bound)
                {
                    candidates.Push(d, neighbor);
                    if (filter.Allows(neighbor))
                    {
                        if (results.Count < ef)
                            results.Push(d, neighbor);
                        else
                            results.ReplaceTop(d, neighbor);
                        bound = results.Top.Distance;
                    }
                }
            }
        }
        scratch.Distances = evaluated;
        return results.DrainSorted(output);
    }

    /// <summary>
    /// The heuristic of the HNSW paper: take candidates closest first, keeping one only if it is closer to the new node
    /// than to every neighbour already kept, which spreads links across directions. Candidates are sorted.
    /// </summary>
    private int SelectNeighbors(ReadOnlySpan<Neighbor> sorted, int max, Span<int> selected)
    {
        if (sorted.Length <= max)
        {
            for (var i = 0; i < sorted.Length; i++)
                selected[i] = sorted[i].Node;
            return sorted.Length;
        }
        var kept = 0;
        foreach (var candidate in sorted)
        {
            if (kept >= max)
                break;
            var v = Vector(candidate.Node);
            var good = true;
            for (var j = 0; j < kept; j++)
            {
                if (Distance(v, Vector(selected[j])) < candidate.Distance)
                {
                    good = false;
                    break;
                }
            }
            if (good)
                selected[kept++] = candidate.Node;
        }
        return kept;
    }

    /// <summary>Adds <paramref name="node"/> to <paramref name="target"/>'s links, re-selecting them when full.</summary>
    private void Connect(int target, int node, int level)
    {
        var capacity = level == 0 ? _m0 : _m;
        var links = Links(target, level, out var count);
        if (count < capacity)
        {
            links[count] = node;
            SetCount(target, level, count + 1);
            return;
        }
        var t = Vector(target);
        Span<Neighbor> pool = stackalloc Neighbor[capacity + 1];
        for (var i = 0; i < count; i++)
            pool[i] = new Neighbor(Distance(t, Vector(links[i])), links[i]);
        pool[count] = new Neighbor(Distance(t, Vector(node)), node);
        pool.Sort(static (a, b) => a.Distance.CompareTo(b.Distance));
        Span<int> selected = stackalloc int[capacity];
        var kept = SelectNeighbors(pool, capacity, selected);
        // Ids first, then the count: a concurrent reader sees valid node numbers either way.
        selected[..kept].CopyTo(links);
        SetCount(target, level, kept);
    }

    private int RandomLevel()
    {
        var r = _random.NextDouble();
        return Math.Min(MaxLevel, (int)(-Math.Log(1 - r) * _levelMultiplier));
    }

    private void EnsureUpperCapacity(int count)
    {
        var upper = _upper;
        if (count <= upper.Length)
            return;
        var grown = new int[]?[Math.Max(count, upper.Length * 2)];
        upper.CopyTo(grown, 0);
        Volatile.Write(ref _upper, grown);
    }

    // ---- persistence: links only; the vectors are saved by their owner ----

    public void WriteTo(BinaryWriter writer, int nodeCount)
    {
        var entry = _entry;
        writer.Write(_m);
        writer.Write(entry?.Node ?? -1);
        writer.Write(entry?.Level ?? -1);
        writer.Write(nodeCount);
        var stride = _links0.StrideBytes;
        for (var node = 0; node < nodeCount; node++)
        {
            if (node < _links0.Capacity)
                writer.Write(new ReadOnlySpan<byte>(_links0[node], stride));
            else
                writer.Write(new byte[stride]);
            var upper = node < _upper.Length ? _upper[node] : null;
            writer.Write(upper?.Length ?? 0);
            if (upper is not null)
            {
                foreach (var x in upper)
                    writer.Write(x);
            }
        }
    }

    public void ReadFrom(BinaryReader reader)
    {
        var m = reader.ReadInt32();
        if (m != _m)
            throw new InvalidDataException($"the saved graph has M {m}; this one was made with M {_m}");
        var entryNode = reader.ReadInt32();
        var entryLevel = reader.ReadInt32();
        var nodeCount = reader.ReadInt32();
        _links0.EnsureCapacity(nodeCount);
        EnsureUpperCapacity(nodeCount);
        var stride = _links0.StrideBytes;
        for (var node = 0; node < nodeCount; node++)
        {
            reader.BaseStream.ReadExactly(new Span<byte>(_links0[node], stride));
            var length = reader.ReadInt32();
            if (length > 0)
            {
                var upper = new int[length];
                for (var i = 0; i < length; i++)
                    upper[i] = reader.ReadInt32();
                _upper[node] = upper;
                _upperBytes += length * sizeof(int) + 24;
            }
        }
        _random = new Random(nodeCount ^ 0x5eed);
        Volatile.Write(ref _entry, entryNode < 0 ? null : new EntryPoint(entryNode, entryLevel));
    }

    public void Dispose() => _links0.Dispose();

    /// <summary>Per-search working memory, pooled.</summary>
    private sealed class Scratch(int ef)
    {
        private ushort _tag;
        private Neighbor[] _buffer = new Neighbor[Math.Max(ef, 16)];

        public ushort[] Visited { get; private set; } = [];

        /// <summary>Distance evaluations of the last layer search.</summary>
        public int Distances { get; set; }
        public NeighborHeap Candidates { get; } = new(farthestOnTop: false, Math.Max(ef, 16) * 4);
        public NeighborHeap Results { get; } = new(farthestOnTop: true, Math.Max(ef, 16) + 1);

        public void EnsureVisited(int capacity)
        {
            if (Visited.Length < capacity)
            {
                Visited = new ushort[capacity];
                _tag = 0;
            }
        }

        public ushort NextTag()
        {
            if (++_tag == 0)
            {
                Array.Clear(Visited);
                _tag = 1;
            }
            return _tag;
        }

        private float[] _query = [];
        private byte[] _codes = [];

        /// <summary>Room for an encoded query of <paramref name="bytes"/> bytes.</summary>
        public byte[] Codes(int bytes)
        {
            if (_codes.Length < bytes)
                _codes = new byte[bytes];
            return _codes;
        }

        /// <summary>Room for a prepared query of <paramref name="dim"/> floats.</summary>
        public float[] Query(int dim)
        {
            if (_query.Length < dim)
                _query = new float[dim];
            return _query;
        }

        public Span<Neighbor> Buffer(int ef)
        {
            if (_buffer.Length < ef)
                _buffer = new Neighbor[ef];
            return _buffer;
        }
    }
}
