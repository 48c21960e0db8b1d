using System.Buffers.Binary;

namespace Platform.VectorStore.Embedded;

/// <summary>
/// An append-only log of records <c>[length u32][crc32 u32][body]</c>. <see cref="Append"/> returns once the record is
/// on disk (fsync) when durable. <see cref="ReadAll"/> stops at the first torn or corrupt record and cuts the file
/// there: a record that did not fully reach the disk was never acknowledged, so it is dropped, never served.
/// </summary>
internal sealed class WriteAheadLog : IDisposable
{
    private readonly FileStream _file;
    private readonly bool _durable;

    private WriteAheadLog(FileStream file, bool durable)
    {
        _file = file;
        _durable = durable;
    }

    public string Path => _file.Name;
    public long Length => _file.Length;

    /// <summary>Opens (creating if needed) the log, returning the intact records; a damaged tail is truncated away.</summary>
    public static WriteAheadLog Open(string path, bool durable, out List<byte[]> records)
    {
        records = [];
        var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, 1 << 16);
        try
        {
            var header = new byte[8];
            long goodEnd = 0;
            while (true)
            {
                if (file.ReadAtLeast(header, 8, throwOnEndOfStream: false) < 8)
                    break;
                var length = BinaryPrimitives.ReadUInt32LittleEndian(header);
                var crc = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4));
                if (length == 0 || length > file.Length - file.Position)
                    break;
                var body = new byte[length];
                if (file.ReadAtLeast(body, body.Length, throwOnEndOfStream: false) < body.Length || Crc32.Compute(body) != crc)
                    break;
                records.Add(body);
                goodEnd = file.Position;
            }
            if (goodEnd < file.Length)
            {
                file.SetLength(goodEnd);
                file.Flush(flushToDisk: true);
            }
            file.Position = goodEnd;
            return new WriteAheadLog(file, durable);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public void Append(ReadOnlySpan<byte> body)
    {
        Span<byte> header = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)body.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], Crc32.Compute(body));
        _file.Write(header);
        _file.Write(body);
        _file.Flush(flushToDisk: _durable);
    }

    /// <summary>Empties the log (after a snapshot made its records redundant).</summary>
    public void Reset()
    {
        _file.SetLength(0);
        _file.Position = 0;
        _file.Flush(flushToDisk: true);
    }

    public void Dispose() => _file.Dispose();
}
