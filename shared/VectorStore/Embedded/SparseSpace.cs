using System.Collections.Concurrent;

namespace Platform.VectorStore.Embedded;

/// <summary>
/// One named sparse vector space of a collection: an inverted index from each term (index) to the slots that hold a
/// non-zero value for it, with the term's document frequency among live points for IDF. The vectors themselves live
/// in the point records (<see cref="PointRecord.Sparse"/>). Postings are append-only like the payload index's:
/// tombstoned slots stay in them until compaction and readers skip them; one writer appends while readers snapshot.
/// </summary>
internal sealed class SparseSpace(string name, SparseVectorParams parameters)
{
    private readonly ConcurrentDictionary<uint, SparsePosting> _postings = new();
    private int _count;

    public string Name { get; } = name;
    public SparseVectorParams Parameters { get; } = parameters;

    /// <summary>Live points that have a vector in this space.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The slots holding a non-zero value for <paramref name="index"/>, or null when none ever did.</summary>
    public SparsePosting? Posting(uint index) => _postings.TryGetValue(index, out var posting) ? posting : null;

    /// <summary>Indexes a slot's vector. Writer only; slots arrive in ascending order, before they are published.</summary>
    public void Add(int slot, SparseVector vector)
    {
        for (var i = 0; i < vector.Indices.Length; i++)
        {
            if (vector.Values[i] != 0)
                _postings.GetOrAdd(vector.Indices[i], static _ => new SparsePosting()).Add(slot, vector.Values[i]);
        }
        Interlocked.Increment(ref _count);
    }

    /// <summary>A slot holding <paramref name="vector"/> was tombstoned: its terms no longer count as live. Writer only.</summary>
    public void Tombstone(SparseVector vector)
    {
        for (var i = 0; i < vector.Indices.Length; i++)
        {
            if (vector.Values[i] != 0 && _postings.TryGetValue(vector.Indices[i], out var posting))
                posting.Unlive();
        }
        Interlocked.Decrement(ref _count);
    }

    /// <summary>Checks a vector for this space and returns it as stored: a copy sorted by index.</summary>
    public static SparseVector Prepare(SparseVector? vector, string what)
    {
        if (vector is null)
            throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"{what} is null");
        vector.Validate(what);
        var indices = (uint[])vector.Indices.Clone();
        var values = (float[])vector.Values.Clone();
        Array.Sort(indices, values);
        return new SparseVector(indices, values);
    }

    /// <summary>BM25's inverse document frequency of a term that <paramref name="n"/> of <paramref name="total"/> points have.</summary>
    public static double Idf(int total, int n)
    {
        total = Math.Max(total, n); // counts read while a write lands may disagree by a point
        return Math.Log(1 + (total - n + 0.5) / (n + 0.5));
    }

    /// <summary>Σ over the indices both share of q·d·weight(index), and whether they share a non-zero one. Both sorted by index.</summary>
    public static (double Score, bool Shared) Dot(SparseVector query, double[] weights, SparseVector stored)
    {
        double score = 0;
        var shared = false;
        int i = 0, j = 0;
        while (i < query.Indices.Length && j < stored.Indices.Length)
        {
            var a = query.Indices[i];
            var b = stored.Indices[j];
            if (a < b)
                i++;
            else if (a > b)
                j++;
            else
            {
                if (query.Values[i] != 0 && stored.Values[j] != 0)
                {
                    score += query.Values[i] * weights[i] * stored.Values[j];
                    shared = true;
                }
                i++;
                j++;
            }
        }
        return (score, shared);
    }
}

/// <summary>One term's postings: (slot, value) in slot order, and how many of those slots are live.</summary>
internal sealed class SparsePosting
{
    private readonly GrowingList<(int Slot, float Value)> _entries = new();
    private int _live;

    public ReadOnlySpan<(int Slot, float Value)> Snapshot() => _entries.Snapshot();

    /// <summary>Live points with a non-zero value for this term: the document frequency.</summary>
    public int Live => Volatile.Read(ref _live);

    public void Add(int slot, float value)
    {
        _entries.Add((slot, value));
        Interlocked.Increment(ref _live);
    }

    public void Unlive() => Interlocked.Decrement(ref _live);
}
