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

    private static SearchHit ToHit(string id, double score, string payloadJson) => SearchHit.Of(id, score, ProductIndex.ReadPayload(payloadJson).Product);
}
