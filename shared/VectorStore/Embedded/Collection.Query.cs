using System.Runtime.CompilerServices;

namespace Platform.VectorStore.Embedded;

internal sealed partial class Collection
{
    public IReadOnlyList<VectorPoint> Get(IReadOnlyList<string> ids, bool withVectors)
    {
        ArgumentNullException.ThrowIfNull(ids);
        using var lease = Read();
        var state = lease.State;
        var points = new List<VectorPoint>(ids.Count);
        foreach (var id in ids)
        {
            ValidateId(id, "get");
            if (state.TryGet(id, out var slot, out var record))
                points.Add(new VectorPoint(record.Id, withVectors ? VectorsOf(state, slot, record) : Empty, record.Payload)
                {
                    Sparse = withVectors ? SparseOf(state, record) : null,
                });
        }
        return points;
    }

    public long Count(Filter? filter)
    {
        var predicate = FilterCompiler.Compile(filter);
        using var lease = Read();
        var state = lease.State;
        return predicate is null ? state.LiveCount : Matching(state, filter, predicate).LongCount();
    }

    /// <summary>The live slots a filter matches (every live slot when there is no filter), from the payload index.</summary>
    private static IEnumerable<int> Matching(CollectionState state, Filter? filter, FilterCompiler.Predicate? predicate) =>
        predicate is null
            ? state.Ids.Values
            : PayloadIndex.SetBits(state.Payloads.Evaluate(filter!, state, state.SlotCount)).Where(slot => state.Record(slot) is { Deleted: false });

    public ScrollPage Scroll(ScrollRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckLimit(request.Limit);
        var predicate = FilterCompiler.Compile(request.Filter);
        using var lease = Read();
        var state = lease.State;
        var sorted = SortedIds(state);
        var start = 0;
        if (request.Offset is { } offset)
        {
            start = Array.BinarySearch(sorted, offset, StringComparer.Ordinal);
            if (start < 0)
                start = ~start;
        }
        var points = new List<VectorPoint>(Math.Min(request.Limit, 1024));
        for (var i = start; i < sorted.Length; i++)
        {
            if (!state.TryGet(sorted[i], out var slot, out var record))
                continue;
            if (predicate is not null && !predicate(record.Id, record.Fields))
                continue;
            if (points.Count == request.Limit)
                return new ScrollPage(points, record.Id);
            points.Add(new VectorPoint(record.Id, request.WithVectors ? VectorsOf(state, slot, record) : Empty,
                request.WithPayload ? record.Payload : "{}")
            {
                Sparse = request.WithVectors ? SparseOf(state, record) : null,
            });
        }
        return new ScrollPage(points, null);
    }

    /// <summary>Live ids in ordinal order, rebuilt only after writes.</summary>
    private string[] SortedIds(CollectionState state)
    {
        if (Volatile.Read(ref _sortedIds) is { } cached && ReferenceEquals(cached.State, state) && cached.Version == state.Version)
            return cached.Ids;
        var version = state.Version;
        var ids = state.Ids.Keys.ToArray();
        Array.Sort(ids, StringComparer.Ordinal);
        Volatile.Write(ref _sortedIds, new SortedIdCache(state, version, ids));
        return ids;
    }

    private sealed record SortedIdCache(CollectionState State, long Version, string[] Ids);

    public IReadOnlyList<ScoredPoint> Search(SearchRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckLimit(request.Limit);
        if (request.Offset < 0)
            throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"offset must not be negative, got {request.Offset}");
        CheckEf(request.Ef);
        var predicate = FilterCompiler.Compile(request.Filter);
        using var lease = Read();
        var state = lease.State;
        var s = SpaceOf(state, request.Vector);
        var query = state.Spaces[s].Prepare(request.Query.Span, $"query for '{request.Vector}'");
        var want = request.Limit + request.Offset;
        var found = Nearest(state, s, query, want, request.Ef, request.Exact, request.Filter, predicate, excluded: null);
        return ToHits(state, s, found, request.Offset, request.Limit, request.ScoreThreshold, request.WithPayload, request.WithVectors);
    }

    private static int SpaceOf(CollectionState state, string vector)
    {
        var s = state.SpaceIndex(vector ?? "");
        if (s >= 0)
            return s;
        if (state.SparseIndex(vector ?? "") >= 0)
            throw new VectorStoreException(VectorStoreErrorKind.BadRequest,
                $"named vector '{vector}' is a sparse vector: search it with a sparse search; this collection's dense vectors are {string.Join(", ", state.SpaceNames.Select(n => $"'{n}'"))}");
        throw new VectorStoreException(VectorStoreErrorKind.BadRequest,
            $"unknown named vector '{vector}'; this collection has {DescribeVectors(state)}");
    }

    private static void CheckLimit(int limit)
    {
        if (limit is < 1 or > Limits.MaxLimit)
            throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"limit must be 1..{Limits.MaxLimit}, got {limit}");
    }

    private static void CheckEf(int? ef)
    {
        if (ef is < 1 or > 100_000)
            throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"ef must be 1..100000, got {ef}");
    }

    /// <summary>
    /// The <paramref name="want"/> nearest allowed points by internal distance, closest first. Exact scan when asked,
    /// when the space is small, or when a filter leaves few candidates (counted by a pass over the payloads); the
    /// graph otherwise, with the filter applied to results while the walk goes through every node.
    /// </summary>
    private unsafe List<Neighbor> Nearest(CollectionState state, int s, float[] query, int want, int? ef, bool exact,
        Filter? filter, FilterCompiler.Predicate? predicate, HashSet<int>? excluded)
    {
        var space = state.Spaces[s];
        var breadth = Math.Max(ef ?? _options.EfSearch, want);
        var slots = new SlotFilter(state, s, null, excluded);
        var candidates = state.CountWith(s);
        if (predicate is not null)
        {
            var allowed = state.Payloads.Evaluate(filter!, state, state.SlotCount);
            candidates = 0;
            foreach (var slot in PayloadIndex.SetBits(allowed))
            {
                var record = state.Record(slot);
                if (record is null || record.Deleted || !record.Has(s) || excluded?.Contains(slot) == true)
                    allowed[slot >> 6] &= ~(1UL << slot);
                else
                    candidates++;
            }
            slots = new SlotFilter(state, s, allowed, excluded);
            // A selective filter leaves the graph's neighbourhoods sparse in allowed points: search wider.
            var total = Math.Max(1, state.CountWith(s));
            breadth = (int)Math.Min(breadth * Math.Clamp((double)total / Math.Max(candidates, 1), 1, 8), 100_000);
        }

        var results = new List<Neighbor>(Math.Min(want, 1024));
        fixed (float* q = query)
        {
            if (!exact && candidates > _options.ExactThreshold && !space.Graph.IsEmpty)
            {
                var buffer = new Neighbor[want];
                var n = space.Graph.Search(q, want, breadth, slots, buffer);
                results.AddRange(buffer.AsSpan(0, n));
            }
            // The graph walk came back short although enough points qualify (a region it cannot reach, which
            // inner-product graphs and heavy churn can leave): scan instead, rather than answer with too few.
            if (results.Count < Math.Min(want, candidates - (excluded?.Count ?? 0)) || exact || candidates <= _options.ExactThreshold || space.Graph.IsEmpty)
            {
                results.Clear();
                var heap = new NeighborHeap(farthestOnTop: true, Math.Min(want, 1024) + 1);
                // Slots are published before the versions they replace are tombstoned, so a scan that found a
                // tombstone also covers the slot that replaced it by going on to the count as it is at the end.
                for (int slot = 0, end = state.SlotCount; slot < end || slot < (end = state.SlotCount); slot++)
                {
                    if (!slots.Allows(slot) && !(predicate is not null && slot >= slots.BitmapLength && Admits(state, s, slot, predicate, excluded)))
                        continue;
                    var d = space.Distance(q, space[slot]);
                    if (heap.Count < want)
                        heap.Push(d, slot);
                    else if (d < heap.Top.Distance)
                        heap.ReplaceTop(d, slot);
                }
                var sorted = new Neighbor[heap.Count];
                heap.DrainSorted(sorted);
                results.AddRange(sorted);
            }
            Settle(state, s, q, results, predicate, excluded);
        }
        return results;
    }

    /// <summary>
    /// Points replaced while the search ran: swaps a tombstone found for the version that replaced it (if that one
    /// still qualifies), keeps one entry per id, and restores closest-first order. Readers so see one whole version
    /// of a point or the other, never none and never two.
    /// </summary>
    private static unsafe void Settle(CollectionState state, int s, float* q, List<Neighbor> results, FilterCompiler.Predicate? predicate, HashSet<int>? excluded)
    {
        var changed = false;
        HashSet<string>? seen = null;
        for (var i = 0; i < results.Count; i++)
        {
            var record = state.Record(results[i].Node)!;
            if (!record.Deleted)
                continue;
            changed = true;
            if (state.TryGet(record.Id, out var replacement, out var current) && current.Has(s) && excluded?.Contains(replacement) != true && (predicate is null || predicate(current.Id, current.Fields)))
                results[i] = new Neighbor(state.Spaces[s].Distance(q, state.Spaces[s][replacement]), replacement);
            else
                results[i] = new Neighbor(float.NaN, -1);
        }
        if (!changed)
            return;
        seen = new HashSet<string>(StringComparer.Ordinal);
        results.RemoveAll(n => n.Node < 0 || !seen.Add(state.Record(n.Node)!.Id));
        results.Sort((a, b) => a.Distance.CompareTo(b.Distance));
    }

    private static bool Admits(CollectionState state, int s, int slot, FilterCompiler.Predicate? predicate, HashSet<int>? excluded)
    {
        var record = state.Record(slot);
        return record is { Deleted: false } && record.Has(s) && excluded?.Contains(slot) != true
               && (predicate is null || predicate(record.Id, record.Fields));
    }

    private IReadOnlyList<ScoredPoint> ToHits(CollectionState state, int s, List<Neighbor> found, int offset, int limit,
        float? threshold, bool withPayload, bool withVectors)
    {
        var space = state.Spaces[s];
        var bound = threshold is { } t ? space.ToDistance(t) : float.PositiveInfinity;
        var hits = new List<ScoredPoint>(Math.Min(limit, found.Count));
        for (var i = offset; i < found.Count && hits.Count < limit; i++)
        {
            var (distance, slot) = found[i];
            if (distance > bound)
                break;
            var record = state.Record(slot)!;
            hits.Add(new ScoredPoint(record.Id, space.ToScore(distance),
                withPayload ? record.Payload : null,
                withVectors ? VectorsOf(state, slot, record) : null));
        }
        return hits;
    }

    private static readonly IReadOnlyDictionary<string, float[]> Empty = new Dictionary<string, float[]>();

    private static Dictionary<string, SparseVector> SparseOf(CollectionState state, PointRecord record)
    {
        var sparse = new Dictionary<string, SparseVector>(StringComparer.Ordinal);
        for (var s = 0; s < state.SparseSpaces.Length; s++)
        {
            // Copies: the stored arrays are shared with concurrent readers and must never change.
            if (record.SparseIn(s) is { } vector)
                sparse[state.SparseNames[s]] = new SparseVector((uint[])vector.Indices.Clone(), (float[])vector.Values.Clone());
        }
        return sparse;
    }

    private static Dictionary<string, float[]> VectorsOf(CollectionState state, int slot, PointRecord record)
    {
        var vectors = new Dictionary<string, float[]>(StringComparer.Ordinal);
        for (var s = 0; s < state.Spaces.Length; s++)
        {
            if (record.Has(s))
                vectors[state.SpaceNames[s]] = state.Spaces[s].Get(slot).ToArray();
        }
        return vectors;
    }

    /// <summary>Which slots a search may return: live, with the vector, allowed by the filter's bitmap, not excluded.</summary>
    private readonly struct SlotFilter(CollectionState state, int space, ulong[]? allowed, HashSet<int>? excluded) : INodeFilter
    {
        /// <summary>Slots the filter's bitmap covers (those added since are judged by <see cref="Admits"/>).</summary>
        public int BitmapLength => allowed is null ? int.MaxValue : allowed.Length * 64;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Allows(int slot)
        {
            if (allowed is not null)
                return (uint)(slot >> 6) < (uint)allowed.Length && (allowed[slot >> 6] & (1UL << slot)) != 0 && !state.Record(slot)!.Deleted;
            var record = state.Record(slot);
            return record is { Deleted: false } && record.Has(space) && (excluded is null || !excluded.Contains(slot));
        }
    }
}
