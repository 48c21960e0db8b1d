using Platform.Contracts.Grains;
using Platform.Search;
using Platform.VectorStore;

namespace Platform.Retrieval;

/// <summary>How text search fuses its signals (weighted reciprocal-rank fusion).</summary>
public sealed record FusionOptions
{
    /// <summary>RRF's rank offset: larger flattens the difference between top ranks.</summary>
    public int RankConstant { get; init; } = 60;

    /// <summary>Weight of the lexical (BM25 over title, category, attributes, description) list.</summary>
    public double LexicalWeight { get; init; } = 2.0;

    /// <summary>Weight of the list of products whose title holds every query word (shortest titles first).</summary>
    public double TitleMatchWeight { get; init; } = 2.0;

    /// <summary>Weight of the query-text vs product-text embedding list.</summary>
    public double TextVectorWeight { get; init; } = 0.5;

    /// <summary>Weight of the query-text vs product-image embedding list (cross-modal).</summary>
    public double ImageVectorWeight { get; init; } = 0.5;

    /// <summary>How many candidates each signal contributes before fusion, at least.</summary>
    public int MinCandidates { get; init; } = 50;
}

/// <summary>Turns a shopper's query into the model's space: through an encoder grain when served, directly in the eval.</summary>
public interface IQueryEncoder
{
    Task<float[]> EncodeTextAsync(string text, CancellationToken cancellationToken);

    Task<float[]> EncodeImageAsync(ImageInput image, CancellationToken cancellationToken);
}

/// <summary>
/// Query path: encodes the query, gathers candidates from each signal, fuses them. Lexical matches weigh most by
/// default: they are what a shopper typing a product's words expects first, whatever the model's quality.
/// </summary>
public sealed class SearchService(IQueryEncoder encoder, ProductIndex index, FusionOptions fusion)
{
    public const int MaxK = 100;

    public async Task<IReadOnlyList<SearchHit>> SearchTextAsync(string query, int k, CancellationToken cancellationToken = default)
    {
        var candidates = Math.Max(k * 4, fusion.MinCandidates);
        var vector = await encoder.EncodeTextAsync(query, cancellationToken);
        var byText = await index.SearchAsync(ProductIndex.TextVector, vector, candidates, cancellationToken: cancellationToken);
        var byImage = await index.SearchAsync(ProductIndex.ImageVector, vector, candidates, cancellationToken: cancellationToken);
        var lexical = await index.SearchLexicalAsync(query, candidates, cancellationToken: cancellationToken);
        var titleMatches = await index.TitleMatchesAsync(query, candidates, cancellationToken: cancellationToken);

        var fused = new Dictionary<string, double>(StringComparer.Ordinal);
        void Add(IEnumerable<string> ranked, double weight)
        {
            var rank = 0;
            foreach (var id in ranked)
                fused[id] = fused.GetValueOrDefault(id) + weight / (fusion.RankConstant + ++rank);
        }
        Add(lexical.Select(h => h.Id), fusion.LexicalWeight);
        Add(titleMatches.Select(h => h.Id), fusion.TitleMatchWeight);
        Add(byText.Select(h => h.Id), fusion.TextVectorWeight);
        Add(byImage.Select(h => h.Id), fusion.ImageVectorWeight);

        var payloads = byText.Concat(byImage).Concat(lexical).Concat(titleMatches).DistinctBy(h => h.Id).ToDictionary(h => h.Id, h => h.Payload!);
        var ranked = fused.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Take(k).ToList();
        var missing = ranked.Select(p => p.Key).Where(id => !payloads.ContainsKey(id)).ToList();
        if (missing.Count > 0)
        {
            foreach (var (id, payload) in await index.GetPayloadsAsync(missing, cancellationToken))
                payloads[id] = payload;
        }
        // Every signal's hits carry payloads; a look-up is left only for a hit whose payload was not asked for, and a
        // point deleted between the searches and that look-up is skipped.
        return [.. ranked.Where(p => payloads.ContainsKey(p.Key)).Select(p => ToHit(p.Key, p.Value, payloads[p.Key]))];
    }

    /// <summary>Products whose images are nearest to <paramref name="image"/>; the score is the cosine similarity.</summary>
    public async Task<IReadOnlyList<SearchHit>> SearchImageAsync(ImageInput image, int k, CancellationToken cancellationToken = default)
    {
        var vector = await encoder.EncodeImageAsync(image, cancellationToken);
        var hits = await index.SearchAsync(ProductIndex.ImageVector, vector, k, cancellationToken: cancellationToken);
        return hits.Select(h => ToHit(h.Id, h.Score, h.Payload!)).ToList();
    }

    /// <summary>
    /// Products like <paramref name="productId"/>: its nearest neighbours by image and by text, fused by reciprocal rank
    /// with equal weights, never the product itself, and only its category's when <paramref name="sameCategory"/> (a
    /// product without a category has no such bound). Each hit says which lists it came from. Null when the product
    /// is not in the index (unknown, or not indexed yet).
    /// </summary>
    public async Task<IReadOnlyList<SearchHit>?> SimilarAsync(string productId, int k, bool sameCategory, CancellationToken cancellationToken = default)
    {
        var own = await index.GetPayloadsAsync([productId], cancellationToken);
        if (!own.TryGetValue(productId, out var ownPayload))
            return null;
        var category = ProductIndex.ReadPayload(ownPayload).Product.Category;
        var filter = new Filter
        {
            MustNot = [new HasId([productId])],
            Must = sameCategory && !string.IsNullOrEmpty(category) ? [new MatchKeyword(ProductIndex.CategoryField, category)] : [],
        };
        var candidates = Math.Max(k * 4, fusion.MinCandidates);
        return await InBothSpacesAsync(space => new RecommendRequest(space, candidates) { Positive = [productId], Filter = filter },
            ("looks alike", "described alike"), k, "similarity", cancellationToken);
    }

    /// <summary>
    /// Products like the query's positive examples (and its words, encoded as one more positive example in both
    /// spaces: the model's space is shared), unlike its negative ones, in the image and the text space, fused by
    /// reciprocal rank. The examples themselves are never among the hits.
    /// </summary>
    public async Task<RecommendResult> RecommendAsync(RecommendQuery query, CancellationToken cancellationToken = default)
    {
        var examples = query.Positive.Concat(query.Negative).Distinct(StringComparer.Ordinal).ToList();
        var stored = examples.Count == 0 ? new Dictionary<string, string>() : await index.GetPayloadsAsync(examples, cancellationToken);
        var notIndexed = examples.Where(id => !stored.ContainsKey(id)).ToArray();
        if (notIndexed.Length > 0)
            return new RecommendResult([], notIndexed);

        var positive = query.Positive.Select(RecommendExample.Point).ToList();
        if (!string.IsNullOrWhiteSpace(query.Text))
            positive.Add(RecommendExample.Of(await encoder.EncodeTextAsync(query.Text, cancellationToken)));
        var filter = examples.Count == 0 ? null : new Filter { MustNot = [new HasId(examples)] };
        var candidates = Math.Max(query.K * 4, fusion.MinCandidates);
        RecommendRequest In(string space) => new(space, candidates)
        {
            Positive = positive,
            Negative = [.. query.Negative.Select(RecommendExample.Point)],
            Strategy = query.BestScore ? RecommendStrategy.BestScore : RecommendStrategy.AverageVector,
            Filter = filter,
        };
        var hits = await InBothSpacesAsync(In, ("looks like the examples", "described like the examples"), query.K, "score", cancellationToken);
        return new RecommendResult([.. hits], []);
    }

    /// <summary>
    /// The same recommendation in the image and the text space, fused by reciprocal rank with equal weights; each hit
    /// says which space's list it came from (<paramref name="reasons"/>), at which rank and score.
    /// </summary>
    private async Task<IReadOnlyList<SearchHit>> InBothSpacesAsync(Func<string, RecommendRequest> inSpace, (string Image, string Text) reasons,
        int k, string scoreName, CancellationToken cancellationToken)
    {
        var lists = new (string Reason, IReadOnlyList<ScoredPoint> Hits)[]
        {
            (reasons.Image, await index.RecommendAsync(inSpace(ProductIndex.ImageVector), cancellationToken)),
            (reasons.Text, await index.RecommendAsync(inSpace(ProductIndex.TextVector), cancellationToken)),
        };
        var fused = new Dictionary<string, (double Score, List<string> Reasons, string Payload)>(StringComparer.Ordinal);
        foreach (var (reason, hits) in lists)
        {
            var rank = 0;
            foreach (var hit in hits)
            {
                rank++;
                var entry = fused.TryGetValue(hit.Id, out var found) ? found : (0.0, [], hit.Payload!);
                entry.Reasons.Add($"{reason} (#{rank}, {scoreName} {hit.Score:F3})");
                fused[hit.Id] = (entry.Item1 + 1.0 / (fusion.RankConstant + rank), entry.Reasons, entry.Payload);
            }
        }
        return [.. fused.OrderByDescending(p => p.Value.Score).ThenBy(p => p.Key, StringComparer.Ordinal).Take(k)
            .Select(p => ToHit(p.Key, p.Value.Score, p.Value.Payload) with { Reasons = p.Value.Reasons })];
    }

    private static SearchHit ToHit(string id, double score, string payloadJson)
    {
        var product = ProductIndex.ReadPayload(payloadJson).Product;
        return new SearchHit(id, score, product.Title, product.Attributes ?? new Dictionary<string, string>());
    }
}
