namespace Platform.VectorStore.Embedded;

internal sealed partial class Collection
{
    public IReadOnlyList<ScoredPoint> Recommend(RecommendRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckLimit(request.Limit);
        CheckEf(request.Ef);
        var predicate = FilterCompiler.Compile(request.Filter);
        using var lease = Read();
        var state = lease.State;
        var s = SpaceOf(state, request.Vector);
        var space = state.Spaces[s];
        var excluded = new HashSet<int>();
        var positives = Resolve(state, s, request.Positive ?? [], "positive", excluded);
        var negatives = Resolve(state, s, request.Negative ?? [], "negative", excluded);

        switch (request.Strategy)
        {
            case RecommendStrategy.AverageVector:
            {
                if (positives.Count == 0)
                    throw new VectorStoreException(VectorStoreErrorKind.BadRequest, "the average_vector strategy needs at least one positive example");
                var query = Mean(positives);
                if (negatives.Count > 0)
                {
                    var negative = Mean(negatives);
                    for (var i = 0; i < query.Length; i++)
                        query[i] = 2 * query[i] - negative[i];
                }
                query = space.Prepare(query, "the combined recommendation vector");
                var found = Nearest(state, s, query, request.Limit, request.Ef, exact: false, request.Filter, predicate, excluded);
                return ToHits(state, s, found, 0, request.Limit, request.ScoreThreshold, request.WithPayload, request.WithVectors);
            }
            case RecommendStrategy.BestScore:
                if (positives.Count == 0 && negatives.Count == 0)
                    throw new VectorStoreException(VectorStoreErrorKind.BadRequest, "the best_score strategy needs at least one positive or negative example");
                return BestScore(state, s, positives, negatives, predicate, excluded, request);
            default:
                throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"unknown recommendation strategy {request.Strategy}");
        }
    }

    /// <summary>Example vectors as stored (normalised for cosine); ids become exclusions.</summary>
    private List<float[]> Resolve(CollectionState state, int s, IReadOnlyList<RecommendExample> examples, string kind, HashSet<int> excluded)
    {
        var space = state.Spaces[s];
        var vectors = new List<float[]>(examples.Count);
        for (var i = 0; i < examples.Count; i++)
        {
            var example = examples[i];
            if (example is null || (example.Id is null) == (example.Vector is null))
                throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"{kind} example {i} must give exactly one of an id or a vector");
            if (example.Vector is { } raw)
            {
                vectors.Add(space.Prepare(raw, $"{kind} example {i}"));
                continue;
            }
            ValidateId(example.Id, $"{kind} example {i}");
            if (!state.TryGet(example.Id!, out var slot, out var record))
                throw new VectorStoreException(VectorStoreErrorKind.NotFound, $"{kind} example '{example.Id}' is not in collection '{Name}'");
            if (!record.Has(s))
                throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"{kind} example '{example.Id}' has no '{space.Name}' vector");
            vectors.Add(space.Get(slot).ToArray());
            excluded.Add(slot);
        }
        return vectors;
    }

    private static float[] Mean(List<float[]> vectors)
    {
        var mean = new float[vectors[0].Length];
        foreach (var v in vectors)
            System.Numerics.Tensors.TensorPrimitives.Add(mean, v, mean);
        System.Numerics.Tensors.TensorPrimitives.Divide(mean, vectors.Count, mean);
        return mean;
    }

    /// <summary>
    /// Scores candidates against every example. Candidates are every allowed point when the collection is small or
    /// there are no positives (being far from negatives cannot be searched for), and otherwise the union of the
    /// graph's neighbours of each positive, searched several times wider than the limit.
    /// </summary>
    private unsafe IReadOnlyList<ScoredPoint> BestScore(CollectionState state, int s, List<float[]> positives, List<float[]> negatives,
        FilterCompiler.Predicate? predicate, HashSet<int> excluded, RecommendRequest request)
    {
        var space = state.Spaces[s];
        IEnumerable<int> candidates;
        if (positives.Count == 0 || state.CountWith(s) <= _options.ExactThreshold)
        {
            candidates = Enumerable.Range(0, state.SlotCount);
        }
        else
        {
            var union = new HashSet<int>();
            var wide = Math.Max(request.Limit * 4, request.Ef ?? _options.EfSearch);
            foreach (var positive in positives)
            {
                foreach (var neighbor in Nearest(state, s, positive, wide, wide, exact: false, request.Filter, predicate, excluded))
                    union.Add(neighbor.Node);
            }
            candidates = union;
        }

        var euclid = space.Parameters.Distance == Distance.Euclid;
        float Similarity(float* a, float* b)
        {
            var d = space.Distance(a, b);
            return euclid ? -MathF.Sqrt(Math.Max(d, 0)) : -d;
        }

        var scored = new List<(float Score, int Slot)>();
        foreach (var slot in candidates)
        {
            var record = state.Record(slot);
            if (record is null || record.Deleted || !record.Has(s) || excluded.Contains(slot) || (predicate is not null && !predicate(record.Id, record.Fields)))
                continue;
            var x = space[slot];
            var bestPositive = float.NegativeInfinity;
            var bestNegative = float.NegativeInfinity;
            foreach (var p in positives)
            {
                fixed (float* pp = p)
                    bestPositive = Math.Max(bestPositive, Similarity(x, pp));
            }
            foreach (var n in negatives)
            {
                fixed (float* np = n)
                    bestNegative = Math.Max(bestNegative, Similarity(x, np));
            }
            // Squashed into (0, 1) and (-1, 0): every candidate nearer a positive ranks above every one nearer a negative.
            var score = positives.Count > 0 && bestPositive > bestNegative ? Sigmoid(bestPositive) : -Sigmoid(bestNegative);
            if (request.ScoreThreshold is { } t && score < t)
                continue;
            scored.Add((score, slot));
        }
        scored.Sort((a, b) => b.Score.CompareTo(a.Score));
        return [.. scored.Take(request.Limit).Select(h =>
        {
            var record = state.Record(h.Slot)!;
            return new ScoredPoint(record.Id, h.Score, request.WithPayload ? record.Payload : null,
                request.WithVectors ? VectorsOf(state, h.Slot, record) : null);
        })];
    }

    /// <summary>The "fast sigmoid" ½(x / (1 + |x|) + 1), as Qdrant uses for best-score recommendations.</summary>
    private static float Sigmoid(float x) => 0.5f * (x / (1 + MathF.Abs(x)) + 1);
}
