using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Platform.VectorStore.Embedded;

/// <summary>
/// Fixed-stride records in native memory, allocated in segments that never move: a pointer handed out stays valid
/// until the slab is disposed, so readers can work on records while the single writer appends more. The segment
/// table has a fixed size, so a reader never sees it reallocated. Memory is zeroed and 64-byte aligned.
/// </summary>
internal sealed unsafe class NativeSlab : IDisposable
{
    private const int SegmentShift = 13; // 8,192 records per segment
    private const int SegmentMask = (1 << SegmentShift) - 1;
    private const int MaxSegments = 1 << 15; // 268 million records

    private readonly byte** _segments;
    private readonly nint _stride;
    private int _allocatedSegments;
    private bool _disposed;

    public NativeSlab(int strideBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(strideBytes, 1);
        _stride = strideBytes;
        _segments = (byte**)NativeMemory.AllocZeroed((nuint)MaxSegments, (nuint)sizeof(byte*));
    }

    public int StrideBytes => (int)_stride;

    /// <summary>Records that fit without allocating.</summary>
    public int Capacity => Volatile.Read(ref _allocatedSegments) << SegmentShift;

    /// <summary>Native bytes held.</summary>
    public long Bytes => (long)Volatile.Read(ref _allocatedSegments) * (_stride << SegmentShift);

    public byte* this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _segments[index >> SegmentShift] + (index & SegmentMask) * _stride;
    }

    /// <summary>Makes records 0..count-1 addressable. Writer only.</summary>
    public void EnsureCapacity(int count)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var needed = (count + SegmentMask) >> SegmentShift;
        if (needed > MaxSegments)
            throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"a collection holds at most {(long)MaxSegments << SegmentShift} points");
        for (var s = _allocatedSegments; s < needed; s++)
        {
            _segments[s] = (byte*)NativeMemory.AlignedAlloc((nuint)(_stride << SegmentShift), 64);
            NativeMemory.Clear(_segments[s], (nuint)(_stride << SegmentShift));
            Volatile.Write(ref _allocatedSegments, s + 1);
        }
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        for (var s = 0; s < _allocatedSegments; s++)
            NativeMemory.AlignedFree(_segments[s]);
        NativeMemory.Free(_segments);
    }
}
