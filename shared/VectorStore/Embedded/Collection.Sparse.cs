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
        var sums = new Dictionary<int, double>();
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
                if (allowed is not null && (allowed[slot >> 6] & (1UL << slot)) == 0)
                    continue;
                ref var sum = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(sums, slot, out _);
                sum += w * value;
            }
        }

        var hits = new List<(double Score, int Slot, PointRecord Record)>(sums.Count);
        HashSet<string>? rescored = null;
        foreach (var (slot, score) in sums)
        {
            var record = state.Record(slot)!;
            if (!record.Deleted)
            {
                hits.Add((score, slot, record));
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
                hits.Add((rescore, current, currentRecord));
        }

        // Highest first; equal scores by id, so pages are stable.
        hits.Sort(static (a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : string.CompareOrdinal(a.Record.Id, b.Record.Id));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<ScoredPoint>(Math.Min(request.Limit, hits.Count));
        var skipped = 0;
        foreach (var (score, _, record) in hits)
        {
            var value = (float)score;
            if (request.ScoreThreshold is { } threshold && value < threshold)
                break;
            if (!seen.Add(record.Id))
                continue; // the old and the new version of a point both live for an instant while it is replaced
            if (skipped++ < request.Offset)
                continue;
            result.Add(new ScoredPoint(record.Id, value, request.WithPayload ? record.Payload : null));
            if (result.Count == request.Limit)
                break;
        }
        return result;
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
