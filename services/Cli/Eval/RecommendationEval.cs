using Platform.Catalog.Behaviour;
using Platform.Contracts;
using Platform.Retrieval;
using Platform.Retrieval.Behaviour;
using Platform.Search;

namespace Platform.Cli.Eval;

/// <summary>One recommendation task's figures for one system.</summary>
public sealed record RecommendationRow(string Task, string System, int Cases, double HitRate, double Ndcg, double Coverage);

/// <summary>The recommendation report: how the shoppers were simulated, and each task per system.</summary>
public sealed record RecommendationReport(int Shoppers, int Seed, int Interactions, int K, string Simulator, IReadOnlyList<RecommendationRow> Rows);

/// <summary>
/// Measures the recommendation APIs on simulated shoppers whose tastes the recommender never sees: each shopper likes
/// one to three subcategories and a price band, and browses in three sessions, mostly within their taste (in their
/// price band thrice as likely), sometimes anywhere. Every interaction but each shopper's last goes into a real
/// interaction log (aggregated as the platform aggregates); the last one is held out. Tasks: the shopper's
/// recommendations, and the next item of their last session, each against the popularity and random baselines; and
/// <c>similar</c> against judged pairs (the composed set's photo → target). Seeded: the same figures every run.
/// </summary>
public sealed class RecommendationEval(ProductIndex index, Platform.Retrieval.IQueryEncoder encoder, int k)
{
    public const int DefaultShoppers = 400;
    public const int DefaultSeed = 20261202;
    private const double TasteShare = 0.8;

    private sealed record Simulated(string Id, List<Interaction> Train, Interaction Target, string LastSession);

    public async Task<RecommendationReport> RunAsync(IReadOnlyList<ProductInfo> catalog, IReadOnlyList<(string Photo, IReadOnlySet<string> Relevant)> similarPairs,
        int shoppers, int seed, CancellationToken ct)
    {
        var directory = Directory.CreateTempSubdirectory("platform-eval-reco-").FullName;
        try
        {
            var log = new SqliteInteractionLog(Path.Combine(directory, "interactions.db"));
            var time = TimeProvider.System;
            var recommender = new Recommender(encoder, index, log, new FusionOptions(), new RecommendOptions(), time);
            var simulated = Simulate(catalog, shoppers, seed, time.GetUtcNow());
            var train = simulated.SelectMany(s => s.Train).ToList();
            foreach (var batch in train.Chunk(500))
            {
                await log.AppendAsync(batch, ct);
                await log.AggregateAsync([.. batch.Select(i => i.EventId)], ct);
            }

            var rows = new List<RecommendationRow>();
            var popular = (await log.PopularAsync(time.GetUtcNow() - new RecommendOptions().PopularWindow, catalog.Count, ct)).Select(p => p.ProductId).ToList();
            var random = new Random(seed + 1);
            var ids = catalog.Select(p => p.Id).ToList();
            List<string> Popular(ISet<string> seen) => [.. popular.Where(id => !seen.Contains(id)).Take(k)];
            List<string> Random(ISet<string> seen) => [.. ids.Where(id => !seen.Contains(id)).OrderBy(_ => random.Next()).Take(k)];

            var forShopper = new Results(k);
            var nextInSession = new Results(k);
            foreach (var shopper in simulated)
            {
                var seen = shopper.Train.Select(i => i.ProductId).ToHashSet(StringComparer.Ordinal);
                var state = new ShopperState();
                var logged = await log.ShopperAsync(shopper.Id, 0, 1000, ct);
                var products = await index.GetProductsAsync([.. seen], withVectors: true, ct);
                foreach (var entry in logged)
                    state.Apply(entry, products.GetValueOrDefault(entry.Interaction.ProductId));
                var target = shopper.Target.ProductId;
                forShopper.Add("platform", target, [.. (await recommender.ForShopperAsync(state, k, null, ct)).Select(h => h.Id)]);
                forShopper.Add("popularity", target, Popular(seen));
                forShopper.Add("random", target, Random(seen));

                var session = shopper.Train.Where(i => i.SessionId == shopper.LastSession).Select(i => i.ProductId).ToHashSet(StringComparer.Ordinal);
                nextInSession.Add("platform", target, [.. (await recommender.NextInSessionAsync(shopper.LastSession, k, null, ct)).Select(h => h.Id)]);
                nextInSession.Add("popularity", target, Popular(session));
                nextInSession.Add("random", target, Random(session));
            }
            rows.AddRange(forShopper.Rows("shopper recommendations (held-out last interaction)", ids.Count));
            rows.AddRange(nextInSession.Rows("next in session (held-out last interaction)", ids.Count));

            if (similarPairs.Count > 0)
            {
                var similar = new Results(k);
                foreach (var (photo, relevant) in similarPairs)
                {
                    var hits = await recommender.SimilarAsync(photo, k, sameCategory: false, cancellationToken: ct);
                    var exclude = new HashSet<string>(StringComparer.Ordinal) { photo };
                    similar.Add("platform", relevant, [.. (hits ?? []).Select(h => h.Id)]);
                    similar.Add("popularity", relevant, Popular(exclude));
                    similar.Add("random", relevant, Random(exclude));
                }
                rows.AddRange(similar.Rows("similar (judged pairs: the composed set's photo → its targets)", ids.Count));
            }
            return new RecommendationReport(shoppers, seed, train.Count, k,
                $"{shoppers} shoppers, each liking 1–3 subcategories and a price band; 3 sessions of 3–7 interactions, {TasteShare:P0} within their taste; the last interaction held out",
                rows);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Hits per system: HitRate@k, nDCG@k (binary relevance) and the share of the catalog recommended to anyone.</summary>
    private sealed class Results(int k)
    {
        private readonly Dictionary<string, (int Cases, double Hits, double Ndcg, HashSet<string> Shown)> _systems = [];
        private readonly List<string> _order = [];

        public void Add(string system, string target, IReadOnlyList<string> ranked) => Add(system, new HashSet<string>(StringComparer.Ordinal) { target }, ranked);

        public void Add(string system, IReadOnlySet<string> relevant, IReadOnlyList<string> ranked)
        {
            if (!_systems.TryGetValue(system, out var s))
            {
                s = (0, 0, 0, new HashSet<string>(StringComparer.Ordinal));
                _order.Add(system);
            }
            var first = ranked.Select((id, i) => (id, i)).FirstOrDefault(p => relevant.Contains(p.id), (null!, -1)).Item2;
            var dcg = ranked.Select((id, i) => relevant.Contains(id) ? 1 / Math.Log2(i + 2) : 0).Sum();
            var ideal = Enumerable.Range(0, Math.Min(relevant.Count, k)).Sum(i => 1 / Math.Log2(i + 2));
            s.Shown.UnionWith(ranked);
            _systems[system] = (s.Cases + 1, s.Hits + (first >= 0 ? 1 : 0), s.Ndcg + (ideal > 0 ? dcg / ideal : 0), s.Shown);
        }

        public IEnumerable<RecommendationRow> Rows(string task, int catalogSize) => _order.Select(name =>
        {
            var s = _systems[name];
            return new RecommendationRow(task, name, s.Cases, s.Hits / s.Cases, s.Ndcg / s.Cases, (double)s.Shown.Count / catalogSize);
        });
    }

    private static List<Simulated> Simulate(IReadOnlyList<ProductInfo> catalog, int shoppers, int seed, DateTimeOffset now)
    {
        var random = new Random(seed);
        var bySubcategory = catalog.Where(p => p.Attributes?.ContainsKey("subcategory") == true)
            .GroupBy(p => p.Attributes!["subcategory"], StringComparer.Ordinal)
            .Where(g => g.Count() >= 6).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList());
        var subcategories = bySubcategory.Keys.ToList();
        var start = now - TimeSpan.FromDays(6);
        var result = new List<Simulated>(shoppers);
        for (var s = 0; s < shoppers; s++)
        {
            var id = $"sim-{s:D4}";
            var tastes = subcategories.OrderBy(_ => random.Next()).Take(random.Next(1, 4)).ToList();
            var anchor = bySubcategory[tastes[0]][random.Next(bySubcategory[tastes[0]].Count)].Price ?? 20m;
            var (low, high) = ((double)anchor / 1.8, (double)anchor * 1.8);
            var chosen = new HashSet<string>(StringComparer.Ordinal);
            var events = new List<Interaction>();
            var at = start + TimeSpan.FromMinutes(random.Next(0, 60 * 24));
            string session = "";
            for (var visit = 0; visit < 3; visit++)
            {
                session = $"{id}-visit-{visit}";
                var length = random.Next(3, 8);
                for (var n = 0; n < length; n++)
                {
                    var product = Pick(random, catalog, bySubcategory, tastes, low, high, chosen);
                    chosen.Add(product.Id);
                    var roll = random.NextDouble();
                    var type = roll < 0.65 ? InteractionType.View : roll < 0.85 ? InteractionType.Click : roll < 0.95 ? InteractionType.Cart : InteractionType.Purchase;
                    events.Add(new Interaction($"{session}-{n}", id, session, product.Id, type, at));
                    at += TimeSpan.FromMinutes(random.Next(1, 6));
                }
                at += TimeSpan.FromHours(random.Next(10, 30));
            }
            result.Add(new Simulated(id, events[..^1], events[^1], session));
        }
        return result;
    }

    private static ProductInfo Pick(Random random, IReadOnlyList<ProductInfo> catalog, Dictionary<string, List<ProductInfo>> bySubcategory,
        List<string> tastes, double low, double high, HashSet<string> chosen)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            if (random.NextDouble() >= TasteShare)
            {
                var any = catalog[random.Next(catalog.Count)];
                if (!chosen.Contains(any.Id))
                    return any;
                continue;
            }
            var pool = bySubcategory[tastes[random.Next(tastes.Count)]].Where(p => !chosen.Contains(p.Id)).ToList();
            if (pool.Count == 0)
                continue;
            var weights = pool.Select(p => p.Price is { } price && (double)price >= low && (double)price <= high ? 3.0 : 1.0).ToList();
            var roll = random.NextDouble() * weights.Sum();
            for (var i = 0; i < pool.Count; i++)
            {
                roll -= weights[i];
                if (roll <= 0)
                    return pool[i];
            }
            return pool[^1];
        }
        return catalog.First(p => !chosen.Contains(p.Id));
    }
}
