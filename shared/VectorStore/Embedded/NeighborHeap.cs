using System.Runtime.CompilerServices;

namespace Platform.VectorStore.Embedded;

/// <summary>A node and its distance to the query (lower is closer).</summary>
internal readonly record struct Neighbor(float Distance, int Node);

/// <summary>
/// A binary heap of neighbours on a reusable array: a min-heap (closest on top) or a max-heap (farthest on top).
/// No allocation once warmed up.
/// </summary>
internal sealed class NeighborHeap(bool farthestOnTop, int capacity = 64)
{
    private Neighbor[] _items = new Neighbor[Math.Max(capacity, 4)];

    public int Count { get; private set; }

    public Neighbor Top => _items[0];

    /// <summary>The items in heap order (not sorted).</summary>
    public ReadOnlySpan<Neighbor> Items => _items.AsSpan(0, Count);

    public void Clear() => Count = 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Above(in Neighbor a, in Neighbor b) => farthestOnTop ? a.Distance > b.Distance : a.Distance < b.Distance;

    public void Push(float distance, int node)
    {
        if (Count == _items.Length)
            Array.Resize(ref _items, _items.Length * 2);
        var items = _items;
        var i = Count++;
        var item = new Neighbor(distance, node);
        while (i > 0)
        {
            var parent = (i - 1) >> 1;
            if (!Above(item, items[parent]))
                break;
            items[i] = items[parent];
            i = parent;
        }
        items[i] = item;
    }

    public Neighbor Pop()
    {
        var items = _items;
        var top = items[0];
        var last = items[--Count];
        if (Count > 0)
            SiftDown(last);
        return top;
    }

    /// <summary>Replaces the top with a new item (one sift instead of a pop and a push).</summary>
    public void ReplaceTop(float distance, int node) => SiftDown(new Neighbor(distance, node));

    private void SiftDown(Neighbor item)
    {
        var items = _items;
        var count = Count;
        var i = 0;
        while (true)
        {
            var child = 2 * i + 1;
            if (child >= count)
                break;
            if (child + 1 < count && Above(items[child + 1], items[child]))
                child++;
            if (!Above(items[child], item))
                break;
            items[i] = items[child];
            i = child;
        }
        items[i] = item;
    }

    /// <summary>Empties the heap into <paramref name="destination"/>, closest first; returns how many.</summary>
    public int DrainSorted(Span<Neighbor> destination)
    {
        var n = Count;
        if (farthestOnTop)
        {
            for (var i = n - 1; i >= 0; i--)
                destination[i] = Pop();
        }
        else
        {
            for (var i = 0; i < n; i++)
                destination[i] = Pop();
        }
        return n;
    }
}
