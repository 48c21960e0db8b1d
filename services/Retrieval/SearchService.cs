using Platform.Contracts;
using Platform.Contracts.Grains;
using Platform.Inference;
using Platform.Retrieval.Behaviour;
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

    /// <summary>Weight of the typo-tolerant list (character trigrams of the query's longer words against the product's short fields).</summary>
    public double FuzzyWeight { get; init; } = 1.0;

    /// <summary>Weight of the query-text vs product-text embedding list.</summary>
    public double TextVectorWeight { get; init; } = 0.5;

    /// <summary>Weight of the query-text vs product-image embedding list (cross-modal).</summary>
    public double ImageVectorWeight { get; init; } = 0.5;

    /// <summary>
    /// <see cref="TextVectorWeight"/> for words mostly in CJK (<see cref="CjkScript.IsMostlyCjk"/>), which a package
    /// with a <c>cjk_text</c> tower encodes with another tower than English words: its vectors may deserve more or
    /// less trust than the main tower's. Null: the same as <see cref="TextVectorWeight"/>.
    /// </summary>
    public double? CjkTextVectorWeight { get; init; }

    /// <summary><see cref="ImageVectorWeight"/> for words mostly in CJK; null: the same.</summary>
    public double? CjkImageVectorWeight { get; init; }

    /// <summary>
    /// Words (not mostly CJK) of at least this many words are a sentence that describes a need ("something warm for my
    /// hands") rather than a product's name: its lexical, title, fuzzy and vector lists weigh the <c>Sentence*</c> weights. Measured on
    /// the demo catalog, the embeddings read such sentences better than the lexical lists do, while one or two words
    /// (a name, a typo) are best matched by their letters. 0: no query is a sentence.
    /// </summary>
    public int SentenceWords { get; init; }

    /// <summary><see cref="TextVectorWeight"/> for a sentence (<see cref="SentenceWords"/>); null: the same.</summary>
    public double? SentenceTextVectorWeight { get; init; }

    /// <summary><see cref="ImageVectorWeight"/> for a sentence; null: the same.</summary>
    public double? SentenceImageVectorWeight { get; init; }

    /// <summary><see cref="FuzzyWeight"/> for a sentence; null: the same.</summary>
    public double? SentenceFuzzyWeight { get; init; }

    /// <summary><see cref="LexicalWeight"/> for a sentence; null: the same.</summary>
    public double? SentenceLexicalWeight { get; init; }

    /// <summary><see cref="TitleMatchWeight"/> for a sentence; null: the same.</summary>
    public double? SentenceTitleMatchWeight { get; init; }

    /// <summary>Weight of the photo vs product-image embedding list (and, in early fusion, the combined vector's image list).</summary>
    public double PhotoWeight { get; init; } = 1.0;

    /// <summary>
    /// For a photo with words: weight of the photo vs product-text embedding list (cross-modal; in early fusion, the
    /// combined vector's text list). The photo's own product is not a hit there, so nothing it pushes down matters.
    /// </summary>
    public double PhotoTextWeight { get; init; } = 0;

    /// <summary>
    /// For a photo alone: weight of the photo vs product-text list. Off by default, so a photo alone ranks as
    /// <c>POST /v1/search/image</c> does: rank fusion is flat near the top, and this weaker list pushes a photo's own
    /// product below ones merely ranked well in both. No judged set of shoppers' own photos says it helps.
    /// </summary>
    public double PhotoAloneTextWeight { get; init; } = 0;

    /// <summary>In early fusion, the words' share of the combined query vector; the photo has the rest.</summary>
    public double TextShare { get; init; } = 0.5;

    /// <summary>How words with a photo are fused unless the request says; chosen by <c>platform eval</c> on the composed set.</summary>
    public FusionMode ComposedFusion { get; init; } = FusionMode.Late;

    /// <summary>
    /// For a photo with words: how many of the photo's nearest products the words choose among ("like this, but red"
    /// is something like this). 0 lets the words reach the whole catalog.
    /// </summary>
    public int PhotoNeighbourhood { get; init; } = 50;

    /// <summary>
    /// For a photo with words, products whose image is this close to the photo (cosine) are the photo's own product:
    /// the words ask for another. Measured on the demo catalog with shopping-clip: a catalog picture re-encoded as
    /// JPEG (quality 60 to 90) or scaled to half scores at least 0.997 against itself, while variants (a mirrored
    /// magnifying glass, a padlock with its key, eleven o'clock beside one o'clock) score up to 0.993, and must stay.
    /// A cropped photo (0.96 to 0.996) may not be recognised as the product's own. Another model scores otherwise: its
    /// package's fusion.json sets its own, chosen from <c>platform eval</c>'s "same photo" section (both sides measured).
    /// </summary>
    public double SamePhoto { get; init; } = 0.997;

    /// <summary>
    /// For a photo with words: weight of the list that reads the words in the photo's context, BM25 over the words
    /// and the titles of the photo's nearest product ("open" + a folder's photo reads "open", then "file folder").
    /// </summary>
    public double CaptionWeight { get; init; } = 1.0;

    /// <summary>In the caption list, the weight of each word of the photo's nearest product's titles (the shopper's own words weigh 1).</summary>
    public double CaptionTermWeight { get; init; } = 0.5;

    /// <summary>
    /// The share of its score a hit loses when its title holds a word the query rules out ("flat, no heel", "without
    /// the face"): 0.5 halves it.
    /// </summary>
    public double RuledOutPenalty { get; init; } = 0.5;

    /// <summary>How much a shopper's taste may raise a hit's score by default (a fraction; a request may ask up to 0.5).</summary>
    public double Personalisation { get; init; } = 0.2;

    /// <summary>How many candidates each signal contributes before fusion, at least.</summary>
    public int MinCandidates { get; init; } = 50;

    /// <summary>The file in a model package that holds the fusion fitted for that model (<c>platform fit-fusion --write</c>).</summary>
    public const string FileName = "fusion.json";

    private static readonly System.Text.Json.JsonSerializerOptions Json = new(System.Text.Json.JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.CamelCase) },
    };

    /// <summary>The fusion fitted for the model in <paramref name="modelDirectory"/>, or the defaults when it has none.</summary>
    /// <exception cref="InvalidDataException">The package's fusion.json does not parse.</exception>
    public static FusionOptions ForModel(string modelDirectory)
    {
        var path = Path.Combine(modelDirectory, FileName);
        if (!File.Exists(path))
            return new FusionOptions();
        try
        {
            return System.Text.Json.JsonSerializer.Deserialize<FusionOptions>(File.ReadAllText(path), Json)
                ?? throw new InvalidDataException($"{path} is empty");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidDataException($"{path} is not a valid fusion file: {e.Message}", e);
        }
    }

    public string ToJson() => System.Text.Json.JsonSerializer.Serialize(this, Json);

    /// <summary>What kind of words <paramref name="words"/> are, for the weights of their lists.</summary>
    public QueryWords KindOf(string? words)
    {
        var (mostlyCjk, wordCount) = Measure(words);
        return KindOf(mostlyCjk, wordCount);
    }

    /// <summary>What <see cref="KindOf(bool, int)"/> reads of a query's words: whether they are mostly CJK, and how many words (outside CJK) they count.</summary>
    public static (bool MostlyCjk, int WordCount) Measure(string? words) =>
        string.IsNullOrWhiteSpace(words) ? (false, 0) : (CjkScript.IsMostlyCjk(words), TextTokens.Words(words).Count());

    /// <summary>What kind of words a query's are, from whether they are mostly CJK and how many words (outside CJK) they count.</summary>
    public QueryWords KindOf(bool mostlyCjk, int wordCount) =>
        mostlyCjk ? QueryWords.Cjk : SentenceWords > 0 && wordCount >= SentenceWords ? QueryWords.Sentence : QueryWords.Keywords;

    /// <summary>The weights a request's own override, each field it leaves null taking these.</summary>
    /// <param name="photoAlone">The query is a photo without words: the photo-text list weighs <see cref="PhotoAloneTextWeight"/>.</param>
    /// <param name="words">
    /// The kind of the query's words: mostly CJK, the text's vector lists weigh <see cref="CjkTextVectorWeight"/> and
    /// <see cref="CjkImageVectorWeight"/>; a sentence, the <c>Sentence*</c> weights.
    /// </param>
    public SignalWeights Resolve(SignalWeights? asked, bool photoAlone = false, QueryWords words = QueryWords.Keywords) => new()
    {
        Lexical = asked?.Lexical ?? (words == QueryWords.Sentence ? SentenceLexicalWeight ?? LexicalWeight : LexicalWeight),
        Title = asked?.Title ?? (words == QueryWords.Sentence ? SentenceTitleMatchWeight ?? TitleMatchWeight : TitleMatchWeight),
        Fuzzy = asked?.Fuzzy ?? (words == QueryWords.Sentence ? SentenceFuzzyWeight ?? FuzzyWeight : FuzzyWeight),
        TextVector = asked?.TextVector ?? words switch
        {
            QueryWords.Cjk => CjkTextVectorWeight ?? TextVectorWeight,
            QueryWords.Sentence => SentenceTextVectorWeight ?? TextVectorWeight,
            _ => TextVectorWeight,
        },
        ImageVector = asked?.ImageVector ?? words switch
        {
            QueryWords.Cjk => CjkImageVectorWeight ?? ImageVectorWeight,
            QueryWords.Sentence => SentenceImageVectorWeight ?? ImageVectorWeight,
            _ => ImageVectorWeight,
        },
        Photo = asked?.Photo ?? PhotoWeight,
        PhotoText = asked?.PhotoText ?? (photoAlone ? PhotoAloneTextWeight : PhotoTextWeight),
        Caption = asked?.Caption ?? CaptionWeight,
        TextShare = asked?.TextShare ?? TextShare,
    };
}

/// <summary>The kinds of query words that <see cref="FusionOptions"/> may weigh apart.</summary>
public enum QueryWords
{
    /// <summary>A few words: a product's name, a category, a typo.</summary>
    Keywords,

    /// <summary>A sentence that describes a need (<see cref="FusionOptions.SentenceWords"/> words or more).</summary>
    Sentence,

    /// <summary>Words mostly in CJK (<see cref="CjkScript.IsMostlyCjk"/>).</summary>
    Cjk,
}

/// <summary>Turns a shopper's query into the model's space: through an encoder grain when served, directly in the eval.</summary>
public interface IQueryEncoder
{
    Task<float[]> EncodeTextAsync(string text, CancellationToken cancellationToken);

    Task<float[]> EncodeImageAsync(ImageInput image, CancellationToken cancellationToken);
}

/// <summary>
/// The query path: encodes the words and the photo, gathers candidates from each signal under the filter, fuses them
/// by weighted reciprocal rank, then personalises, boosts, thresholds, counts facets and diversifies, in that order.
/// Lexical matches weigh most by default: they are what a shopper typing a product's words expects first.
/// </summary>
public sealed class SearchService(IQueryEncoder encoder, ProductIndex index, FusionOptions fusion, TimeProvider time)
{
    public const int MaxK = 100;

    /// <summary>Decimals of the scores served; minScore is compared with the score as served.</summary>
    public const int ScoreDecimals = 6;

    /// <summary>How recent an <c>added</c> date makes a product new, for the boost.</summary>
    public static readonly TimeSpan NewFor = TimeSpan.FromDays(30);

    /// <summary>The price bands facets count in (lower bound inclusive, upper exclusive; the last is open).</summary>
    public static readonly decimal[] PriceBandEdges = [10, 25, 50, 100, 250];

    /// <summary>The words-only search of <c>GET /v1/search</c>: the composed search with words alone.</summary>
    public async Task<IReadOnlyList<SearchHit>> SearchTextAsync(string query, int k, CancellationToken cancellationToken = default) =>
        (await SearchAsync(new SearchQuery { Text = query, K = k }, null, cancellationToken)).Results;

    /// <summary>Products whose images are nearest to <paramref name="image"/>; the score is the cosine similarity.</summary>
    public async Task<IReadOnlyList<SearchHit>> SearchImageAsync(ImageInput image, int k, CancellationToken cancellationToken = default)
    {
        var vector = await encoder.EncodeImageAsync(image, cancellationToken);
        var hits = await index.SearchAsync(ProductIndex.ImageVector, vector, k, cancellationToken: cancellationToken);
        return hits.Select(h => SearchHit.Of(h.Id, h.Score, ProductIndex.ReadPayload(h.Payload!).Product)).ToList();
    }

    /// <summary>
    /// The composed search. A hit's score is its fused score as a share of the best possible one (first in every
    /// signal): 0 to 1 before personalisation and boosts, which may raise it by their bounded fractions.
    /// </summary>
    public async Task<SearchResult> SearchAsync(SearchQuery query, ShopperTaste? taste, CancellationToken cancellationToken = default)
    {
        var (gathered, candidates, mode, photo, ruledOut) = await GatherAsync(query, everySignal: false, cancellationToken);
        var lists = Gate(gathered, photo, fusion.PhotoNeighbourhood, fusion.SamePhoto).ToList();
        var ideal = lists.Where(l => l.Items.Count > 0).Sum(l => Math.Max(0, l.Weight)) / (fusion.RankConstant + 1);
        var fused = RankFusion.Fuse(lists, fusion.RankConstant);
        foreach (var candidate in fused)
            candidate.Score = ideal > 0 ? candidate.Score / ideal : 0;
        var products = fused.Where(c => candidates.Contains(c.Id)).ToDictionary(c => c.Id, c => candidates[c.Id], StringComparer.Ordinal);
        fused = [.. fused.Where(c => products.ContainsKey(c.Id))];

        var explanations = fused.ToDictionary(c => c.Id, c => c.Signals.Select(s => new SignalExplanation(s.Signal, s.Rank, s.Score, s.Weight, s.Contribution / Math.Max(ideal, 1e-12))).ToList());
        Demote(fused, ruledOut, fusion.RuledOutPenalty, explanations);
        var needVectors = taste is not null || query.Diversity > 0;
        var vectors = needVectors
            ? await index.GetProductsAsync([.. fused.Take(Math.Max(query.K * 4, fusion.MinCandidates)).Select(c => c.Id)], withVectors: true, cancellationToken)
            : new Dictionary<string, IndexedProduct>();
        if (taste is not null)
            Personalise(fused, taste, query.Personalisation ?? fusion.Personalisation, products, vectors, explanations);
        if (query.Boosts is { Any: true } boosts)
            Boost(fused, boosts, products, explanations);
        // Against the score as served (rounded): a minScore copied from a hit keeps that hit.
        fused = [.. fused.Where(c => Math.Round(c.Score, ScoreDecimals) >= query.MinScore).OrderByDescending(c => c.Score).ThenBy(c => c.Id, StringComparer.Ordinal)];
        var facets = CountFacets(fused.Select(c => products[c.Id]));
        if (query.Diversity > 0)
            fused = Diversify(fused, query.Diversity, query.K, vectors);
        var hits = fused.Take(query.K).Select(c => SearchHit.Of(c.Id, Math.Round(c.Score, ScoreDecimals), products[c.Id]) with
        {
            Explain = query.Explain ? explanations[c.Id] : null,
        }).ToArray();
        return new SearchResult(hits, facets, mode);
    }

    /// <summary>What a query's signals ranked, before fusion: the lists (with the weights they fuse at) and the hits' payloads.</summary>
    /// <param name="Photo">For a photo with words: the photo's nearest products by image, which gate the lists (see <see cref="Gate"/>).</param>
    /// <param name="RuledOut">Candidates whose titles hold a word the query rules out ("no heel"): they are demoted.</param>
    public sealed record Gathered(List<RankedList> Lists, CandidateProducts Products, FusionMode? Mode, IReadOnlyList<ProductScore>? Photo = null,
        IReadOnlySet<string>? RuledOut = null);

    /// <summary>The candidates' payloads as the store returned them, each read (parsed) at most once, when first asked for.</summary>
    public sealed class CandidateProducts
    {
        private readonly Dictionary<string, string> _payloads = new(StringComparer.Ordinal);
        private readonly Dictionary<string, ProductInfo> _read = new(StringComparer.Ordinal);

        public void Add(ScoredPoint hit) => _payloads.TryAdd(hit.Id, hit.Payload!);

        public bool Contains(string id) => _payloads.ContainsKey(id);

        public IEnumerable<string> Ids => _payloads.Keys;

        public ProductInfo this[string id]
        {
            get
            {
                if (!_read.TryGetValue(id, out var product))
                    _read[id] = product = ProductIndex.ReadPayload(_payloads[id]).Product;
                return product;
            }
        }
    }

    /// <summary>
    /// A photo with words asks for something like the photo: every list keeps only the photo's
    /// <paramref name="neighbourhood"/> nearest products (all, for 0), never one whose image is the photo's own
    /// (cosine at least <paramref name="same"/>), and ranks are counted again within what is kept.
    /// </summary>
    public static IEnumerable<RankedList> Gate(IEnumerable<RankedList> lists, IReadOnlyList<ProductScore>? photo, int neighbourhood, double same)
    {
        if (photo is null)
            return lists;
        var own = photo.Where(p => p.Score >= same).Select(p => p.ProductId).ToHashSet(StringComparer.Ordinal);
        var near = neighbourhood > 0 ? photo.Take(neighbourhood).Select(p => p.ProductId).ToHashSet(StringComparer.Ordinal) : null;
        return lists.Select(l => l with { Items = [.. l.Items.Where(i => !own.Contains(i.ProductId) && (near is null || near.Contains(i.ProductId)))] });
    }

    /// <summary>
    /// Encodes the query and asks each signal for its candidates under the filter. A signal weighted 0 is not asked,
    /// unless <paramref name="everySignal"/> (for fitting the weights: <c>platform fit-fusion</c> fuses the lists again
    /// under other weights, which gives exactly the ranking <see cref="SearchAsync"/> would).
    /// </summary>
    public async Task<Gathered> GatherAsync(SearchQuery query, bool everySignal, CancellationToken cancellationToken = default)
    {
        var typed = string.IsNullOrWhiteSpace(query.Text) ? null : query.Text;
        var weights = fusion.Resolve(query.Weights, photoAlone: typed is null && query.Image is not null, words: fusion.KindOf(typed));
        var candidates = Math.Max(query.K * 4, fusion.MinCandidates);
        var filter = ProductFilters.ToStoreFilter(query.Filter);
        var (text, ruledOut) = await RuleOutAsync(typed, query.Image is not null, filter, cancellationToken);
        var textVector = text is null ? null : encoder.EncodeTextAsync(text, cancellationToken);
        var photoVector = query.Image is null ? null : encoder.EncodeImageAsync(query.Image, cancellationToken);
        FusionMode? mode = typed is not null && query.Image is not null ? query.Fusion ?? fusion.ComposedFusion : null;

        var products = new CandidateProducts();
        var lists = new List<RankedList>();
        async Task Add(string signal, double? weight, Func<Task<IReadOnlyList<ScoredPoint>>> search, string scoreName)
        {
            if (weight is not > 0 && !everySignal)
                return;
            var hits = await search();
            foreach (var hit in hits)
                products.Add(hit);
            lists.Add(new RankedList(signal, weight ?? 0, [.. hits.Select(h => new ProductScore(h.Id, h.Score))], signal, scoreName));
        }
        Func<Task<IReadOnlyList<ScoredPoint>>> Nearest(string space, float[] vector) =>
            () => index.SearchAsync(space, vector, candidates, filter, cancellationToken).AsTask();

        if (text is not null)
        {
            await Add("lexical", weights.Lexical, () => index.SearchLexicalAsync(text, candidates, filter, cancellationToken).AsTask(), "bm25");
            await Add("title", weights.Title, () => index.TitleMatchesAsync(text, candidates, filter, cancellationToken).AsTask(), "match");
            await Add("fuzzy", weights.Fuzzy, () => index.FuzzyMatchesAsync(text, candidates, filter, cancellationToken).AsTask(), "trigrams");
        }
        if (mode == FusionMode.Early)
        {
            var share = textVector is null ? 0 : weights.TextShare!.Value;
            var combined = textVector is null ? await photoVector! : ShopperState.Unit(Combine(await photoVector!, 1 - share, await textVector, share))
                ?? throw new ArgumentException("the photo and the words cancel out: their combined query vector is zero");
            await Add("composed-image", weights.Photo, Nearest(ProductIndex.ImageVector, combined), "similarity");
            await Add("composed-text", weights.PhotoText, Nearest(ProductIndex.TextVector, combined), "similarity");
        }
        else
        {
            if (textVector is not null)
            {
                var vector = await textVector;
                await Add("text-vector", weights.TextVector, Nearest(ProductIndex.TextVector, vector), "similarity");
                await Add("image-vector", weights.ImageVector, Nearest(ProductIndex.ImageVector, vector), "similarity");
            }
            if (photoVector is not null)
            {
                var vector = await photoVector;
                await Add("photo", weights.Photo, Nearest(ProductIndex.ImageVector, vector), "similarity");
                await Add("photo-text", weights.PhotoText, Nearest(ProductIndex.TextVector, vector), "similarity");
            }
        }
        IReadOnlyList<ProductScore>? gate = null;
        if (mode is not null)
        {
            var photo = lists.FirstOrDefault(l => l.Signal == "photo")?.Items;
            if (photo is null || photo.Count < Math.Max(fusion.PhotoNeighbourhood, 1))
            {
                var nearest = await index.SearchAsync(ProductIndex.ImageVector, await photoVector!, Math.Max(candidates, fusion.PhotoNeighbourhood), filter, cancellationToken);
                foreach (var hit in nearest)
                    products.Add(hit);
                photo = [.. nearest.Select(h => new ProductScore(h.Id, h.Score))];
            }
            gate = photo;
            if (photo.Count > 0)
            {
                var caption = LexicalTerms.Titles(products[photo[0].ProductId]);
                var terms = LexicalTerms.Query(text ?? "", string.Join(' ', caption), (float)fusion.CaptionTermWeight, ruledOut);
                await Add("caption", weights.Caption, () => index.SearchLexicalAsync(terms, candidates, filter, cancellationToken).AsTask(), "bm25");
            }
        }
        var demoted = ruledOut is null ? null : RuledOut(products, ruledOut);
        return new Gathered(lists, products, mode, gate, demoted);
    }

    /// <summary>
    /// The words to search for and the words they rule out (null when none): "flat, no heel" searches "flat" and
    /// rules out "heel". Words that name a product as typed ("No Entry", "Hourglass Not Done": a title holds them
    /// all) are searched as typed; words that only rule out are searched as typed too, unless a photo says what to
    /// look for.
    /// </summary>
    private async Task<(string? Text, string? RuledOut)> RuleOutAsync(string? typed, bool photo, Filter? filter, CancellationToken cancellationToken)
    {
        var (kept, ruledOut) = QueryNegation.Split(typed);
        if (typed is null || ruledOut.Length == 0 || TextTokens.OfQuery(ruledOut).Count == 0)
            return (typed, null);
        var asksFor = TextTokens.OfQuery(kept).Count > 0;
        if (!asksFor && !photo)
            return (typed, null);
        if ((await index.TitleMatchesAsync(typed, 1, filter, cancellationToken)).Count > 0)
            return (typed, null);
        return (asksFor ? kept : null, ruledOut);
    }

    /// <summary>The candidates whose titles hold a word of <paramref name="ruledOut"/>.</summary>
    private static HashSet<string> RuledOut(CandidateProducts products, string ruledOut)
    {
        var words = TextTokens.OfQuery(ruledOut).ToHashSet(StringComparer.Ordinal);
        return products.Ids.Where(id => LexicalTerms.Titles(products[id]).Any(t => TextTokens.Of(t).Any(words.Contains))).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Lowers each ruled-out candidate's score by <paramref name="penalty"/> of it.</summary>
    public static void Demote(List<FusedCandidate> fused, IReadOnlySet<string>? ruledOut, double penalty, Dictionary<string, List<SignalExplanation>>? explanations = null)
    {
        if (ruledOut is not { Count: > 0 } || penalty <= 0)
            return;
        foreach (var candidate in fused.Where(c => ruledOut.Contains(c.Id)))
        {
            var loss = candidate.Score * penalty;
            candidate.Score -= loss;
            explanations?[candidate.Id].Add(new SignalExplanation("ruled-out", null, 1, penalty, -loss));
        }
    }

    /// <summary>The product ids the lists fuse to, best first, at <paramref name="rankConstant"/>: the order <see cref="SearchAsync"/> serves (without personalisation and boosts).</summary>
    public static IEnumerable<string> FusedOrder(IEnumerable<RankedList> lists, int rankConstant, IReadOnlySet<string>? ruledOut = null, double penalty = 0)
    {
        var fused = RankFusion.Fuse(lists, rankConstant);
        if (ruledOut is not { Count: > 0 } || penalty <= 0)
            return fused.Select(c => c.Id);
        Demote(fused, ruledOut, penalty);
        return fused.OrderByDescending(c => c.Score).ThenBy(c => c.Id, StringComparer.Ordinal).Select(c => c.Id);
    }

    private static float[] Combine(float[] a, double wa, float[] b, double wb)
    {
        var sum = new float[a.Length];
        for (var i = 0; i < sum.Length; i++)
            sum[i] = (float)(wa * a[i] + wb * b[i]);
        return sum;
    }

    /// <summary>
    /// Raises each candidate by up to <paramref name="bound"/> of its score: half for how near its image is to the
    /// shopper's image taste (cosine, 0 when unlike), half for its category's share of the shopper's interest.
    /// </summary>
    private static void Personalise(List<FusedCandidate> fused, ShopperTaste taste, double bound, Dictionary<string, ProductInfo> products,
        IReadOnlyDictionary<string, IndexedProduct> vectors, Dictionary<string, List<SignalExplanation>> explanations)
    {
        foreach (var candidate in fused)
        {
            var likeness = taste.Image is { } image && vectors.GetValueOrDefault(candidate.Id)?.Image is { } own ? Math.Max(0, Dot(image, own)) : 0;
            var share = products[candidate.Id].Category is { } category ? taste.Categories.GetValueOrDefault(category) : 0;
            var personal = 0.5 * likeness + 0.5 * share;
            var raise = candidate.Score * bound * personal;
            candidate.Score += raise;
            explanations[candidate.Id].Add(new SignalExplanation("personal", null, personal, bound, raise));
        }
    }

    private void Boost(List<FusedCandidate> fused, BusinessBoosts boosts, Dictionary<string, ProductInfo> products,
        Dictionary<string, List<SignalExplanation>> explanations)
    {
        var now = time.GetUtcNow();
        foreach (var candidate in fused)
        {
            var attributes = products[candidate.Id].Attributes ?? new Dictionary<string, string>();
            var baseScore = candidate.Score;
            foreach (var (name, weight, signal) in new[]
            {
                ("in-stock", boosts.InStock, InStock(attributes)),
                ("margin", boosts.Margin, Margin(attributes)),
                ("new", boosts.New, IsNew(attributes, now)),
            })
            {
                if (weight <= 0 || signal <= 0)
                    continue;
                var raise = baseScore * weight * signal;
                candidate.Score += raise;
                explanations[candidate.Id].Add(new SignalExplanation($"boost:{name}", null, signal, weight, raise));
            }
        }
    }

    internal static double InStock(IReadOnlyDictionary<string, string> attributes)
    {
        if (attributes.TryGetValue("in_stock", out var flag))
            return flag.Trim().ToLowerInvariant() is "true" or "yes" or "1" ? 1 : 0;
        return attributes.TryGetValue("stock", out var stock) && double.TryParse(stock, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var count) && count > 0 ? 1 : 0;
    }

    internal static double Margin(IReadOnlyDictionary<string, string> attributes)
    {
        if (!attributes.TryGetValue("margin", out var text))
            return 0;
        text = text.Trim().TrimEnd('%');
        if (!double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var margin) || margin <= 0)
            return 0;
        return Math.Min(1, margin > 1 ? margin / 100 : margin);
    }

    internal static double IsNew(IReadOnlyDictionary<string, string> attributes, DateTimeOffset now)
    {
        if (attributes.TryGetValue("new", out var flag) && flag.Trim().ToLowerInvariant() is "true" or "yes" or "1")
            return 1;
        return attributes.TryGetValue("added", out var added)
            && DateTimeOffset.TryParse(added, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at)
            && at <= now && now - at <= NewFor ? 1 : 0;
    }

    private static Facets CountFacets(IEnumerable<ProductInfo> candidates)
    {
        var list = candidates.ToList();
        var categories = list.GroupBy(p => p.Category ?? "(none)", StringComparer.Ordinal)
            .Select(g => new FacetCount(g.Key, g.Count())).OrderByDescending(f => f.Count).ThenBy(f => f.Value, StringComparer.Ordinal).ToList();
        var bands = new List<FacetCount>();
        for (var i = 0; i <= PriceBandEdges.Length; i++)
        {
            decimal? low = i == 0 ? 0 : PriceBandEdges[i - 1];
            decimal? high = i < PriceBandEdges.Length ? PriceBandEdges[i] : null;
            var count = list.Count(p => p.Price is { } price && price >= low && (high is null || price < high));
            if (count > 0)
                bands.Add(new FacetCount(high is null ? $"{low}+" : $"{low}-{high}", count) { Min = low, Max = high });
        }
        return new Facets(list.Count, categories, bands);
    }

    /// <summary>
    /// Maximal marginal relevance over the candidates: each next hit maximises (1 − λ)·relevance − λ·(its highest
    /// image similarity to the hits above), relevance being the score over the best score. Candidates without
    /// vectors (beyond the pool read) keep their order after the diversified ones.
    /// </summary>
    private static List<FusedCandidate> Diversify(List<FusedCandidate> ranked, double lambda, int k, IReadOnlyDictionary<string, IndexedProduct> vectors)
    {
        if (ranked.Count == 0)
            return ranked;
        var best = ranked[0].Score;
        var pool = ranked.Where(c => vectors.GetValueOrDefault(c.Id)?.Image is not null).ToList();
        var chosen = new List<FusedCandidate>();
        while (chosen.Count < k && pool.Count > 0)
        {
            FusedCandidate? next = null;
            var nextValue = double.NegativeInfinity;
            foreach (var candidate in pool)
            {
                var image = vectors[candidate.Id].Image!;
                var likeness = chosen.Count == 0 ? 0 : chosen.Max(c => Dot(image, vectors[c.Id].Image!));
                var value = (1 - lambda) * (best > 0 ? candidate.Score / best : 0) - lambda * likeness;
                if (value > nextValue)
                    (next, nextValue) = (candidate, value);
            }
            chosen.Add(next!);
            pool.Remove(next!);
        }
        return [.. chosen, .. ranked.Where(c => !chosen.Contains(c))];
    }

    private static double Dot(float[] a, float[] b)
    {
        double sum = 0;
        for (var i = 0; i < Math.Min(a.Length, b.Length); i++)
            sum += (double)a[i] * b[i];
        return sum;
    }
}
