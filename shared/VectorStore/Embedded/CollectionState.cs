using System.Collections.Concurrent;

namespace Platform.VectorStore.Embedded;

/// <summary>A stored point: its id, payload (as given, and flattened for filters), which named vectors it has, and its sparse vectors.</summary>
internal sealed class PointRecord(string id, string payload, PayloadFields fields, uint vectorMask, SparseVector?[]? sparse = null)
{
    private volatile bool _deleted;

    public string Id { get; } = id;
    public string Payload { get; } = payload;
    public PayloadFields Fields { get; } = fields;

    /// <summary>Bit i set: the point has the collection's i-th named vector (in schema order).</summary>
    public uint VectorMask { get; } = vectorMask;

    /// <summary>A tombstone: replaced or deleted, kept until compaction because the graph still routes through it.</summary>
    public bool Deleted
    {
        get => _deleted;
        set => _deleted = value;
    }

    public bool Has(int space) => (VectorMask & (1u << space)) != 0;

    /// <summary>The point's vector in each sparse space (in schema order; null where it has none), sorted by index. Never changed once stored.</summary>
    public SparseVector?[]? Sparse { get; } = sparse;

    public SparseVector? SparseIn(int space) => Sparse is { } sparse && space < sparse.Length ? sparse[space] : null;
}

/// <summary>
/// The in-memory state of a collection: slots numbered in insertion order, each with a record and its vectors in
/// every named space it has. One writer appends and tombstones; readers take a lease (<see cref="TryAcquire"/>) so
/// the native memory is freed only after the last reader of a retired state (after compaction or deletion) leaves.
/// </summary>
internal sealed class CollectionState : IDisposable
{
    private const int SegmentShift = 12;
    private const int SegmentMask = (1 << SegmentShift) - 1;

    private PointRecord?[]?[] _records = new PointRecord?[]?[64];
    private int _slotCount;
    private int _leases;
    private int _retired;
    private int _disposed;
    private int _liveCount;
    private readonly int[] _spaceCounts;

    public CollectionState(CollectionSchema schema, EmbeddedStoreOptions options)
    {
        SpaceNames = [.. schema.Vectors.Keys.Order(StringComparer.Ordinal)];
        Spaces = [.. SpaceNames.Select(name => new VectorSpace(name, schema.Vectors[name], options.M, options.EfConstruction))];
        _spaceCounts = new int[Spaces.Length];
        SparseNames = [.. schema.SparseVectors.Keys.Order(StringComparer.Ordinal)];
        SparseSpaces = [.. SparseNames.Select(name => new SparseSpace(name, schema.SparseVectors[name]))];
    }

    public string[] SpaceNames { get; }
    public VectorSpace[] Spaces { get; }
    public string[] SparseNames { get; }
    public SparseSpace[] SparseSpaces { get; }

    /// <summary>The payloads indexed for filtering.</summary>
    public PayloadIndex Payloads { get; } = new();

    /// <summary>Live id → slot.</summary>
    public ConcurrentDictionary<string, int> Ids { get; } = new(StringComparer.Ordinal);

    /// <summary>Slots handed out (live or tombstoned).</summary>
    public int SlotCount => Volatile.Read(ref _slotCount);

    // Kept by the writer rather than read from Ids.Count, which takes every lock of the dictionary: readers never wait.
    public int LiveCount => Volatile.Read(ref _liveCount);

    /// <summary>Live points that have the named vector.</summary>
    public int CountWith(int space) => Volatile.Read(ref _spaceCounts[space]);

    /// <summary>Bumped by every write, so cached views (the sorted ids of scroll) know they are stale.</summary>
    public long Version { get; private set; }

    public int SpaceIndex(string vector)
    {
        var i = Array.BinarySearch(SpaceNames, vector, StringComparer.Ordinal);
        return i >= 0 ? i : -1;
    }

    public int SparseIndex(string vector)
    {
        var i = Array.BinarySearch(SparseNames, vector, StringComparer.Ordinal);
        return i >= 0 ? i : -1;
    }

    public PointRecord? Record(int slot)
    {
        var segment = Volatile.Read(ref _records)[slot >> SegmentShift];
        return segment is null ? null : Volatile.Read(ref segment[slot & SegmentMask]);
    }

    /// <summary>The live record with this id, if any.</summary>
    /// <remarks>
    /// The writer points an id at its new version before it tombstones the old one, so finding a tombstone means the
    /// id already points further on: look again. A reader so sees one version or the other, never none.
    /// </remarks>
    public bool TryGet(string id, out int slot, out PointRecord record)
    {
        record = null!;
        for (var attempt = 0; attempt < 64; attempt++)
        {
            if (!Ids.TryGetValue(id, out slot))
                return false;
            var r = Record(slot);
            if (r is { Deleted: false })
            {
                record = r;
                return true;
            }
        }
        slot = -1;
        return false;
    }

    /// <summary>Stores a point in a new slot and links it into each graph; replaces any live point with the same id. Writer only.</summary>
    public void Add(string id, string payload, PayloadFields fields, IReadOnlyList<(int Space, float[] Vector)> vectors,
        SparseVector?[]? sparse = null, bool index = true)
    {
        var slot = _slotCount;
        var mask = 0u;
        foreach (var (space, vector) in vectors)
        {
            Spaces[space].Write(slot, vector);
            mask |= 1u << space;
        }
        // Postings first: a reader that sees the slot count past this slot finds all of its terms.
        AddSparse(slot, sparse);
        var record = new PointRecord(id, payload, fields, mask, sparse);
        SetRecord(slot, record);
        Payloads.Add(slot, fields);
        for (var s = 0; s < Spaces.Length; s++)
        {
            if (record.Has(s))
            {
                if (index)
                    Spaces[s].Index(slot);
                Interlocked.Increment(ref _spaceCounts[s]);
            }
        }
        Volatile.Write(ref _slotCount, slot + 1);
        // Swap the id over to the new slot in one step, then retire the old one: a reader finds one version or the other, never none.
        if (Ids.TryGetValue(id, out var previous))
        {
            Ids[id] = slot;
            Tombstone(previous);
        }
        else
        {
            Ids[id] = slot;
            Volatile.Write(ref _liveCount, _liveCount + 1);
        }
        Version++;
    }

    private void AddSparse(int slot, SparseVector?[]? sparse)
    {
        if (sparse is null)
            return;
        for (var s = 0; s < sparse.Length; s++)
        {
            if (sparse[s] is { } vector)
                SparseSpaces[s].Add(slot, vector);
        }
    }

    /// <summary>Tombstones the live point with this id; false when there was none. Writer only.</summary>
    public bool Remove(string id)
    {
        if (!Ids.TryRemove(id, out var slot))
            return false;
        Volatile.Write(ref _liveCount, _liveCount - 1);
        Tombstone(slot);
        Version++;
        return true;
    }

    private void Tombstone(int slot)
    {
        var record = Record(slot)!;
        record.Deleted = true;
        for (var s = 0; s < Spaces.Length; s++)
        {
            if (record.Has(s))
                Interlocked.Decrement(ref _spaceCounts[s]);
        }
        for (var s = 0; s < SparseSpaces.Length; s++)
        {
            if (record.SparseIn(s) is { } vector)
                SparseSpaces[s].Tombstone(vector);
        }
    }

    private void SetRecord(int slot, PointRecord record)
    {
        var records = _records;
        var segmentIndex = slot >> SegmentShift;
        if (segmentIndex >= records.Length)
        {
            var grown = new PointRecord?[]?[records.Length * 2];
            records.CopyTo(grown, 0);
            Volatile.Write(ref _records, grown);
            records = grown;
        }
        var segment = records[segmentIndex] ??= new PointRecord?[1 << SegmentShift];
        Volatile.Write(ref segment[slot & SegmentMask], record);
    }

    /// <summary>Puts a slot back while loading a snapshot (dense vectors and graph are loaded separately). Writer only.</summary>
    public void Restore(int slot, PointRecord record)
    {
        SetRecord(slot, record);
        if (!record.Deleted)
        {
            AddSparse(slot, record.Sparse);
            Payloads.Add(slot, record.Fields);
            Ids[record.Id] = slot;
            _liveCount++;
            for (var s = 0; s < Spaces.Length; s++)
            {
                if (record.Has(s))
                    _spaceCounts[s]++;
            }
        }
        if (slot >= _slotCount)
            Volatile.Write(ref _slotCount, slot + 1);
    }

    public int TombstoneCount => SlotCount - LiveCount;

    public long Bytes => Spaces.Sum(s => s.Bytes);

    // ---- leases ----

    public bool TryAcquire()
    {
        Interlocked.Increment(ref _leases);
        if (Volatile.Read(ref _retired) == 0)
            return true;
        Release();
        return false;
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _leases) == 0 && Volatile.Read(ref _retired) != 0)
            Dispose();
    }

    /// <summary>No new readers; frees memory once the current ones leave.</summary>
    public void Retire()
    {
        Volatile.Write(ref _retired, 1);
        if (Volatile.Read(ref _leases) == 0)
            Dispose();
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        foreach (var space in Spaces)
            space.Dispose();
    }
}
