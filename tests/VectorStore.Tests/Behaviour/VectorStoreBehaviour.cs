namespace Platform.VectorStore.Tests.Behaviour;

/// <summary>
/// What every <see cref="IVectorStore"/> must do, the way a demanding user would check it. A derived class per backend
/// supplies the store; each test makes its own collections (<see cref="NewCollectionAsync"/>, unique names), and they
/// are deleted after it. Ground truth (rankings, filtered sets) is computed here by brute force, never asked of a store.
/// </summary>
public abstract partial class VectorStoreBehaviour : IAsyncLifetime
{
    private IVectorStore? _store;
    private readonly List<string> _collections = [];

    /// <summary>
    /// Opens the store under test. Called lazily on a test's first use of <see cref="Store"/> (so a backend that is not
    /// available can skip there), and again by <see cref="ReopenStore"/>: later calls must reach the same data.
    /// </summary>
    protected abstract IVectorStore OpenStore();

    /// <summary>Removes whatever <see cref="OpenStore"/> made (a temporary directory); runs after the store is closed.</summary>
    protected virtual void DeleteStoreData()
    {
    }

    /// <summary>Whether scroll pages come in ascending ordinal id order (the embedded engine), not the backend's own (Qdrant).</summary>
    protected virtual bool ScrollsInOrdinalIdOrder => true;

    protected IVectorStore Store => _store ??= OpenStore();

    /// <summary>Closes the store (Dispose) and opens it again over the same data.</summary>
    protected IVectorStore ReopenStore()
    {
        CloseStore();
        return Store;
    }

    private void CloseStore()
    {
        var store = _store;
        _store = null;
        (store as IDisposable)?.Dispose();
    }

    /// <summary>A collection name no other test uses; deleted after the test.</summary>
    protected string NewCollectionName()
    {
        var name = $"bt-{Guid.NewGuid():N}";
        _collections.Add(name);
        return name;
    }

    protected async Task<string> NewCollectionAsync(CollectionSchema schema)
    {
        var name = NewCollectionName();
        await Store.CreateCollectionAsync(name, schema);
        return name;
    }

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_store is not null)
            {
                foreach (var collection in _collections)
                {
                    try
                    {
                        await _store.DeleteCollectionAsync(collection);
                    }
                    catch (Exception)
                    {
                        // Clean-up is best effort: the test has already passed or failed on its own account.
                    }
                }
            }
        }
        finally
        {
            CloseStore();
            DeleteStoreData();
        }
        GC.SuppressFinalize(this);
    }

    // ---- helpers shared by the tests ----

    protected static CollectionSchema Schema(params (string Name, int Size, Distance Distance)[] vectors) =>
        new(vectors.ToDictionary(v => v.Name, v => new VectorParams(v.Size, v.Distance)));

    protected static VectorPoint Point(string id, string payload, params (string Name, float[] Vector)[] vectors) =>
        new(id, vectors.ToDictionary(v => v.Name, v => v.Vector), payload);

    protected static VectorPoint Point(string id, float[] vector, string vectorName = "v", string payload = "{}") =>
        new(id, new Dictionary<string, float[]> { [vectorName] = vector }, payload);

    /// <summary>Every page of a scroll, checking page sizes and that the scroll ends.</summary>
    protected async Task<List<List<VectorPoint>>> ScrollPagesAsync(string collection, ScrollRequest request)
    {
        var pages = new List<List<VectorPoint>>();
        var offset = request.Offset;
        for (var guard = 0; ; guard++)
        {
            Assert.True(guard < 100_000, "scroll never ended");
            var page = await Store.ScrollAsync(collection, request with { Offset = offset });
            Assert.True(page.Points.Count <= request.Limit, $"a page of limit {request.Limit} held {page.Points.Count} points");
            pages.Add(page.Points.ToList());
            if (page.NextOffset is null)
                return pages;
            Assert.True(page.Points.Count > 0, "an empty page said there were more");
            offset = page.NextOffset;
        }
    }

    protected async Task<List<VectorPoint>> ScrollAllAsync(string collection, Filter? filter = null, bool withVectors = false, int pageSize = 250) =>
        (await ScrollPagesAsync(collection, new ScrollRequest(pageSize) { Filter = filter, WithVectors = withVectors })).SelectMany(p => p).ToList();

    /// <summary>Asserts the call fails with this kind, and that its message mentions each of <paramref name="mentions"/> (case-insensitive).</summary>
    protected async Task<VectorStoreException> AssertFailsAsync(VectorStoreErrorKind kind, Func<Task> call, params string[] mentions)
    {
        // Open the store out here, so that a backend that is not available skips instead of failing below.
        _ = Store;
        VectorStoreException? error = null;
        try
        {
            await call();
        }
        catch (VectorStoreException ex)
        {
            error = ex;
        }
        catch (Exception ex)
        {
            Assert.Fail($"expected VectorStoreException ({kind}), got {ex.GetType().Name}: {ex.Message}");
        }
        Assert.True(error is not null, $"expected VectorStoreException ({kind}), but the call succeeded");
        Assert.True(error.Kind == kind, $"expected kind {kind}, got {error.Kind}: {error.Message}");
        Assert.False(string.IsNullOrWhiteSpace(error.Message), "the error has no message");
        foreach (var mention in mentions)
            Assert.True(error.Message.Contains(mention, StringComparison.OrdinalIgnoreCase), $"the message should mention '{mention}': {error.Message}");
        return error;
    }

    /// <summary>Asserts hits are closest first with distinct ids.</summary>
    protected static void AssertClosestFirst(Distance distance, IReadOnlyList<ScoredPoint> hits)
    {
        for (var i = 1; i < hits.Count; i++)
        {
            Assert.True(VectorMath.AtLeastAsClose(distance, hits[i - 1].Score, hits[i].Score),
                $"hits are not closest first ({distance}): #{i - 1} {hits[i - 1].Id} scores {hits[i - 1].Score}, #{i} {hits[i].Id} scores {hits[i].Score}");
        }
        var duplicate = hits.GroupBy(h => h.Id).FirstOrDefault(g => g.Count() > 1);
        Assert.True(duplicate is null, $"id {duplicate?.Key} is returned {duplicate?.Count()} times");
    }

    protected static void AssertVectorsEqual(IReadOnlyDictionary<string, float[]> expected, IReadOnlyDictionary<string, float[]>? actual, string what, float tolerance = 0)
    {
        Assert.True(actual is not null, $"{what}: vectors were asked for but none came back");
        Assert.True(expected.Keys.Order(StringComparer.Ordinal).SequenceEqual(actual.Keys.Order(StringComparer.Ordinal)),
            $"{what}: expected named vectors [{string.Join(", ", expected.Keys.Order(StringComparer.Ordinal))}], got [{string.Join(", ", actual.Keys.Order(StringComparer.Ordinal))}]");
        foreach (var (name, vector) in expected)
        {
            var got = actual[name];
            Assert.True(got.Length == vector.Length, $"{what}: vector '{name}' has {got.Length} components, expected {vector.Length}");
            for (var i = 0; i < vector.Length; i++)
            {
                Assert.True(tolerance == 0 ? got[i].Equals(vector[i]) : Math.Abs(got[i] - vector[i]) <= tolerance,
                    $"{what}: vector '{name}'[{i}] is {got[i]}, expected {vector[i]}");
            }
        }
    }

    protected static string Ids(IEnumerable<string> ids) => "[" + string.Join(", ", ids) + "]";

    protected static string Ids(IEnumerable<ScoredPoint> hits) => Ids(hits.Select(h => h.Id));
}
