using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Platform.Tests;

/// <summary>Images built byte by byte in tests: formats the platform refuses, and headers that lie about their size.</summary>
public static class TestImages
{
    /// <summary>A PNG; <paramref name="pixel"/> gives each pixel's samples, or null for a token IDAT (header tests).</summary>
    public static byte[] Png(int width, int height, int bitDepth, int colorType, Func<int, int, int[]>? pixel)
    {
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);

        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = (byte)bitDepth;
        ihdr[9] = (byte)colorType;
        WriteChunk(png, "IHDR", ihdr);

        using var raw = new MemoryStream();
        if (pixel is null)
        {
            raw.Write(new byte[64]); // a scrap of the first scanline
        }
        else
        {
            for (var y = 0; y < height; y++)
            {
                raw.WriteByte(0); // filter: none
                for (var x = 0; x < width; x++)
                {
                    foreach (var sample in pixel(x, y))
                    {
                        if (bitDepth == 16)
                            raw.WriteByte((byte)(sample >> 8));
                        raw.WriteByte((byte)sample);
                    }
                }
            }
        }
        using var idat = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionLevel.Fastest, leaveOpen: true))
            z.Write(raw.GetBuffer(), 0, (int)raw.Length);
        WriteChunk(png, "IDAT", idat.ToArray());
        WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void WriteChunk(Stream s, string type, byte[] data)
    {
        Span<byte> u32 = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(u32, data.Length);
        s.Write(u32);
        var typeAndData = new byte[4 + data.Length];
        Encoding.ASCII.GetBytes(type, typeAndData);
        data.CopyTo(typeAndData, 4);
        s.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(u32, Crc32(typeAndData));
        s.Write(u32);
    }

    private static readonly uint[] CrcTable = Enumerable.Range(0, 256).Select(n =>
    {
        var c = (uint)n;
        for (var k = 0; k < 8; k++)
            c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        var c = 0xFFFFFFFFu;
        foreach (var b in data)
            c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }

    /// <summary>A 24-bit BMP (BITMAPINFOHEADER), rows bottom-up, padded to 4 bytes.</summary>
    public static byte[] Bmp(int width, int height)
    {
        var stride = (width * 3 + 3) & ~3;
        var bytes = new byte[54 + stride * height];
        bytes[0] = (byte)'B';
        bytes[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(2), bytes.Length);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(22), height);
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(28), 24);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(34), stride * height);
        for (var i = 54; i < bytes.Length; i++)
            bytes[i] = (byte)(i * 7);
        return bytes;
    }

    /// <summary>An uncompressed 8-bit greyscale little-endian TIFF with one strip.</summary>
    public static byte[] Tiff(int width, int height)
    {
        (ushort Tag, ushort Type, uint Value)[] entries =
        [
            (256, 4, (uint)width), (257, 4, (uint)height), (258, 3, 8), (259, 3, 1), (262, 3, 1),
            (273, 4, 0 /* patched */), (277, 3, 1), (278, 4, (uint)height), (279, 4, (uint)(width * height)),
        ];
        var ifdSize = 2 + entries.Length * 12 + 4;
        var dataOffset = 8 + ifdSize;
        var bytes = new byte[dataOffset + width * height];
        "II*\0"u8.CopyTo(bytes);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), 8);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)entries.Length);
        for (var i = 0; i < entries.Length; i++)
        {
            var at = 10 + i * 12;
            var (tag, type, value) = entries[i];
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(at), tag);
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(at + 2), type);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at + 4), 1);
            if (type == 3)
                BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(at + 8), (ushort)value);
            else
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at + 8), tag == 273 ? (uint)dataOffset : value);
        }
        for (var i = dataOffset; i < bytes.Length; i++)
            bytes[i] = (byte)(i * 13);
        return bytes;
    }

    /// <summary>A valid PNG header claiming <paramref name="width"/>×<paramref name="height"/> with a token IDAT: a decompression bomb's shape.</summary>
    public static byte[] PngClaiming(int width, int height) => Png(width, height, bitDepth: 8, colorType: 2, pixel: null);
}
