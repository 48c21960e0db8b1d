using Platform.Catalog.Behaviour;
using Platform.Contracts;
using Platform.Contracts.Grains;
using Platform.Search;
using Platform.VectorStore;

namespace Platform.Retrieval.Behaviour;

/// <summary>How recommendations weigh their signals; the bounds on reranking keep the signals in charge.</summary>
public sealed record RecommendOptions
{
    /// <summary>How far back "popular" looks.</summary>
    public TimeSpan PopularWindow { get; init; } = TimeSpan.FromDays(7);

    public double TasteWeight { get; init; } = 1.0;
    public double CoOccurrenceWeight { get; init; } = 1.5;
    public double PopularWeight { get; init; } = 0.5;

    /// <summary>The most a product's category share of the shopper's interest raises its score (0.25: by a quarter).</summary>
    public double CategoryBoost { get; init; } = 0.25;

    /// <summary>The most a product's subcategory share of the shopper's interest raises its score: a catalog's categories
    /// can be broad ("Objects"), its subcategories say what a product is ("clothing").</summary>
    public double SubcategoryBoost { get; init; } = 0.5;

    /// <summary>The most a product's fit to the shopper's prices raises its score.</summary>
    public double PriceBoost { get; init; } = 0.15;

    /// <summary>How many of the shopper's or session's latest products anchor the co-occurrence signal.</summary>
    public int Anchors { get; init; } = 5;
}

/// <summary>
/// The recommendation APIs' logic: products like a product, like examples, for a shopper, next in a session. Each
/// gathers ranked lists from its signals (image and text neighbours, co-occurrence, popularity), fuses them by
/// weighted reciprocal rank, and says for every hit why it is there.
/// </summary>
public sealed class Recommender(IQueryEncoder encoder, ProductIndex index, IInteractionLog log, FusionOptions fusion, RecommendOptions options, TimeProvider time)
{
    /// <summary>
    /// Products like <paramref name="productId"/>: its nearest neighbours by image and by text, and the products shoppers
    /// interacted with together with it, never the product itself, only its category's when <paramref name="sameCategory"/>.
    /// Null when the product is not in the index.
    /// </summary>
    public async Task<IReadOnlyList<SearchHit>?> SimilarAsync(string productId, int k, bool sameCategory, ProductFilter? filter = null, CancellationToken cancellationToken = default)
    {
        var own = await index.GetProductsAsync([productId], withVectors: false, cancellationToken);
        if (!own.TryGetValue(productId, out var product))
            return null;
        if (sameCategory && !string.IsNullOrEmpty(product.Product.Category))
            filter = (filter ?? new ProductFilter()) with { Category = [product.Product.Category] };
        var candidates = Candidates(k);
        var storeFilter = ProductFilters.ToStoreFilter(filter, [productId]);
        var lists = await InBothSpacesAsync(space => new RecommendRequest(space, candidates) { Positive = [productId], Filter = storeFilter },
            ("looks alike", "described alike"), "similarity", 1.0, cancellationToken);
        lists.Add(await TogetherWithAsync([(productId, product.Product.Title, 1.0)], candidates, cancellationToken) with { Weight = 1.0 });
        return await FinishAsync(lists, k, filter, [productId], null, cancellationToken);
    }

    /// <summary>
    /// Products like the query's positive examples (and its words, encoded as one more positive example: the model's
    /// space is shared), unlike its negative ones, in the image and the text space. The examples are never among the hits.
    /// </summary>
    public async Task<RecommendResult> RecommendAsync(RecommendQuery query, CancellationToken cancellationToken = default)
    {
        var examples = query.Positive.Concat(query.Negative).Distinct(StringComparer.Ordinal).ToList();
        var stored = await index.GetProductsAsync(examples, withVectors: false, cancellationToken);
        var notIndexed = examples.Where(id => !stored.ContainsKey(id)).ToArray();
        if (notIndexed.Length > 0)
            return new RecommendResult([], notIndexed);

        var positive = query.Positive.Select(RecommendExample.Point).ToList();
        if (!string.IsNullOrWhiteSpace(query.Text))
            positive.Add(RecommendExample.Of(await encoder.EncodeTextAsync(query.Text, cancellationToken)));
        var storeFilter = ProductFilters.ToStoreFilter(query.Filter, examples);
        var candidates = Candidates(query.K);
        RecommendRequest In(string space) => new(space, candidates)
        {
            Positive = positive,
            Negative = [.. query.Negative.Select(RecommendExample.Point)],
            Strategy = query.BestScore ? RecommendStrategy.BestScore : RecommendStrategy.AverageVector,
            Filter = storeFilter,
        };
        var lists = await InBothSpacesAsync(In, ("looks like the examples", "described like the examples"), "score", 1.0, cancellationToken);
        return new RecommendResult([.. await FinishAsync(lists, query.K, query.Filter, examples, null, cancellationToken)], []);
    }

    /// <summary>
    /// Products for a shopper: near their taste in both spaces, often interacted with together with what they last
    /// liked, and popular lately; reranked (within <see cref="RecommendOptions.CategoryBoost"/> and
    /// <see cref="RecommendOptions.PriceBoost"/>) towards their categories and prices. Never what they bought or
    /// disliked, nor what they interacted with lately. A shopper with no history gets what is popular, or with no
    /// popularity yet, a pick across the catalog's categories.
    /// </summary>
    public async Task<IReadOnlyList<SearchHit>> ForShopperAsync(ShopperState state, int k, ProductFilter? filter, CancellationToken cancellationToken = default)
    {
        var exclude = state.Excluded.Concat(state.Recent.Select(r => r.ProductId)).ToHashSet(StringComparer.Ordinal);
        var storeFilter = ProductFilters.ToStoreFilter(filter, exclude);
        var candidates = Candidates(k);
        var lists = new List<RankedList>();
        lists.AddRange(await TasteListsAsync(state, candidates, storeFilter, options.TasteWeight, "what you liked", cancellationToken));
        var anchors = await AnchorsAsync(state.Recent.AsEnumerable().Reverse().Select(r => (r.ProductId, r.Type)), null, cancellationToken);
        if (anchors.Count > 0)
            lists.Add(await TogetherWithAsync(anchors, candidates, cancellationToken));
        lists.Add(await PopularAsync(candidates, state.HasTaste ? options.PopularWeight : 1.0, cancellationToken));
        return await FinishAsync(lists, k, filter, exclude, (state, "you often look at"), cancellationToken);
    }

    /// <summary>
    /// Next products for a session: like its latest product and its products together, and often interacted with
    /// together with its latest products; never a product the session already holds. A session with no interactions
    /// yet gets what is popular.
    /// </summary>
    public async Task<IReadOnlyList<SearchHit>> NextInSessionAsync(string sessionId, int k, ProductFilter? filter, CancellationToken cancellationToken = default)
    {
        var (events, session, products) = await ReadSessionAsync(sessionId, cancellationToken);
        var exclude = events.Select(e => e.Interaction.ProductId).ToHashSet(StringComparer.Ordinal);
        var storeFilter = ProductFilters.ToStoreFilter(filter, exclude);
        var candidates = Candidates(k);
        var anchors = await AnchorsAsync(events.AsEnumerable().Reverse().Select(e => (e.Interaction.ProductId, e.Interaction.Type)), products, cancellationToken);
        var lists = new List<RankedList>();
        if (anchors.Count > 0)
        {
            var (latest, title, _) = anchors[0];
            lists.AddRange(await InBothSpacesAsync(space => new RecommendRequest(space, candidates) { Positive = [latest], Filter = storeFilter },
                ($"looks like '{title}', seen last", $"described like '{title}', seen last"), "similarity", 1.0, cancellationToken));
            if (anchors.Count > 1)
                lists.AddRange(await TasteListsAsync(session, candidates, storeFilter, 0.7, "this session's products", cancellationToken));
            lists.Add(await TogetherWithAsync(anchors, candidates, cancellationToken));
        }
        lists.Add(await PopularAsync(candidates, anchors.Count > 0 ? 0.3 : 1.0, cancellationToken));
        return await FinishAsync(lists, k, filter, exclude, anchors.Count > 0 ? (session, "this session is about") : null, cancellationToken);
    }

    /// <summary>A session as a profile of its own (its taste, categories and prices), folded from its latest events alone.</summary>
    public async Task<ShopperState> SessionProfileAsync(string sessionId, CancellationToken cancellationToken = default) =>
        (await ReadSessionAsync(sessionId, cancellationToken)).Profile;

    /// <summary>A session's latest events, its profile, and its products as the index has them.</summary>
    private async Task<(IReadOnlyList<LoggedInteraction> Events, ShopperState Profile, IReadOnlyDictionary<string, IndexedProduct> Products)> ReadSessionAsync(
        string sessionId, CancellationToken cancellationToken)
    {
        var events = await log.SessionAsync(sessionId, 50, cancellationToken);
        var profile = new ShopperState();
        var products = await index.GetProductsAsync([.. events.Select(e => e.Interaction.ProductId).Distinct(StringComparer.Ordinal)], withVectors: true, cancellationToken);
        foreach (var logged in events)
            profile.Apply(logged, products.GetValueOrDefault(logged.Interaction.ProductId));
        return (events, profile, products);
    }

    private int Candidates(int k) => Math.Max(k * 4, fusion.MinCandidates);

    /// <summary>
    /// The latest distinct products liked (not disliked) and still in the index, most recent first, with their titles
    /// and recency weights; <paramref name="read"/> holds them when the caller has read them from the index already.
    /// </summary>
    private async Task<List<(string Id, string Title, double Weight)>> AnchorsAsync(IEnumerable<(string ProductId, InteractionType Type)> latestFirst,
        IReadOnlyDictionary<string, IndexedProduct>? read, CancellationToken cancellationToken)
    {
        var ids = latestFirst.Where(e => e.Type != InteractionType.Dislike).Select(e => e.ProductId).Distinct(StringComparer.Ordinal).Take(options.Anchors).ToList();
        var products = read ?? await index.GetProductsAsync(ids, withVectors: false, cancellationToken);
        return [.. ids.Where(products.ContainsKey).Select((id, i) => (id, products[id].Product.Title, 1.0 / (1 + i)))];
    }

    /// <summary>Products interacted with together with the anchors, their pair weights summed by the anchors' weights.</summary>
    private async Task<RankedList> TogetherWithAsync(IReadOnlyList<(string Id, string Title, double Weight)> anchors, int limit, CancellationToken cancellationToken)
    {
        var scores = new Dictionary<string, double>(StringComparer.Ordinal);
        var strongest = new Dictionary<string, (string Title, double Part)>(StringComparer.Ordinal);
        foreach (var (id, title, weight) in anchors)
        {
            foreach (var pair in await log.CoOccurringAsync(id, limit, cancellationToken))
            {
                var part = weight * pair.Score;
                scores[pair.ProductId] = scores.GetValueOrDefault(pair.ProductId) + part;
                if (!strongest.TryGetValue(pair.ProductId, out var best) || part > best.Part)
                    strongest[pair.ProductId] = (title, part);
            }
        }
        var items = scores.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Take(limit)
            .Select(p => new ProductScore(p.Key, p.Value)).ToList();
        var label = anchors.Count == 1 ? $"often together with '{anchors[0].Title}'" : "often together with what you looked at";
        return new RankedList("co-occurrence", options.CoOccurrenceWeight, items, label, "weight");
    }

    private async Task<RankedList> PopularAsync(int limit, double weight, CancellationToken cancellationToken)
    {
        // More than the limit: the filter and exclusions apply after, in FinishAsync.
        var popular = await log.PopularAsync(time.GetUtcNow() - options.PopularWindow, limit * 3, cancellationToken);
        return new RankedList("popularity", weight, popular, $"popular in the last {options.PopularWindow.TotalDays:0} days", "weight");
    }

    /// <summary>Products near a profile's taste vectors in the image and the text space (none when it has no taste).</summary>
    private async Task<List<RankedList>> TasteListsAsync(ShopperState profile, int candidates, Filter? storeFilter, double weight, string whose,
        CancellationToken cancellationToken)
    {
        var lists = new List<RankedList>();
        if (!profile.HasTaste)
            return lists;
        if (ShopperState.Unit(profile.ImageTaste) is { } imageQuery)
            lists.Add(Scored("taste-image", weight, await index.SearchAsync(ProductIndex.ImageVector, imageQuery, candidates, storeFilter, cancellationToken),
                $"looks like {whose}", "similarity"));
        if (ShopperState.Unit(profile.TextTaste) is { } textQuery)
            lists.Add(Scored("taste-text", weight, await index.SearchAsync(ProductIndex.TextVector, textQuery, candidates, storeFilter, cancellationToken),
                $"described like {whose}", "similarity"));
        return lists;
    }

    private async Task<List<RankedList>> InBothSpacesAsync(Func<string, RecommendRequest> inSpace, (string Image, string Text) reasons,
        string scoreName, double weight, CancellationToken cancellationToken) =>
    [
        Scored("image-neighbours", weight, await index.RecommendAsync(inSpace(ProductIndex.ImageVector), cancellationToken), reasons.Image, scoreName),
        Scored("text-neighbours", weight, await index.RecommendAsync(inSpace(ProductIndex.TextVector), cancellationToken), reasons.Text, scoreName),
    ];

    private static RankedList Scored(string signal, double weight, IReadOnlyList<ScoredPoint> hits, string reason, string scoreName) =>
        new(signal, weight, [.. hits.Select(h => new ProductScore(h.Id, h.Score))], reason, scoreName);

    /// <summary>
    /// Fuses the lists; drops the excluded and those the filter refuses (the lists from the log are not filtered by the
    /// store); reranks towards a profile's categories and prices (a shopper's, a session's) when given; fills up from across the
    /// catalog when the signals gave too little (a new platform, a new shopper); and reads the products' payloads.
    /// </summary>
    private async Task<IReadOnlyList<SearchHit>> FinishAsync(List<RankedList> lists, int k, ProductFilter? filter, IReadOnlyCollection<string> exclude,
        (ShopperState Profile, string Interest)? rerank, CancellationToken cancellationToken)
    {
        var excluded = exclude as IReadOnlySet<string> ?? exclude.ToHashSet(StringComparer.Ordinal);
        var fused = RankFusion.Fuse(lists, fusion.RankConstant).Where(c => !excluded.Contains(c.Id)).ToList();
        var products = await index.GetProductsAsync([.. fused.Select(c => c.Id)], withVectors: false, cancellationToken);
        fused = [.. fused.Where(c => products.TryGetValue(c.Id, out var p) && (filter is null || filter.Matches(p.Product)))];
        if (rerank is var (profile, interest))
        {
            foreach (var candidate in fused)
            {
                var product = products[candidate.Id].Product;
                var share = profile.CategoryShare(product.Category);
                var subcategory = product.Attributes?.GetValueOrDefault(ProductFilter.SubcategoryAttribute);
                var subShare = profile.SubcategoryShare(subcategory);
                var fit = profile.PriceFit(product.Price);
                candidate.Score *= (1 + options.CategoryBoost * share) * (1 + options.SubcategoryBoost * subShare) * (1 + options.PriceBoost * fit);
                if (share >= 0.2)
                    candidate.Note($"{interest} {product.Category} ({share:P0})");
                if (subShare >= 0.2)
                    candidate.Note($"{interest} {subcategory} ({subShare:P0})");
                if (fit >= 0.6)
                    candidate.Note("in your usual price range");
            }
            fused = [.. fused.OrderByDescending(c => c.Score).ThenBy(c => c.Id, StringComparer.Ordinal)];
        }
        var hits = fused.Take(k).Select(c => ToHit(c.Id, c.Score, products[c.Id].Product) with { Reasons = c.Reasons() }).ToList();
        if (hits.Count < k)
            hits.AddRange(await AcrossCatalogAsync(k - hits.Count, filter, excluded.Concat(hits.Select(h => h.Id)).ToHashSet(StringComparer.Ordinal), cancellationToken));
        return hits;
    }

    /// <summary>A pick from across the catalog, one category at a time in turn: the cold start with no signal at all.</summary>
    private async Task<IReadOnlyList<SearchHit>> AcrossCatalogAsync(int count, ProductFilter? filter, IReadOnlySet<string> exclude, CancellationToken cancellationToken)
    {
        var page = await index.Store.ScrollAsync(index.Collection, new ScrollRequest(Math.Min(1000, Math.Max(count * 20, 200)))
        {
            Filter = ProductFilters.ToStoreFilter(filter, exclude),
        }, cancellationToken);
        var byCategory = page.Points.Select(p => ProductIndex.ReadPayload(p.Payload).Product)
            .GroupBy(p => p.Category ?? "", StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new Queue<ProductInfo>(g)).ToList();
        var picks = new List<SearchHit>(count);
        while (picks.Count < count && byCategory.Any(q => q.Count > 0))
        {
            foreach (var queue in byCategory.Where(q => q.Count > 0))
            {
                if (picks.Count == count)
                    break;
                var product = queue.Dequeue();
                picks.Add(ToHit(product.Id, 0, product) with { Reasons = ["a pick from across the catalog (nothing to go on yet)"] });
            }
        }
        return picks;
    }

    private static SearchHit ToHit(string id, double score, ProductInfo product) => SearchHit.Of(id, score, product);
}
