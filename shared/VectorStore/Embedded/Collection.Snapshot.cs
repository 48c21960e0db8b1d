using System.Text;

namespace Platform.VectorStore.Embedded;

internal sealed partial class Collection
{
    private const string SnapshotFile = "snapshot.bin";
    // Version 02 adds each live record's sparse vectors after its vector mask; version 01 files (no sparse spaces) still load.
    private static readonly byte[] SnapshotMagic = "PVSNAP02"u8.ToArray();
    private static readonly byte[] SnapshotMagicDenseOnly = "PVSNAP01"u8.ToArray();
    private static readonly byte[] SnapshotEnd = "PVSNAPND"u8.ToArray();

    /// <summary>
    /// Writes every slot (tombstones too: the graph routes through them), the vectors and the graphs to a new file,
    /// fsyncs it, renames it over the old snapshot, then empties the log. A crash before the rename leaves the old
    /// snapshot and the full log; after it, the log's records are all older than the snapshot and are skipped.
    /// Writer only.
    /// </summary>
    private void SnapshotLocked()
    {
        var state = _state;
        var path = Path.Combine(_directory, SnapshotFile);
        var temp = path + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        using (var writer = new BinaryWriter(file, Encoding.UTF8))
        {
            writer.Write(SnapshotMagic);
            writer.Write(_sequence);
            var slotCount = state.SlotCount;
            writer.Write(slotCount);
            writer.Write(state.Spaces.Length);
            for (var slot = 0; slot < slotCount; slot++)
            {
                var record = state.Record(slot)!;
                writer.Write(record.Deleted);
                writer.Write(record.Id);
                writer.Write(record.Deleted ? "" : record.Payload);
                writer.Write(record.VectorMask);
                // Tombstones need no terms: the postings are rebuilt from live records only.
                WriteSparse(writer, record.Deleted ? null : record.Sparse);
            }
            for (var s = 0; s < state.Spaces.Length; s++)
            {
                var space = state.Spaces[s];
                writer.Write(space.Name);
                writer.Write(space.Dimension);
                for (var slot = 0; slot < slotCount; slot++)
                {
                    if (state.Record(slot)!.Has(s))
                        writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(space.Get(slot)));
                }
                space.Graph.WriteTo(writer, slotCount);
            }
            writer.Write(SnapshotEnd);
            writer.Flush();
            file.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
        // The new name must be on disk before the log that the old snapshot still needs is emptied.
        DirectorySync.Sync(_directory);
        _wal.Reset();
    }

    /// <summary>Loads the snapshot, if there is one, into the (empty) state. Constructor only.</summary>
    private void LoadSnapshot()
    {
        var path = Path.Combine(_directory, SnapshotFile);
        File.Delete(path + ".tmp"); // a snapshot that never got renamed into place
        if (!File.Exists(path))
            return;
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        using var reader = new BinaryReader(file, Encoding.UTF8);
        var magic = reader.ReadBytes(SnapshotMagic.Length);
        var withSparse = magic.AsSpan().SequenceEqual(SnapshotMagic);
        if (!withSparse && !magic.AsSpan().SequenceEqual(SnapshotMagicDenseOnly))
            throw new InvalidDataException($"{path} is not a snapshot of this engine");
        _sequence = reader.ReadInt64();
        var slotCount = reader.ReadInt32();
        var spaceCount = reader.ReadInt32();
        var state = _state;
        if (spaceCount != state.Spaces.Length)
            throw new InvalidDataException($"{path} has {spaceCount} named vectors; the collection's schema has {state.Spaces.Length}");
        var masks = new uint[slotCount];
        for (var slot = 0; slot < slotCount; slot++)
        {
            var deleted = reader.ReadBoolean();
            var id = reader.ReadString();
            var payload = reader.ReadString();
            var mask = reader.ReadUInt32();
            var sparse = withSparse ? ReadSparse(reader, state.SparseSpaces.Length, path) : null;
            masks[slot] = mask;
            var fields = deleted ? PayloadFields.Empty : PayloadFields.Parse(payload, id);
            state.Restore(slot, new PointRecord(id, payload, fields, mask, sparse) { Deleted = deleted });
        }
        for (var s = 0; s < spaceCount; s++)
        {
            var space = state.Spaces[s];
            var name = reader.ReadString();
            var dimension = reader.ReadInt32();
            if (name != space.Name || dimension != space.Dimension)
                throw new InvalidDataException($"{path}: vector {s} is '{name}' ({dimension}-d); the schema says '{space.Name}' ({space.Dimension}-d)");
            var row = new float[dimension];
            for (var slot = 0; slot < slotCount; slot++)
            {
                if ((masks[slot] & (1u << s)) == 0)
                    continue;
                file.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(row.AsSpan()));
                space.Write(slot, row);
            }
            space.Graph.ReadFrom(reader);
        }
        if (!reader.ReadBytes(SnapshotEnd.Length).AsSpan().SequenceEqual(SnapshotEnd))
            throw new InvalidDataException($"{path} is truncated");
    }
}
