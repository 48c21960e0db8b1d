using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Platform.VectorStore.Embedded;

/// <summary>
/// One collection of the embedded engine: its state in memory, its write-ahead log and its snapshot on disk.
/// Writes are serialised (one writer), logged and fsync'd before they are applied and acknowledged; reads take a
/// lease on the current state and never wait for writers. A snapshot replaces the log once it grows past its limit
/// and at a clean shutdown; compaction (rebuilding without tombstones) runs with a snapshot when tombstones exceed a
/// quarter of the slots.
/// </summary>
internal sealed partial class Collection : IDisposable
{
    // Upserts written before sparse spaces existed (type 1) are still replayed; new ones carry sparse vectors (type 3).
    private const byte UpsertRecordDenseOnly = 1;
    private const byte DeleteRecord = 2;
    private const byte UpsertRecord = 3;
    private const string MetaFile = "collection.json";
    private const string WalFile = "wal.log";

    private static readonly JsonSerializerOptions MetaJson = new()
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    private readonly string _directory;
    private readonly EmbeddedStoreOptions _options;
    private readonly SemaphoreSlim _writer = new(1, 1);
    private readonly WriteAheadLog _wal;
    private CollectionState _state;
    private long _sequence;
    private volatile bool _closed;
    private SortedIdCache? _sortedIds;

    private Collection(string name, string directory, CollectionSchema schema, EmbeddedStoreOptions options)
    {
        Name = name;
        Schema = schema;
        _directory = directory;
        _options = options;
        _state = new CollectionState(schema, options);
        try
        {
            LoadSnapshot();
            _wal = WriteAheadLog.Open(Path.Combine(directory, WalFile), options.Durable, out var records);
            foreach (var record in records)
                Replay(record);
        }
        catch
        {
            _state.Dispose();
            throw;
        }
    }

    public string Name { get; }
    public CollectionSchema Schema { get; }

    /// <summary>Creates the collection's folder and schema file, then opens it.</summary>
    public static Collection Create(string name, string directory, CollectionSchema schema, EmbeddedStoreOptions options)
    {
        Directory.CreateDirectory(directory);
        var meta = new Meta(schema.Vectors.ToDictionary(kv => kv.Key, kv => new MetaVector(kv.Value.Size, kv.Value.Distance)))
        {
            SparseVectors = schema.SparseVectors.Count == 0 ? null : schema.SparseVectors.ToDictionary(kv => kv.Key, kv => new MetaSparse(kv.Value.Idf)),
        };
        var temp = Path.Combine(directory, MetaFile + ".tmp");
        File.WriteAllText(temp, JsonSerializer.Serialize(meta, MetaJson));
        using (var f = new FileStream(temp, FileMode.Open, FileAccess.ReadWrite))
            f.Flush(flushToDisk: true);
        File.Move(temp, Path.Combine(directory, MetaFile), overwrite: true);
        var collection = new Collection(name, directory, schema, options);
        // The schema file, the new log and the collection's folder itself are names that must survive a power cut.
        DirectorySync.Sync(directory);
        DirectorySync.Sync(Path.GetDirectoryName(directory)!);
        return collection;
    }

    /// <summary>Opens an existing collection folder, or returns null when it holds no schema file (a half-created collection).</summary>
    public static Collection? Open(string name, string directory, EmbeddedStoreOptions options)
    {
        var metaPath = Path.Combine(directory, MetaFile);
        if (!File.Exists(metaPath))
            return null;
        var meta = JsonSerializer.Deserialize<Meta>(File.ReadAllText(metaPath), MetaJson)
                   ?? throw new InvalidDataException($"{metaPath} is empty");
        var schema = new CollectionSchema(meta.Vectors.ToDictionary(kv => kv.Key, kv => new VectorParams(kv.Value.Size, kv.Value.Distance)))
        {
            SparseVectors = (meta.SparseVectors ?? []).ToDictionary(kv => kv.Key, kv => new SparseVectorParams(kv.Value.Idf)),
        };
        schema.Validate();
        return new Collection(name, directory, schema, options);
    }

    private sealed record Meta(Dictionary<string, MetaVector> Vectors)
    {
        /// <summary>Absent in collections made before sparse spaces existed.</summary>
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public Dictionary<string, MetaSparse>? SparseVectors { get; init; }
    }

    private sealed record MetaVector(int Size, Distance Distance);

    private sealed record MetaSparse(bool Idf);

    // ---------------------------------------------------------------- leases

    /// <summary>A reader's hold on the current state.</summary>
    private readonly struct Lease(CollectionState state) : IDisposable
    {
        public CollectionState State { get; } = state;
        public void Dispose() => State.Release();
    }

    private Lease Read()
    {
        while (true)
        {
            if (_closed)
                throw new VectorStoreException(VectorStoreErrorKind.NotFound, $"collection '{Name}' does not exist");
            var state = Volatile.Read(ref _state);
            if (state.TryAcquire())
                return new Lease(state);
        }
    }

    // ---------------------------------------------------------------- writes

    private sealed record PreparedPoint(string Id, string Payload, PayloadFields Fields, (int Space, float[] Vector)[] Vectors, SparseVector?[]? Sparse);

    public async ValueTask UpsertAsync(IReadOnlyList<VectorPoint> points, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(points);
        var prepared = new PreparedPoint[points.Count];
        for (var i = 0; i < points.Count; i++)
            prepared[i] = Prepare(points[i], i);
        if (prepared.Length == 0)
            return;

        await _writer.WaitAsync(cancellationToken);
        try
        {
            ThrowIfClosed();
            _wal.Append(EncodeUpsert(++_sequence, prepared));
            // From here on the write is durable: apply it even if the caller gives up waiting.
            foreach (var point in prepared)
                _state.Add(point.Id, point.Payload, point.Fields, point.Vectors, point.Sparse);
            MaintainAfterWrite();
        }
        finally
        {
            _writer.Release();
        }
    }

    public async ValueTask DeleteAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ids);
        foreach (var id in ids)
            ValidateId(id, "delete");
        await _writer.WaitAsync(cancellationToken);
        try
        {
            ThrowIfClosed();
            DeleteLocked([.. ids.Where(_state.Ids.ContainsKey).Distinct(StringComparer.Ordinal)]);
        }
        finally
        {
            _writer.Release();
        }
    }

    public async ValueTask DeleteAsync(Filter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var predicate = FilterCompiler.Compile(filter);
        await _writer.WaitAsync(cancellationToken);
        try
        {
            ThrowIfClosed();
            var state = _state;
            DeleteLocked([.. Matching(state, filter, predicate).Select(slot => state.Record(slot)!.Id)]);
        }
        finally
        {
            _writer.Release();
        }
    }

    private void DeleteLocked(IReadOnlyList<string> ids)
    {
        if (ids.Count == 0)
            return;
        _wal.Append(EncodeDelete(++_sequence, ids));
        foreach (var id in ids)
            _state.Remove(id);
        MaintainAfterWrite();
    }

    private PreparedPoint Prepare(VectorPoint point, int index)
    {
        if (point is null)
            throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"point {index} is null");
        ValidateId(point.Id, $"point {index}");
        var payload = point.Payload ?? "{}";
        var fields = PayloadFields.Parse(payload, point.Id);
        if ((point.Vectors?.Count ?? 0) + (point.Sparse?.Count ?? 0) == 0)
            throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"point '{point.Id}' has no vectors; it needs at least one of {DescribeVectors()}");
        var vectors = new (int, float[])[point.Vectors?.Count ?? 0];
        var i = 0;
        foreach (var (name, values) in point.Vectors ?? Empty)
        {
            var space = _state.SpaceIndex(name);
            if (space < 0)
                throw new VectorStoreException(VectorStoreErrorKind.BadRequest,
                    $"point '{point.Id}': unknown named vector '{name}' in collection '{Name}'; it has {DescribeVectors()}");
            if (values is null)
                throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"point '{point.Id}': vector '{name}' is null");
            vectors[i++] = (space, _state.Spaces[space].Prepare(values, $"point '{point.Id}': vector '{name}'"));
        }
        SparseVector?[]? sparse = null;
        foreach (var (name, vector) in point.Sparse ?? EmptySparse)
        {
            var space = _state.SparseIndex(name);
            if (space < 0)
                throw new VectorStoreException(VectorStoreErrorKind.BadRequest,
                    $"point '{point.Id}': unknown sparse vector '{name}' in collection '{Name}'{(_state.SpaceIndex(name) >= 0 ? $" ('{name}' is a dense vector)" : "")}; it has {DescribeVectors()}");
            sparse ??= new SparseVector?[_state.SparseSpaces.Length];
            sparse[space] = SparseSpace.Prepare(vector, $"point '{point.Id}': sparse vector '{name}'");
        }
        return new PreparedPoint(point.Id, payload, fields, vectors, sparse);
    }

    private static readonly IReadOnlyDictionary<string, SparseVector> EmptySparse = new Dictionary<string, SparseVector>();

    internal static void ValidateId(string? id, string what)
    {
        if (string.IsNullOrEmpty(id))
            throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"{what}: a point id must not be empty");
        if (id.Length > Limits.MaxIdLength)
            throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"{what}: a point id is at most {Limits.MaxIdLength} characters, got {id.Length}");
    }

    private string DescribeVectors() => DescribeVectors(_state);

    private static string DescribeVectors(CollectionState state) =>
        string.Join(", ", state.SpaceNames.Select(n => $"'{n}'").Concat(state.SparseNames.Select(n => $"sparse '{n}'")));

    private void ThrowIfClosed()
    {
        if (_closed)
            throw new VectorStoreException(VectorStoreErrorKind.NotFound, $"collection '{Name}' does not exist");
    }

    /// <summary>Compacts when tombstones dominate, and snapshots when the log is long. Writer only.</summary>
    private void MaintainAfterWrite()
    {
        if (NeedsCompaction(_state))
            CompactLocked();
        else if (_wal.Length > _options.SnapshotAfterWalBytes)
            SnapshotLocked();
    }

    private static bool NeedsCompaction(CollectionState state) =>
        state.TombstoneCount > 1024 && state.TombstoneCount > state.SlotCount / 4;

    /// <summary>Rebuilds the state without tombstones, then snapshots it.</summary>
    public async ValueTask CompactAsync(CancellationToken cancellationToken)
    {
        await _writer.WaitAsync(cancellationToken);
        try
        {
            ThrowIfClosed();
            CompactLocked();
        }
        finally
        {
            _writer.Release();
        }
    }

    private void CompactLocked()
    {
        var old = _state;
        var fresh = new CollectionState(Schema, _options);
        try
        {
            var slots = old.Ids.Values.Order().ToArray();
            foreach (var slot in slots)
            {
                var record = old.Record(slot)!;
                var vectors = new List<(int, float[])>();
                for (var s = 0; s < old.Spaces.Length; s++)
                {
                    if (record.Has(s))
                        vectors.Add((s, old.Spaces[s].Get(slot).ToArray()));
                }
                fresh.Add(record.Id, record.Payload, record.Fields, vectors, record.Sparse);
            }
        }
        catch
        {
            fresh.Dispose();
            throw;
        }
        Volatile.Write(ref _state, fresh);
        old.Retire();
        SnapshotLocked();
    }

    // ---------------------------------------------------------------- log records

    private static byte[] EncodeUpsert(long sequence, IReadOnlyList<PreparedPoint> points) =>
        EncodeRecord(UpsertRecord, sequence, points, static (writer, point) =>
        {
            writer.Write(point.Id);
            writer.Write(point.Payload);
            writer.Write((byte)point.Vectors.Length);
            foreach (var (space, vector) in point.Vectors)
            {
                writer.Write((byte)space);
                writer.Write(vector.Length);
                writer.Write(MemoryMarshal.AsBytes(vector.AsSpan()));
            }
            WriteSparse(writer, point.Sparse);
        });

    /// <summary>A point's sparse vectors: how many, then each one's space, entry count, indices and values.</summary>
    private static void WriteSparse(BinaryWriter writer, SparseVector?[]? sparse)
    {
        var count = sparse?.Count(v => v is not null) ?? 0;
        writer.Write((byte)count);
        if (sparse is null)
            return;
        for (var s = 0; s < sparse.Length; s++)
        {
            if (sparse[s] is not { } vector)
                continue;
            writer.Write((byte)s);
            writer.Write(vector.Indices.Length);
            writer.Write(MemoryMarshal.AsBytes(vector.Indices.AsSpan()));
            writer.Write(MemoryMarshal.AsBytes(vector.Values.AsSpan()));
        }
    }

    /// <summary>Reads what <see cref="WriteSparse"/> wrote; null when the point has no sparse vectors.</summary>
    private static SparseVector?[]? ReadSparse(BinaryReader reader, int spaces, string where)
    {
        var count = reader.ReadByte();
        if (count == 0)
            return null;
        var sparse = new SparseVector?[spaces];
        for (var k = 0; k < count; k++)
        {
            var space = reader.ReadByte();
            if (space >= spaces)
                throw new InvalidDataException($"{where}: sparse vector {space} of a collection with {spaces}");
            var length = reader.ReadInt32();
            var indices = new uint[length];
            var values = new float[length];
            reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(indices.AsSpan()));
            reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
            sparse[space] = new SparseVector(indices, values);
        }
        return sparse;
    }

    private static byte[] EncodeDelete(long sequence, IReadOnlyList<string> ids) =>
        EncodeRecord(DeleteRecord, sequence, ids, static (writer, id) => writer.Write(id));

    /// <summary>A log record: type, sequence number, item count, then each item.</summary>
    private static byte[] EncodeRecord<T>(byte type, long sequence, IReadOnlyList<T> items, Action<BinaryWriter, T> writeItem)
    {
        using var buffer = new MemoryStream();
        using var writer = new BinaryWriter(buffer, Encoding.UTF8);
        writer.Write(type);
        writer.Write(sequence);
        writer.Write(items.Count);
        foreach (var item in items)
            writeItem(writer, item);
        writer.Flush();
        return buffer.ToArray();
    }

    /// <summary>Applies a logged record at open, unless the snapshot already holds it.</summary>
    private void Replay(byte[] body)
    {
        using var reader = new BinaryReader(new MemoryStream(body), Encoding.UTF8);
        var type = reader.ReadByte();
        var sequence = reader.ReadInt64();
        if (sequence <= _sequence)
            return;
        _sequence = sequence;
        var count = reader.ReadInt32();
        switch (type)
        {
            case UpsertRecord or UpsertRecordDenseOnly:
                for (var i = 0; i < count; i++)
                {
                    var id = reader.ReadString();
                    var payload = reader.ReadString();
                    var vectors = new (int, float[])[reader.ReadByte()];
                    for (var v = 0; v < vectors.Length; v++)
                    {
                        var space = reader.ReadByte();
                        var values = new float[reader.ReadInt32()];
                        reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
                        vectors[v] = (space, values);
                    }
                    var sparse = type == UpsertRecord ? ReadSparse(reader, _state.SparseSpaces.Length, Path.Combine(_directory, WalFile)) : null;
                    _state.Add(id, payload, PayloadFields.Parse(payload, id), vectors, sparse);
                }
                break;
            case DeleteRecord:
                for (var i = 0; i < count; i++)
                    _state.Remove(reader.ReadString());
                break;
            default:
                throw new InvalidDataException($"{Path.Combine(_directory, WalFile)}: record {sequence} has unknown type {type} although its checksum is valid");
        }
    }

    // ---------------------------------------------------------------- lifetime

    /// <summary>Stops serving, frees memory and deletes the files. The store has already forgotten the collection.</summary>
    public async ValueTask DropAsync()
    {
        await _writer.WaitAsync();
        try
        {
            _closed = true;
            _wal.Dispose();
            _state.Retire();
            Directory.Delete(_directory, recursive: true);
        }
        finally
        {
            _writer.Release();
        }
    }

    /// <summary>Clean shutdown: a snapshot when the log holds anything, so the next open need not replay it.</summary>
    public void Dispose()
    {
        _writer.Wait();
        try
        {
            if (_closed)
                return;
            if (_wal.Length > 0)
            {
                try
                {
                    SnapshotLocked();
                }
                catch (IOException)
                {
                    // The log still holds every acknowledged write; the next open replays it.
                }
            }
            _closed = true;
            _wal.Dispose();
            _state.Retire();
        }
        finally
        {
            _writer.Release();
        }
    }
}
