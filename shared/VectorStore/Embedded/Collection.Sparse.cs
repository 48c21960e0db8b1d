using System.Buffers;

namespace Platform.VectorStore.Embedded;

internal sealed partial class Collection
{
    /// <summary>
    /// Term-at-a-time scoring over the sparse space's postings: each query term's weight (its value, times its IDF when
    /// the space has one) times each posting's value, summed per slot; then the best live, allowed slots.
    /// </summary>
    /// <remarks>
    /// Consistency without waiting for the writer: the slot count is read once, first. Postings are appended before
    /// the slot count that publishes their slot, so every slot below it has all of its terms in every posting
    /// snapshot taken afterwards, and its sum is whole; later slots are ignored. A slot tombstoned by a write that
    /// landed meanwhile is swapped for the version that replaced it, scored from its record when that version is too
    /// new to be in the sums. So a reader sees one whole version of a point or the other, never none and never both.
    /// </remarks>
    public IReadOnlyList<ScoredPoint> SearchSparse(SparseSearchRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckLimit(request.Limit);
        if (request.Offset < 0)
            throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"offset must not be negative, got {request.Offset}");
        if (request.ScoreThreshold is { } t && !float.IsFinite(t))
            throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"score threshold must be a finite number, got {t}");
        var predicate = FilterCompiler.Compile(request.Filter);
        using var lease = Read();
        var state = lease.State;
        var s = SparseSpaceOf(state, request.Vector);
        var space = state.SparseSpaces[s];
        var query = SparseSpace.Prepare(request.Query, $"query for sparse vector '{request.Vector}'");

        var bound = state.SlotCount;
        var allowed = predicate is null ? null : state.Payloads.Evaluate(request.Filter!, state, bound);
        var total = state.LiveCount;
        var weights = new double[query.Indices.Length];
        // Sums in a dense array over the slots, and which slots a posting touched in a bitset: a common term's postings
        // reach a large share of the collection, and a hash map per posting entry cost more than the scoring itself.
        var sums = ArrayPool<double>.Shared.Rent(Math.Max(bound, 1));
        var touched = new ulong[(bound + 63) >> 6];
        try
        {
            for (var i = 0; i < query.Indices.Length; i++)
            {
                if (query.Values[i] == 0 || space.Posting(query.Indices[i]) is not { } posting)
                    continue;
                weights[i] = space.Parameters.Idf ? SparseSpace.Idf(total, posting.Live) : 1;
                var w = query.Values[i] * weights[i];
                foreach (var (slot, value) in posting.Snapshot())
                {
                    if (slot >= bound)
                        break; // postings are in slot order
                    var bit = 1UL << slot;
                    if (allowed is not null && (allowed[slot >> 6] & bit) == 0)
                        continue;
                    if ((touched[slot >> 6] & bit) == 0)
                    {
                        touched[slot >> 6] |= bit;
                        sums[slot] = 0;
                    }
                    sums[slot] += w * value;
                }
            }
            return Best(request, state, s, predicate, query, weights, bound, sums, touched);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(sums);
        }
    }

    /// <summary>
    /// The best <c>offset + limit</c> scored slots, highest first (equal scores by id, so pages are stable), kept in a
    /// bounded heap rather than sorting every slot a term touched; a replaced point's newer version scored from its record.
    /// </summary>
    private static IReadOnlyList<ScoredPoint> Best(SparseSearchRequest request, CollectionState state, int s, FilterCompiler.Predicate? predicate,
        SparseVector query, double[] weights, int bound, double[] sums, ulong[] touched)
    {
        var wanted = request.Offset + request.Limit;
        var heap = new PriorityQueue<(double Score, PointRecord Record), (double Score, string Id)>(wanted + 1, WorstFirst.Instance);
        HashSet<string>? rescored = null;
        void Offer(double score, PointRecord record)
        {
            if (request.ScoreThreshold is { } threshold && (float)score < threshold)
                return;
            if (heap.Count < wanted)
                heap.Enqueue((score, record), (score, record.Id));
            else if (heap.TryPeek(out _, out var worst) && WorstFirst.Instance.Compare((score, record.Id), worst) > 0)
                heap.EnqueueDequeue((score, record), (score, record.Id));
        }
        for (var word = 0; word < touched.Length; word++)
        {
            for (var bits = touched[word]; bits != 0; bits &= bits - 1)
            {
                var slot = (word << 6) | System.Numerics.BitOperations.TrailingZeroCount(bits);
                var record = state.Record(slot)!;
                if (!record.Deleted)
                {
                    Offer(sums[slot], record);
                    continue;
                }
                // Replaced or deleted. A replacement below the bound has its own sum (or shares no term); a newer one is scored here.
                if (!state.TryGet(record.Id, out var current, out var currentRecord) || current < bound)
                    continue;
                if (currentRecord.SparseIn(s) is not { } vector || (predicate is not null && !predicate(currentRecord.Id, currentRecord.Fields)))
                    continue;
                if (!(rescored ??= new HashSet<string>(StringComparer.Ordinal)).Add(record.Id))
                    continue;
                var (rescore, shared) = SparseSpace.Dot(query, weights, vector);
                if (shared)
                    Offer(rescore, currentRecord);
            }
        }

        var best = new List<(double Score, PointRecord Record)>(heap.Count);
        while (heap.Count > 0)
            best.Add(heap.Dequeue());
        best.Reverse();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<ScoredPoint>(Math.Min(request.Limit, best.Count));
        var skipped = 0;
        foreach (var (score, record) in best)
        {
            if (!seen.Add(record.Id))
                continue; // the old and the new version of a point both live for an instant while it is replaced
            if (skipped++ < request.Offset)
                continue;
            result.Add(new ScoredPoint(record.Id, (float)score, request.WithPayload ? record.Payload : null));
        }
        // Two versions of one point among the best (a write racing this read: both still live, or the old one's
        // replacement scored from its record) leave a page short: rare, so only then is the selection made again, wider.
        if (seen.Count < best.Count && result.Count < request.Limit && best.Count == wanted)
            return Best(request with { Limit = request.Limit + (best.Count - seen.Count) }, state, s, predicate, query, weights, bound, sums, touched)
                .Take(request.Limit).ToList();
        return result;
    }

    /// <summary>Orders hits worst first (lower score; at equal scores the larger id), so a bounded heap's root is the one to drop.</summary>
    private sealed class WorstFirst : IComparer<(double Score, string Id)>
    {
        public static readonly WorstFirst Instance = new();

        public int Compare((double Score, string Id) a, (double Score, string Id) b) =>
            a.Score != b.Score ? a.Score.CompareTo(b.Score) : string.CompareOrdinal(b.Id, a.Id);
    }

    private static int SparseSpaceOf(CollectionState state, string vector)
    {
        var s = state.SparseIndex(vector ?? "");
        if (s >= 0)
            return s;
        if (state.SpaceIndex(vector ?? "") >= 0)
            throw new VectorStoreException(VectorStoreErrorKind.BadRequest,
                $"named vector '{vector}' is a dense vector, not a sparse one; this collection's sparse vectors are {(state.SparseNames.Length == 0 ? "none" : string.Join(", ", state.SparseNames.Select(n => $"'{n}'")))}");
        throw new VectorStoreException(VectorStoreErrorKind.BadRequest,
            $"unknown sparse vector '{vector}'; this collection has {DescribeVectors(state)}");
    }
}
