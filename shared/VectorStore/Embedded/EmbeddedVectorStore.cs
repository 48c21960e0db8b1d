using System.Collections.Concurrent;

namespace Platform.VectorStore.Embedded;

/// <summary>Options of the embedded engine.</summary>
public sealed record EmbeddedStoreOptions
{
    /// <summary>HNSW: links per node on upper layers (twice this on layer 0).</summary>
    public int M { get; init; } = 16;

    /// <summary>HNSW: search breadth while inserting.</summary>
    public int EfConstruction { get; init; } = 200;

    /// <summary>HNSW: default search breadth.</summary>
    public int EfSearch { get; init; } = 64;

    /// <summary>Below this many candidate points a search scans exactly instead of walking the graph.</summary>
    public int ExactThreshold { get; init; } = 10_000;

    /// <summary>A snapshot is written once the write-ahead log grows past this many bytes.</summary>
    public long SnapshotAfterWalBytes { get; init; } = 64L << 20;

    /// <summary>fsync each write before acknowledging it. Off only for benchmarks and throwaway stores.</summary>
    public bool Durable { get; init; } = true;
}

/// <summary>
/// The embedded engine: collections in folders under one data directory, each with a write-ahead log, a snapshot,
/// exact SIMD search and an HNSW graph per named vector. One process owns a data directory at a time (an exclusive
/// lock file); a second one gets a clear error instead of corrupting it.
/// </summary>
public sealed class EmbeddedVectorStore : IVectorStore, IDisposable
{
    private readonly string _root;
    private readonly EmbeddedStoreOptions _options;
    private readonly FileStream _lock;
    private readonly ConcurrentDictionary<string, Collection> _collections = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _catalog = new(1, 1);
    private bool _disposed;

    private EmbeddedVectorStore(string directory, EmbeddedStoreOptions options, FileStream lockFile)
    {
        _root = directory;
        _options = options;
        _lock = lockFile;
    }

    public string Directory => _root;
    public EmbeddedStoreOptions Options => _options;

    /// <summary>Opens (creating if needed) a store in <paramref name="directory"/>, loading every collection in it.</summary>
    public static EmbeddedVectorStore Open(string directory, EmbeddedStoreOptions? options = null)
    {
        options ??= new EmbeddedStoreOptions();
        if (options.M is < 2 or > 256 || options.EfConstruction < 1 || options.EfSearch < 1 || options.ExactThreshold < 0)
            throw new ArgumentException($"invalid embedded store options: {options}");
        var root = Path.GetFullPath(directory);
        System.IO.Directory.CreateDirectory(Path.Combine(root, "collections"));
        FileStream lockFile;
        try
        {
            lockFile = new FileStream(Path.Combine(root, "LOCK"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new VectorStoreException(VectorStoreErrorKind.Unavailable,
                $"the vector store in {root} is in use by another process ({e.Message})", e);
        }
        var store = new EmbeddedVectorStore(root, options, lockFile);
        try
        {
            foreach (var folder in System.IO.Directory.EnumerateDirectories(Path.Combine(root, "collections")))
            {
                var name = Path.GetFileName(folder);
                var collection = Names.IsValid(name) ? Collection.Open(name, folder, options) : null;
                if (collection is null)
                    continue; // not a collection of ours, or one whose creation never finished
                store._collections[name] = collection;
            }
        }
        catch
        {
            store.Dispose();
            throw;
        }
        return store;
    }

    private Collection Get(string collection)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _collections.TryGetValue(collection ?? "", out var c)
            ? c
            : throw new VectorStoreException(VectorStoreErrorKind.NotFound, $"collection '{collection}' does not exist");
    }

    public async ValueTask CreateCollectionAsync(string collection, CollectionSchema schema, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!Names.IsValid(collection))
            throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"collection name '{collection}': {Names.Rule}");
        ArgumentNullException.ThrowIfNull(schema);
        schema.Validate();
        if (schema.Vectors.Count > 32)
            throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"a collection has at most 32 named vectors, got {schema.Vectors.Count}");
        if (schema.SparseVectors.Count > 32)
            throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"a collection has at most 32 sparse vectors, got {schema.SparseVectors.Count}");
        await _catalog.WaitAsync(cancellationToken);
        try
        {
            if (_collections.TryGetValue(collection, out var existing))
            {
                if (!existing.Schema.SameAs(schema))
                    throw new VectorStoreException(VectorStoreErrorKind.Conflict,
                        $"collection '{collection}' exists with a different schema ({Describe(existing.Schema)}; asked for {Describe(schema)})");
                return;
            }
            var folder = Path.Combine(_root, "collections", collection);
            if (System.IO.Directory.Exists(folder))
                System.IO.Directory.Delete(folder, recursive: true); // leftovers of an unfinished create or drop
            _collections[collection] = Collection.Create(collection, folder, schema, _options);
        }
        finally
        {
            _catalog.Release();
        }
    }

    private static string Describe(CollectionSchema schema) =>
        string.Join(", ", schema.Vectors.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}: {kv.Value.Size}-d {kv.Value.Distance}")
            .Concat(schema.SparseVectors.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}: sparse{(kv.Value.Idf ? " with IDF" : "")}")));

    public ValueTask<CollectionSchema?> GetCollectionAsync(string collection, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return ValueTask.FromResult(_collections.TryGetValue(collection ?? "", out var c) ? c.Schema : null);
    }

    public ValueTask<IReadOnlyList<string>> ListCollectionsAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return ValueTask.FromResult<IReadOnlyList<string>>([.. _collections.Keys.Order(StringComparer.Ordinal)]);
    }

    public async ValueTask<bool> DeleteCollectionAsync(string collection, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _catalog.WaitAsync(cancellationToken);
        try
        {
            if (!_collections.TryRemove(collection ?? "", out var c))
                return false;
            await c.DropAsync();
            return true;
        }
        finally
        {
            _catalog.Release();
        }
    }

    public ValueTask UpsertAsync(string collection, IReadOnlyList<VectorPoint> points, CancellationToken cancellationToken = default) =>
        Get(collection).UpsertAsync(points, cancellationToken);

    public ValueTask DeleteAsync(string collection, IReadOnlyList<string> ids, CancellationToken cancellationToken = default) =>
        Get(collection).DeleteAsync(ids, cancellationToken);

    public ValueTask DeleteAsync(string collection, Filter filter, CancellationToken cancellationToken = default) =>
        Get(collection).DeleteAsync(filter, cancellationToken);

    public ValueTask<IReadOnlyList<VectorPoint>> GetAsync(string collection, IReadOnlyList<string> ids, bool withVectors = false, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Get(collection).Get(ids, withVectors));

    public ValueTask<long> CountAsync(string collection, Filter? filter = null, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Get(collection).Count(filter));

    public ValueTask<ScrollPage> ScrollAsync(string collection, ScrollRequest request, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Get(collection).Scroll(request));

    public ValueTask<IReadOnlyList<ScoredPoint>> SearchAsync(string collection, SearchRequest request, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Get(collection).Search(request));

    public ValueTask<IReadOnlyList<ScoredPoint>> SearchSparseAsync(string collection, SparseSearchRequest request, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Get(collection).SearchSparse(request));

    public ValueTask<IReadOnlyList<ScoredPoint>> RecommendAsync(string collection, RecommendRequest request, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Get(collection).Recommend(request));

    /// <summary>Rebuilds a collection without its tombstones (it also happens by itself once they pass a quarter of its slots).</summary>
    public ValueTask CompactAsync(string collection, CancellationToken cancellationToken = default) =>
        Get(collection).CompactAsync(cancellationToken);

    /// <summary>Snapshots every collection (so the next open replays nothing) and releases the directory.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        foreach (var collection in _collections.Values)
            collection.Dispose();
        _collections.Clear();
        _lock.Dispose();
    }
}
