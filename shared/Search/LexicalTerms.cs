using System.Text;
using Platform.Contracts;
using Platform.VectorStore;

namespace Platform.Search;

/// <summary>
/// A product's text as the sparse vectors the store searches lexically (tokens from <see cref="TextTokens"/>), and
/// queries as the sparse vectors that search them. Two spaces:
/// <list type="bullet">
/// <item><c>lexical</c>, with the store's IDF: each term's BM25 saturated frequency,
/// <c>tf·(k1 + 1) / (tf + k1·(1 − b + b·len / avglen))</c>, over title (each title token counting
/// <see cref="TitleWeight"/> times), category, attributes and description; the store multiplies in the IDF, so a
/// query of weight-1 terms scores exactly BM25.</item>
/// <item><c>title</c>, without IDF: each distinct title term at <c>1 + 1/(L + 1)</c>, L the title's token count, so
/// a query of weight-1 terms scores at least the number of its terms exactly when the title holds all of them, and
/// among those, shorter titles score higher (see <see cref="TitleMatchThreshold"/>).</item>
/// </list>
/// </summary>
/// <remarks>
/// <para>Document length normalisation needs the average document length, which moves as the catalog changes. Stored
/// values are never rewritten when it moves, so it is a constant (<see cref="AverageLength"/>, measured on the demo
/// catalog): BM25's ranking depends on it only through how strongly long documents are discounted, and product
/// texts of one catalog keep a stable typical length. A catalog whose texts are much longer or shorter can set
/// another (<see cref="ProductIndex.Settings.LexicalAverageLength"/>); the index must then be rebuilt.</para>
/// <para>Term ids are the 32-bit FNV-1a hash of the token's UTF-8 bytes: stable across processes, platforms and
/// versions (string.GetHashCode is randomised per process). Two tokens may share an id: with V distinct tokens
/// about V²/2³³ pairs do, about one pair for 100,000 tokens, far more than a retail catalog's vocabulary, and a
/// shared id only merges two terms' statistics.</para>
/// <para>Changing how values are computed changes no schema, so stored products would keep the old values: rename
/// the spaces (<c>lexical2</c>) with such a change, which makes <see cref="ProductIndex"/> rebuild the collection.</para>
/// </remarks>
public static class LexicalTerms
{
    public const double K1 = 1.2;
    public const double B = 0.75;

    /// <summary>How many times a title token counts against one of any other field: a title says what the product is.</summary>
    public const int TitleWeight = 3;

    /// <summary>The typical document length (Σ tf with title weight) that BM25 normalises against: the demo catalog's mean (62.2 over its 849 products).</summary>
    public const double AverageLength = 62;

    /// <summary>The 32-bit FNV-1a hash of the token's UTF-8 bytes: a term's index in both sparse spaces.</summary>
    public static uint TermId(string token)
    {
        var hash = 2166136261u;
        Span<byte> buffer = stackalloc byte[256];
        var bytes = Encoding.UTF8.GetByteCount(token) <= buffer.Length ? buffer[..Encoding.UTF8.GetBytes(token, buffer)] : Encoding.UTF8.GetBytes(token);
        foreach (var b in bytes)
            hash = (hash ^ b) * 16777619u;
        return hash;
    }

    /// <summary>
    /// A product's lexical and title vectors. Attributes named <c>title_xx</c> (for example <c>title_zh</c>) are its title
    /// in another language: they count as title text, for ranking and for the title match.
    /// </summary>
    public static (SparseVector Lexical, SparseVector Title) Of(ProductInfo product, double averageLength = AverageLength)
    {
        var (titles, fields) = Fields(product);
        return Of(titles, [product.Description, .. fields], averageLength);
    }

    /// <summary>
    /// A product's trigram vector, for typo tolerance: the character trigrams of the words of its title (each counting
    /// <see cref="TitleWeight"/> times), category and attributes (not the description: its many words would match
    /// every misspelling a little), each at its saturated frequency; the store multiplies in the IDF.
    /// </summary>
    public static SparseVector Fuzzy(ProductInfo product)
    {
        var (titles, fields) = Fields(product);
        var frequencies = new Dictionary<uint, int>();
        foreach (var gram in titles.SelectMany(t => TextTokens.Trigrams(t)))
            frequencies[TermId(gram)] = frequencies.GetValueOrDefault(TermId(gram)) + TitleWeight;
        foreach (var gram in fields.SelectMany(f => TextTokens.Trigrams(f)))
            frequencies[TermId(gram)] = frequencies.GetValueOrDefault(TermId(gram)) + 1;
        return new SparseVector([.. frequencies.Keys], [.. frequencies.Values.Select(tf => (float)(tf * (K1 + 1) / (tf + K1)))]);
    }

    /// <summary>A query's trigram vector: the distinct trigrams of its words of <see cref="FuzzyMinLength"/> letters or more.</summary>
    public static SparseVector FuzzyQuery(string query)
    {
        var terms = TextTokens.Trigrams(query, FuzzyMinLength).Select(TermId).Distinct().ToArray();
        return new SparseVector(terms, [.. terms.Select(_ => 1f)]);
    }

    /// <summary>Shorter query words are not spelled loosely: too many words lie one edit from them.</summary>
    public const int FuzzyMinLength = 4;

    /// <summary>A product's titles (its title and any <c>title_xx</c> attribute) and its other short fields (category, attributes).</summary>
    private static (List<string> Titles, List<string?> Fields) Fields(ProductInfo product)
    {
        var fields = new List<string?> { product.Category };
        fields.AddRange((product.Attributes ?? new Dictionary<string, string>()).Where(a => !IsTitle(a.Key)).Select(a => a.Value));
        return ([.. Titles(product)], fields);
    }

    /// <summary>A product's titles: its title and any <c>title_xx</c> attribute (its title in another language).</summary>
    public static IEnumerable<string> Titles(ProductInfo product) =>
        (product.Attributes ?? new Dictionary<string, string>()).Where(a => IsTitle(a.Key)).Select(a => a.Value).Prepend(product.Title);

    private static bool IsTitle(string attribute) => attribute.StartsWith("title_", StringComparison.Ordinal);

    /// <summary>The lexical and title vectors of a document with these titles and other fields.</summary>
    public static (SparseVector Lexical, SparseVector Title) Of(IEnumerable<string> titles, IEnumerable<string?> otherFields, double averageLength = AverageLength)
    {
        var frequencies = new Dictionary<uint, int>();
        var titleTokens = titles.SelectMany(TextTokens.Of).ToList();
        foreach (var token in titleTokens)
            frequencies[TermId(token)] = frequencies.GetValueOrDefault(TermId(token)) + TitleWeight;
        foreach (var field in otherFields)
        {
            foreach (var token in TextTokens.Of(field))
                frequencies[TermId(token)] = frequencies.GetValueOrDefault(TermId(token)) + 1;
        }
        var length = frequencies.Values.Sum();
        var norm = K1 * (1 - B + B * length / averageLength);
        var lexical = new SparseVector([.. frequencies.Keys], [.. frequencies.Values.Select(tf => (float)(tf * (K1 + 1) / (tf + norm)))]);

        // Every distinct title term at 1 + 1/(L + 1): see TitleMatchThreshold for why a full match is told apart exactly.
        var titleTerms = titleTokens.Select(TermId).Distinct().ToArray();
        var titleValue = (float)(1 + 1.0 / (titleTokens.Count + 1));
        var title = new SparseVector(titleTerms, [.. titleTerms.Select(_ => titleValue)]);
        return (lexical, title);
    }

    /// <summary>A query's distinct terms, each at weight 1 (BM25 counts a repeated query word once).</summary>
    public static SparseVector Query(string query)
    {
        var terms = TextTokens.OfQuery(query).Select(TermId).Distinct().ToArray();
        return new SparseVector(terms, [.. terms.Select(_ => 1f)]);
    }

    /// <summary>
    /// A query in context: the shopper's words at weight 1, the words of <paramref name="context"/> (what a photo shows,
    /// named by its nearest product's titles) at <paramref name="contextWeight"/>, and no term of
    /// <paramref name="ruledOut"/> at all. "open" with a photo of a file folder asks for "open" first, "file folder" after.
    /// </summary>
    public static SparseVector Query(string query, string context, float contextWeight, string? ruledOut = null)
    {
        var excluded = TextTokens.OfQuery(ruledOut).Select(TermId).ToHashSet();
        var weights = new Dictionary<uint, float>();
        foreach (var term in TextTokens.OfQuery(context).Select(TermId).Where(t => !excluded.Contains(t)))
            weights[term] = contextWeight;
        foreach (var term in TextTokens.OfQuery(query).Select(TermId).Where(t => !excluded.Contains(t)))
            weights[term] = Math.Max(1f, weights.GetValueOrDefault(term));
        return new SparseVector([.. weights.Keys], [.. weights.Values]);
    }

    /// <summary>
    /// The least title-space score of a product whose title holds every term of <paramref name="query"/>: its term count.
    /// </summary>
    /// <remarks>
    /// A title holding all m query terms scores m·(1 + 1/(L + 1)) ≥ m. One holding m − 1 of them has at least m − 1
    /// title tokens (L ≥ m − 1), so it scores (m − 1)(1 + 1/(L + 1)) ≤ (m − 1)(1 + 1/m) = m − 1/m &lt; m. So the
    /// threshold m keeps exactly the full matches, and they rank by 1/(L + 1): the fewest other words first.
    /// </remarks>
    public static float TitleMatchThreshold(SparseVector query) => query.Indices.Length;
}
