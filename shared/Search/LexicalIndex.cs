namespace Platform.Search;

/// <summary>
/// An in-memory BM25 index over product text (title weighted above category, attributes and description).
/// Rebuilt from the vector store's payloads on start; kept current by the indexer. Safe for concurrent use.
/// </summary>
public sealed class LexicalIndex
{
    private const double K1 = 1.2;
    private const double B = 0.75;
    private const int TitleWeight = 3;

    private readonly Dictionary<string, Dictionary<string, int>> _postings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Document> _documents = new(StringComparer.Ordinal);
    private readonly ReaderWriterLockSlim _lock = new();
    private long _totalLength;

    public int Count
    {
        get
        {
            _lock.EnterReadLock();
            try { return _documents.Count; }
            finally { _lock.ExitReadLock(); }
        }
    }

    /// <summary>Indexes a document; <paramref name="titles"/> are its title in each language it has one in.</summary>
    public void Upsert(string id, IEnumerable<string> titles, IEnumerable<string?> otherFields)
    {
        var terms = new Dictionary<string, int>(StringComparer.Ordinal);
        var titleTokens = titles.SelectMany(TextTokens.Of).ToList();
        foreach (var token in titleTokens)
            terms[token] = terms.GetValueOrDefault(token) + TitleWeight;
        foreach (var field in otherFields)
        {
            foreach (var token in TextTokens.Of(field))
                terms[token] = terms.GetValueOrDefault(token) + 1;
        }

        _lock.EnterWriteLock();
        try
        {
            RemoveLocked(id);
            _documents[id] = new Document(terms, titleTokens.ToHashSet(StringComparer.Ordinal), titleTokens.Count, DocumentLength(terms));
            foreach (var (term, tf) in terms)
            {
                if (!_postings.TryGetValue(term, out var posting))
                    _postings[term] = posting = new Dictionary<string, int>(StringComparer.Ordinal);
                posting[id] = tf;
                _totalLength += tf;
            }
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    public void Upsert(string id, string title, IEnumerable<string?> otherFields) => Upsert(id, [title], otherFields);

    public void Remove(string id)
    {
        _lock.EnterWriteLock();
        try { RemoveLocked(id); }
        finally { _lock.ExitWriteLock(); }
    }

    /// <summary>The best <paramref name="k"/> documents for <paramref name="query"/> by BM25, best first; only documents sharing a term.</summary>
    public IReadOnlyList<(string Id, double Score)> Search(string query, int k)
    {
        var queryTerms = TextTokens.OfQuery(query).Distinct(StringComparer.Ordinal).ToList();
        var scores = new Dictionary<string, double>(StringComparer.Ordinal);
        _lock.EnterReadLock();
        try
        {
            var n = _documents.Count;
            if (n == 0)
                return [];
            var averageLength = (double)_totalLength / n;
            foreach (var term in queryTerms)
            {
                if (!_postings.TryGetValue(term, out var posting))
                    continue;
                var idf = Math.Log(1 + (n - posting.Count + 0.5) / (posting.Count + 0.5));
                foreach (var (id, tf) in posting)
                {
                    var length = _documents[id].Length;
                    var s = idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / averageLength));
                    scores[id] = scores.GetValueOrDefault(id) + s;
                }
            }
        }
        finally
        {
            _lock.ExitReadLock();
        }
        return scores.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal)
            .Take(k).Select(p => (p.Key, p.Value)).ToList();
    }

    /// <summary>
    /// Products whose title holds every word of <paramref name="query"/>, closest titles (fewest other words) first:
    /// a shopper who types a product's name, or the words that set it apart, expects it at the top.
    /// </summary>
    public IReadOnlyList<string> TitleMatches(string query, int k)
    {
        var queryTerms = TextTokens.OfQuery(query).Distinct(StringComparer.Ordinal).ToList();
        if (queryTerms.Count == 0)
            return [];
        _lock.EnterReadLock();
        try
        {
            // Every match holds the query's rarest term, so only its posting list needs checking.
            Dictionary<string, int>? rarest = null;
            foreach (var term in queryTerms)
            {
                if (!_postings.TryGetValue(term, out var posting))
                    return [];
                if (rarest is null || posting.Count < rarest.Count)
                    rarest = posting;
            }
            return rarest!.Keys
                .Where(id => queryTerms.TrueForAll(_documents[id].TitleTerms.Contains))
                .OrderBy(id => _documents[id].TitleLength).ThenBy(id => id, StringComparer.Ordinal)
                .Take(k).ToList();
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    private static int DocumentLength(Dictionary<string, int> terms)
    {
        var length = 0;
        foreach (var tf in terms.Values)
            length += tf;
        return length;
    }

    private void RemoveLocked(string id)
    {
        if (!_documents.Remove(id, out var document))
            return;
        foreach (var (term, tf) in document.Terms)
        {
            var posting = _postings[term];
            posting.Remove(id);
            if (posting.Count == 0)
                _postings.Remove(term);
            _totalLength -= tf;
        }
    }

    private sealed record Document(Dictionary<string, int> Terms, HashSet<string> TitleTerms, int TitleLength, int Length);
}
