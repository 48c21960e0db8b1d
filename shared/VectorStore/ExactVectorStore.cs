using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Text;

namespace Platform.VectorStore;

/// <summary>
/// The embedded store of the walking skeleton: every point in memory, exact (brute-force SIMD) cosine search,
/// and an append-only log on disk. Each record is <c>[length u32][crc32 u32][body]</c>; an upsert returns only
/// after its record is flushed to disk, and on open a torn or corrupt tail record is dropped, never served.
/// Readers run concurrently; writers are serialised.
/// </summary>
public sealed class ExactVectorStore : IVectorStore, IDisposable
{
    private const byte UpsertRecord = 1;
    private const byte DeleteRecord = 2;

    private readonly Dictionary<string, VectorPoint> _points = new(StringComparer.Ordinal);
    private readonly ReaderWriterLockSlim _lock = new();
    private readonly FileStream _log;
    private readonly string _path;

    public ExactVectorStore(string path, VectorSchema schema)
    {
        Schema = schema;
        _path = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        var (liveRecords, totalRecords) = Replay();
        if (totalRecords > 1024 && totalRecords > 2 * liveRecords)
            Compact();
        _log = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read, 1 << 16, FileOptions.None);
    }

    public VectorSchema Schema { get; }

    /// <summary>Bytes the log occupies on disk.</summary>
    public long LogBytes => new FileInfo(_path).Length;

    public ValueTask UpsertAsync(IReadOnlyList<VectorPoint> points, CancellationToken cancellationToken = default)
    {
        var normalised = new VectorPoint[points.Count];
        for (var i = 0; i < points.Count; i++)
            normalised[i] = Validate(points[i]);

        _lock.EnterWriteLock();
        try
        {
            foreach (var point in normalised)
                WriteRecord(EncodeUpsert(point));
            _log.Flush(flushToDisk: true);
            foreach (var point in normalised)
                _points[point.Id] = point;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        _lock.EnterWriteLock();
        try
        {
            if (!_points.ContainsKey(id))
                return ValueTask.FromResult(false);
            WriteRecord(EncodeDelete(id));
            _log.Flush(flushToDisk: true);
            _points.Remove(id);
            return ValueTask.FromResult(true);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    public ValueTask<VectorPoint?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        _lock.EnterReadLock();
        try
        {
            return ValueTask.FromResult(_points.GetValueOrDefault(id));
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    public ValueTask<long> CountAsync(CancellationToken cancellationToken = default)
    {
        _lock.EnterReadLock();
        try
        {
            return ValueTask.FromResult((long)_points.Count);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    public ValueTask<IReadOnlyList<ScoredPoint>> SearchAsync(string vector, ReadOnlyMemory<float> query, int k, CancellationToken cancellationToken = default)
    {
        var dim = Schema.DimensionOf(vector);
        if (query.Length != dim)
            throw new VectorStoreException($"query for '{vector}' has {query.Length} dimensions; the store expects {dim}");
        if (k < 1)
            throw new VectorStoreException($"k must be at least 1, got {k}");
        var q = Normalised(query.Span, $"query for '{vector}'");

        // A min-heap of the best k so far: the root is the weakest hit kept.
        var best = new PriorityQueue<VectorPoint, float>(k + 1);
        _lock.EnterReadLock();
        try
        {
            foreach (var point in _points.Values)
            {
                if (!point.Vectors.TryGetValue(vector, out var v))
                    continue;
                // Both sides are L2-normalised here, so the dot product is the cosine.
                var score = TensorPrimitives.Dot(q, v);
                if (best.Count < k)
                    best.Enqueue(point, score);
                else if (best.TryPeek(out _, out var weakest) && score > weakest)
                    best.EnqueueDequeue(point, score);
            }
        }
        finally
        {
            _lock.ExitReadLock();
        }

        var hits = new ScoredPoint[best.Count];
        for (var i = hits.Length - 1; i >= 0; i--)
        {
            best.TryDequeue(out var point, out var score);
            hits[i] = new ScoredPoint(point!.Id, score, point.Payload);
        }
        return ValueTask.FromResult<IReadOnlyList<ScoredPoint>>(hits);
    }

    public async IAsyncEnumerable<VectorPoint> ScrollAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        VectorPoint[] snapshot;
        _lock.EnterReadLock();
        try
        {
            snapshot = [.. _points.Values];
        }
        finally
        {
            _lock.ExitReadLock();
        }
        foreach (var point in snapshot)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return point;
        }
        await Task.CompletedTask;
    }

    public void Dispose()
    {
        _log.Dispose();
        _lock.Dispose();
    }

    private VectorPoint Validate(VectorPoint point)
    {
        if (string.IsNullOrEmpty(point.Id))
            throw new VectorStoreException("a point needs a non-empty id");
        var vectors = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var (name, values) in point.Vectors)
        {
            var dim = Schema.DimensionOf(name);
            if (values.Length != dim)
                throw new VectorStoreException($"point '{point.Id}': vector '{name}' has {values.Length} dimensions; the store expects {dim}");
            vectors[name] = Normalised(values, $"point '{point.Id}': vector '{name}'");
        }
        return point with { Vectors = vectors };
    }

    private static float[] Normalised(ReadOnlySpan<float> values, string what)
    {
        foreach (var x in values)
        {
            if (!float.IsFinite(x))
                throw new VectorStoreException($"{what} has a NaN or infinite component");
        }
        var norm = TensorPrimitives.Norm(values);
        if (norm == 0)
            throw new VectorStoreException($"{what} is all zeros; cosine similarity is undefined for it");
        var result = new float[values.Length];
        TensorPrimitives.Divide(values, norm, result);
        return result;
    }

    private void WriteRecord(byte[] body) => WriteRecord(_log, body);

    private static void WriteRecord(Stream stream, byte[] body)
    {
        Span<byte> header = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)body.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], Crc32.Compute(body));
        stream.Write(header);
        stream.Write(body);
    }

    private static byte[] EncodeUpsert(VectorPoint point)
    {
        using var buffer = new MemoryStream();
        using var writer = new BinaryWriter(buffer, Encoding.UTF8);
        writer.Write(UpsertRecord);
        writer.Write(point.Id);
        writer.Write(point.Vectors.Count);
        foreach (var (name, values) in point.Vectors)
        {
            writer.Write(name);
            writer.Write(values.Length);
            foreach (var x in values)
                writer.Write(x);
        }
        writer.Write(point.Payload);
        writer.Flush();
        return buffer.ToArray();
    }

    private static byte[] EncodeDelete(string id)
    {
        using var buffer = new MemoryStream();
        using var writer = new BinaryWriter(buffer, Encoding.UTF8);
        writer.Write(DeleteRecord);
        writer.Write(id);
        writer.Flush();
        return buffer.ToArray();
    }

    /// <summary>Rebuilds memory from the log; truncates a torn or corrupt tail. Returns (live points, records read).</summary>
    private (int Live, int Total) Replay()
    {
        if (!File.Exists(_path))
            return (0, 0);
        using var file = new FileStream(_path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        var header = new byte[8];
        long goodEnd = 0;
        var total = 0;
        while (true)
        {
            if (file.Read(header, 0, 8) < 8)
                break;
            var length = BinaryPrimitives.ReadUInt32LittleEndian(header);
            var crc = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4));
            if (length == 0 || length > file.Length - file.Position)
                break;
            var body = new byte[length];
            if (file.Read(body, 0, body.Length) < body.Length || Crc32.Compute(body) != crc)
                break;
            Apply(body);
            total++;
            goodEnd = file.Position;
        }
        if (goodEnd < file.Length)
            file.SetLength(goodEnd); // a torn last write: it was never acknowledged
        return (_points.Count, total);
    }

    private void Apply(byte[] body)
    {
        using var reader = new BinaryReader(new MemoryStream(body), Encoding.UTF8);
        switch (reader.ReadByte())
        {
            case UpsertRecord:
                var id = reader.ReadString();
                var count = reader.ReadInt32();
                var vectors = new Dictionary<string, float[]>(count, StringComparer.Ordinal);
                for (var i = 0; i < count; i++)
                {
                    var name = reader.ReadString();
                    var values = new float[reader.ReadInt32()];
                    for (var j = 0; j < values.Length; j++)
                        values[j] = reader.ReadSingle();
                    vectors[name] = values;
                }
                _points[id] = new VectorPoint(id, vectors, reader.ReadString());
                break;
            case DeleteRecord:
                _points.Remove(reader.ReadString());
                break;
            default:
                throw new InvalidDataException($"{_path}: unknown record type in a record whose checksum is valid");
        }
    }

    private void Compact()
    {
        var temp = _path + ".compact";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write))
        {
            foreach (var point in _points.Values)
                WriteRecord(file, EncodeUpsert(point));
            file.Flush(flushToDisk: true);
        }
        File.Move(temp, _path, overwrite: true);
    }
}
