namespace Platform.VectorStore.Tests.Behaviour;

public abstract partial class VectorStoreBehaviour
{
    /// <summary>The vectors as the store keeps them: cosine ones normalised.</summary>
    private static float[] AsStored(Distance distance, float[] v) => distance == Distance.Cosine ? VectorMath.Normalise(v) : v;

    private void AssertHitsMatch(string what, Distance distance, List<(string Id, double Score)> truth, IReadOnlyList<ScoredPoint> hits)
    {
        Assert.True(truth.Select(t => t.Id).SequenceEqual(hits.Select(h => h.Id)), $"{what}: expected {Ids(truth.Select(t => t.Id))}, got {Ids(hits)}");
        for (var i = 0; i < hits.Count; i++)
            Assert.True(Math.Abs(hits[i].Score - truth[i].Score) <= 1e-4 * Math.Max(1, Math.Abs(truth[i].Score)), $"{what} #{i} {hits[i].Id}: score {hits[i].Score}, expected {truth[i].Score}");
        AssertClosestFirst(distance, hits);
    }

    [Theory]
    [MemberData(nameof(Distances))]
    public async Task AverageVector_with_positives_only_searches_with_their_mean(Distance distance)
    {
        var (c, points) = await RandomCollectionAsync(distance, 200, 8, seed: 70 + (int)distance);
        var stored = points.ToDictionary(p => p.Id, p => AsStored(distance, p.Vector));
        string[] positives = ["p0003", "p0050", "p0101"];

        var hits = await Store.RecommendAsync(c, new RecommendRequest("v", 10) { Positive = [.. positives.Select(RecommendExample.Point)], Ef = 400 });

        var query = VectorMath.Mean(positives.Select(id => stored[id]));
        var truth = VectorMath.Rank(distance, points.Where(p => !positives.Contains(p.Id)), query).Take(10).ToList();
        AssertHitsMatch("recommend", distance, truth, hits);
    }

    [Theory]
    [MemberData(nameof(Distances))]
    public async Task AverageVector_with_negatives_searches_with_twice_the_positive_mean_minus_the_negative_mean(Distance distance)
    {
        var (c, points) = await RandomCollectionAsync(distance, 200, 8, seed: 80 + (int)distance);
        var stored = points.ToDictionary(p => p.Id, p => AsStored(distance, p.Vector));
        string[] positives = ["p0010", "p0020"], negatives = ["p0030", "p0040", "p0199"];

        var hits = await Store.RecommendAsync(c, new RecommendRequest("v", 10)
        {
            Positive = [.. positives.Select(RecommendExample.Point)],
            Negative = [.. negatives.Select(RecommendExample.Point)],
            Ef = 400,
        });

        var query = VectorMath.Combine(VectorMath.Mean(positives.Select(id => stored[id])), 2, VectorMath.Mean(negatives.Select(id => stored[id])), -1);
        var truth = VectorMath.Rank(distance, points.Where(p => !positives.Contains(p.Id) && !negatives.Contains(p.Id)), query).Take(10).ToList();
        AssertHitsMatch("recommend", distance, truth, hits);
    }

    [Theory]
    [InlineData(RecommendStrategy.AverageVector)]
    [InlineData(RecommendStrategy.BestScore)]
    public async Task Recommendations_never_include_the_example_points(RecommendStrategy strategy)
    {
        var (c, points) = await RandomCollectionAsync(Distance.Cosine, 60, 4, seed: 90);
        string[] positives = ["p0001", "p0002", "p0003"], negatives = ["p0004", "p0005"];

        var hits = await Store.RecommendAsync(c, new RecommendRequest("v", 100)
        {
            Positive = [.. positives.Select(RecommendExample.Point)],
            Negative = [.. negatives.Select(RecommendExample.Point)],
            Strategy = strategy,
        });

        Assert.DoesNotContain(hits, h => positives.Contains(h.Id) || negatives.Contains(h.Id));
        Assert.Equal(55, hits.Count);
        // Even the closest possible query does not bring the example back.
        var same = await Store.RecommendAsync(c, new RecommendRequest("v", 5) { Positive = ["p0007"], Strategy = strategy });
        Assert.DoesNotContain(same, h => h.Id == "p0007");
        Assert.Equal(5, same.Count);
    }

    [Theory]
    [InlineData(Distance.Dot)]
    [InlineData(Distance.Euclid)]
    [InlineData(Distance.Cosine)]
    public async Task Raw_vector_examples_mix_with_point_examples(Distance distance)
    {
        var (c, points) = await RandomCollectionAsync(distance, 200, 8, seed: 100 + (int)distance);
        var stored = points.ToDictionary(p => p.Id, p => AsStored(distance, p.Vector));
        var rng = new Random(101);
        // Unit length, so cosine has nothing to normalise in the examples either.
        float[] rawPositive = VectorMath.Normalise(VectorMath.Gaussian(rng, 8)), rawNegative = VectorMath.Normalise(VectorMath.Gaussian(rng, 8));

        var hits = await Store.RecommendAsync(c, new RecommendRequest("v", 10)
        {
            Positive = [RecommendExample.Of(rawPositive), "p0042"],
            Negative = [RecommendExample.Of(rawNegative)],
            Ef = 400,
        });
        var rawOnly = await Store.RecommendAsync(c, new RecommendRequest("v", 10) { Positive = [RecommendExample.Of(rawPositive)], Ef = 400 });

        var query = VectorMath.Combine(VectorMath.Mean([rawPositive, stored["p0042"]]), 2, rawNegative, -1);
        AssertHitsMatch("mixed examples", distance, VectorMath.Rank(distance, points.Where(p => p.Id != "p0042"), query).Take(10).ToList(), hits);
        AssertHitsMatch("one raw positive", distance, VectorMath.Rank(distance, points, rawPositive).Take(10).ToList(), rawOnly);
        var search = await Store.SearchAsync(c, new SearchRequest("v", rawPositive, 10) { Exact = true });
        Assert.Equal(search.Select(h => h.Id), rawOnly.Select(h => h.Id));
    }

    /// <summary>
    /// Cosine, 8-d: "pos" = e0 and "neg" = e1 are the examples; 20 points near each, and 20 in between. Every point has a
    /// positive component along e2 so that similarities to both examples stay positive where it matters.
    /// </summary>
    private async Task<(string Collection, Dictionary<string, float[]> Stored)> BestScoreCollectionAsync()
    {
        var c = await NewCollectionAsync(Schema(("v", 8, Distance.Cosine)));
        var rng = new Random(110);
        var points = new List<VectorPoint>
        {
            Point("pos", [1, 0, 0, 0, 0, 0, 0, 0]),
            Point("neg", [0, 1, 0, 0, 0, 0, 0, 0]),
        };
        float[] Near(double a, double b)
        {
            var noise = VectorMath.Gaussian(rng, 8);
            return noise.Select((x, i) => (float)((i == 0 ? a : i == 1 ? b : i == 2 ? 0.3 : 0) + 0.1 * x)).ToArray();
        }
        for (var i = 0; i < 20; i++)
        {
            points.Add(Point($"near-pos-{i:D2}", Near(1, 0.3)));
            points.Add(Point($"near-neg-{i:D2}", Near(0.3, 1)));
            points.Add(Point($"between-{i:D2}", Near(0.6 + 0.02 * i, 0.6)));
        }
        await Store.UpsertAsync(c, points);
        return (c, points.ToDictionary(p => p.Id, p => VectorMath.Normalise(p.Vectors["v"])));
    }

    private static List<(string Id, double Score)> BestScoreTruth(Dictionary<string, float[]> stored, string[] positives, string[] negatives)
    {
        double Best(float[] v, string[] examples) => examples.Length == 0 ? double.NegativeInfinity : examples.Max(e => VectorMath.Score(Distance.Cosine, stored[e], v));
        return stored.Where(kv => !positives.Contains(kv.Key) && !negatives.Contains(kv.Key))
            .Select(kv =>
            {
                double pos = Best(kv.Value, positives), neg = Best(kv.Value, negatives);
                // σ(x) = ½(x / (1 + |x|) + 1): Qdrant's fast sigmoid, as the interface documents.
                static double Sigma(double x) => 0.5 * (x / (1 + Math.Abs(x)) + 1);
                return (kv.Key, Score: pos > neg ? Sigma(pos) : -Sigma(neg));
            })
            .OrderByDescending(t => t.Score).ThenBy(t => t.Key, StringComparer.Ordinal).ToList();
    }

    [Fact]
    public async Task BestScore_ranks_points_near_the_positives_above_points_near_the_negatives()
    {
        var (c, stored) = await BestScoreCollectionAsync();

        var hits = await Store.RecommendAsync(c, new RecommendRequest("v", 100) { Positive = ["pos"], Negative = ["neg"], Strategy = RecommendStrategy.BestScore, Ef = 400 });

        var truth = BestScoreTruth(stored, ["pos"], ["neg"]);
        Assert.True(truth.Select(t => t.Id).SequenceEqual(hits.Select(h => h.Id)), $"expected {Ids(truth.Select(t => t.Id))}, got {Ids(hits)}");
        Assert.Equal(60, hits.Count);
        var lastNearPositive = hits.Select((h, i) => (h, i)).Last(x => x.h.Id.StartsWith("near-pos", StringComparison.Ordinal)).i;
        var firstNearNegative = hits.Select((h, i) => (h, i)).First(x => x.h.Id.StartsWith("near-neg", StringComparison.Ordinal)).i;
        Assert.True(lastNearPositive < firstNearNegative, $"a point near the negative example ranks above one near the positive: {Ids(hits)}");
        Assert.All(hits.Where(h => h.Id.StartsWith("near-pos", StringComparison.Ordinal)), h => Assert.True(h.Score > 0, $"{h.Id} scores {h.Score}"));
        Assert.All(hits.Where(h => h.Id.StartsWith("near-neg", StringComparison.Ordinal)), h => Assert.True(h.Score < 0, $"{h.Id} scores {h.Score}"));
        AssertClosestFirst(Distance.Cosine, hits);
    }

    [Fact]
    public async Task BestScore_scores_are_the_documented_ones()
    {
        var (c, stored) = await BestScoreCollectionAsync();

        var hits = await Store.RecommendAsync(c, new RecommendRequest("v", 100) { Positive = ["pos"], Negative = ["neg"], Strategy = RecommendStrategy.BestScore, Ef = 400 });
        var negativesOnly = await Store.RecommendAsync(c, new RecommendRequest("v", 100) { Negative = ["neg"], Strategy = RecommendStrategy.BestScore, Ef = 400 });

        AssertHitsMatch("positive and negative", Distance.Cosine, BestScoreTruth(stored, ["pos"], ["neg"]), hits);
        AssertHitsMatch("negatives only", Distance.Cosine, BestScoreTruth(stored, [], ["neg"]), negativesOnly);
    }

    [Fact]
    public async Task BestScore_works_with_negatives_only_and_puts_the_farthest_first()
    {
        var (c, stored) = await BestScoreCollectionAsync();

        var hits = await Store.RecommendAsync(c, new RecommendRequest("v", 100) { Negative = ["neg"], Strategy = RecommendStrategy.BestScore, Ef = 400 });

        var truth = BestScoreTruth(stored, [], ["neg"]);
        Assert.True(truth.Select(t => t.Id).SequenceEqual(hits.Select(h => h.Id)), $"expected {Ids(truth.Select(t => t.Id))}, got {Ids(hits)}");
        Assert.DoesNotContain(hits, h => h.Id == "neg");
        // "pos" is an ordinary candidate here, orthogonal to "neg": the farthest of all.
        Assert.Equal("pos", hits[0].Id);
        Assert.StartsWith("near-pos", hits[1].Id, StringComparison.Ordinal);
        Assert.StartsWith("near-neg", hits[^1].Id, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Recommend_honours_filter_threshold_limit_and_what_to_return()
    {
        var (c, points) = await RandomCollectionAsync(Distance.Dot, 200, 8, seed: 120);
        var byId = points.ToDictionary(p => p.Id, p => p.Vector);
        var filter = Filter.All(new Range("i", Gte: 100));
        var query = VectorMath.Mean([byId["p0001"], byId["p0002"]]);
        var ranked = VectorMath.Rank(Distance.Dot, points.Where(p => int.Parse(p.Id.AsSpan(1)) >= 100), query);
        var threshold = (float)((ranked[11].Score + ranked[12].Score) / 2);

        var hits = await Store.RecommendAsync(c, new RecommendRequest("v", 50) { Positive = ["p0001", "p0002"], Filter = filter, ScoreThreshold = threshold, Ef = 400 });
        var limited = await Store.RecommendAsync(c, new RecommendRequest("v", 3) { Positive = ["p0001", "p0002"], Filter = filter, WithPayload = false, WithVectors = true, Ef = 400 });

        Assert.Equal(ranked.Take(12).Select(t => t.Id), hits.Select(h => h.Id));
        Assert.All(hits, h => Payloads.AssertSame($$"""{"i":{{int.Parse(h.Id.AsSpan(1))}}}""", h.Payload, h.Id));
        Assert.All(hits, h => Assert.Null(h.Vectors));
        Assert.Equal(ranked.Take(3).Select(t => t.Id), limited.Select(h => h.Id));
        Assert.All(limited, h => Assert.Null(h.Payload));
        Assert.All(limited, h => Assert.Equal(byId[h.Id], h.Vectors!["v"]));
    }

    [Fact]
    public async Task Recommend_with_an_unknown_example_id_is_not_found_and_names_it()
    {
        var (c, _) = await RandomCollectionAsync(Distance.Cosine, 20, 4, seed: 130);

        await AssertFailsAsync(VectorStoreErrorKind.NotFound,
            async () => await Store.RecommendAsync(c, new RecommendRequest("v", 5) { Positive = ["p0001", "ghost-17"] }), "ghost-17");
        await AssertFailsAsync(VectorStoreErrorKind.NotFound,
            async () => await Store.RecommendAsync(c, new RecommendRequest("v", 5) { Positive = ["p0001"], Negative = ["ghost-18"] }), "ghost-18");
        await AssertFailsAsync(VectorStoreErrorKind.NotFound,
            async () => await Store.RecommendAsync(c, new RecommendRequest("v", 5) { Negative = ["ghost-19"], Strategy = RecommendStrategy.BestScore }), "ghost-19");
    }

    [Fact]
    public async Task Recommend_without_usable_examples_is_a_bad_request()
    {
        var (c, _) = await RandomCollectionAsync(Distance.Cosine, 20, 4, seed: 131);

        // AverageVector needs a positive; no strategy works with no example at all.
        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.RecommendAsync(c, new RecommendRequest("v", 5) { Negative = ["p0001"] }));
        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.RecommendAsync(c, new RecommendRequest("v", 5)));
        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.RecommendAsync(c, new RecommendRequest("v", 5) { Strategy = RecommendStrategy.BestScore }));
        // An example is an id or a vector: exactly one.
        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.RecommendAsync(c, new RecommendRequest("v", 5) { Positive = [new RecommendExample()] }));
        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.RecommendAsync(c, new RecommendRequest("v", 5) { Positive = [new RecommendExample { Id = "p0001", Vector = [1, 0, 0, 0] }] }));
        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.RecommendAsync(c, new RecommendRequest("v", 5) { Positive = [RecommendExample.Of([1, 0, 0])] }), "4", "3");
        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.RecommendAsync(c, new RecommendRequest("v", 5) { Positive = [RecommendExample.Of([1, float.NaN, 0, 0])] }));
        await AssertFailsAsync(VectorStoreErrorKind.BadRequest, async () => await Store.RecommendAsync(c, new RecommendRequest("nope", 5) { Positive = ["p0001"] }), "nope");
    }
}
