using System.Collections.Concurrent;
using System.Numerics;
using System.Text.Json;

namespace Platform.VectorStore.Embedded;

/// <summary>
/// An index over the flattened payloads of a collection's slots, so a filter becomes a bitmap of slots without
/// reading every payload: posting lists for short strings and booleans (keyword, any-of, bool matches) and a column
/// of (slot, number) per numeric path (ranges and integer matches scan that compact column). Strings longer than
/// <see cref="MaxIndexedLength"/> (descriptions) and conditions the index cannot answer fall back to checking each
/// record. Tombstoned slots stay in the lists; callers keep only live slots. One writer appends; readers take
/// consistent snapshots of each list meanwhile.
/// </summary>
internal sealed class PayloadIndex
{
    public const int MaxIndexedLength = 128;

    private readonly ConcurrentDictionary<(string Key, string Token), GrowingList<int>> _postings = new();
    private readonly ConcurrentDictionary<string, GrowingList<(int Slot, double Value)>> _numbers = new(StringComparer.Ordinal);

    /// <summary>Indexes a slot's payload. Writer only; slots arrive in ascending order.</summary>
    public void Add(int slot, PayloadFields fields)
    {
        foreach (var (key, values) in fields.All)
        {
            foreach (var value in values)
            {
                switch (value.Kind)
                {
                    case JsonValueKind.String when value.Text!.Length <= MaxIndexedLength:
                        _postings.GetOrAdd((key, "s" + value.Text), _ => new GrowingList<int>()).Add(slot);
                        break;
                    case JsonValueKind.True or JsonValueKind.False:
                        _postings.GetOrAdd((key, value.IsTrue ? "t" : "f"), _ => new GrowingList<int>()).Add(slot);
                        break;
                    case JsonValueKind.Number:
                        _numbers.GetOrAdd(key, _ => new GrowingList<(int, double)>()).Add((slot, value.Number));
                        break;
                }
            }
        }
    }

    /// <summary>
    /// Slots below <paramref name="slotCount"/> whose payload (and id) satisfy the filter, as a bitmap. Tombstones may
    /// be set too. The filter has already been validated.
    /// </summary>
    public ulong[] Evaluate(Condition condition, CollectionState state, int slotCount)
    {
        var words = (slotCount + 63) >> 6;
        switch (condition)
        {
            case Filter f:
            {
                var result = Ones(words, slotCount);
                foreach (var c in f.Must)
                    And(result, Evaluate(c, state, slotCount));
                if (f.Should.Count > 0)
                {
                    var any = new ulong[words];
                    foreach (var c in f.Should)
                        Or(any, Evaluate(c, state, slotCount));
                    And(result, any);
                }
                foreach (var c in f.MustNot)
                    AndNot(result, Evaluate(c, state, slotCount));
                return result;
            }
            case MatchKeyword m when m.Value.Length <= MaxIndexedLength:
                return Postings(words, slotCount, (m.Key, "s" + m.Value));
            case MatchAny m when m.Values.All(v => v.Length <= MaxIndexedLength):
            {
                var result = new ulong[words];
                foreach (var value in m.Values)
                    Or(result, Postings(words, slotCount, (m.Key, "s" + value)));
                return result;
            }
            case MatchBool m:
                return Postings(words, slotCount, (m.Key, m.Value ? "t" : "f"));
            case MatchInteger m:
                return Numbers(words, slotCount, m.Key, v => v == m.Value);
            case Range r:
                return Numbers(words, slotCount, r.Key, v =>
                    (r.Gt is not { } gt || v > gt) && (r.Gte is not { } gte || v >= gte)
                    && (r.Lt is not { } lt || v < lt) && (r.Lte is not { } lte || v <= lte));
            case HasId h:
            {
                var result = new ulong[words];
                foreach (var id in h.Ids)
                {
                    if (state.Ids.TryGetValue(id, out var slot) && slot < slotCount)
                        result[slot >> 6] |= 1UL << slot;
                }
                return result;
            }
            default:
            {
                // Not answerable from the index (a long keyword): check each record.
                var predicate = FilterCompiler.CompileCondition(condition);
                var result = new ulong[words];
                for (var slot = 0; slot < slotCount; slot++)
                {
                    if (state.Record(slot) is { Deleted: false } record && predicate(record.Id, record.Fields))
                        result[slot >> 6] |= 1UL << slot;
                }
                return result;
            }
        }
    }

    private ulong[] Postings(int words, int slotCount, (string, string) token)
    {
        var result = new ulong[words];
        if (_postings.TryGetValue(token, out var list))
        {
            foreach (var slot in list.Snapshot())
            {
                if (slot < slotCount)
                    result[slot >> 6] |= 1UL << slot;
            }
        }
        return result;
    }

    private ulong[] Numbers(int words, int slotCount, string key, Func<double, bool> test)
    {
        var result = new ulong[words];
        if (_numbers.TryGetValue(key, out var list))
        {
            foreach (var (slot, value) in list.Snapshot())
            {
                if (slot < slotCount && test(value))
                    result[slot >> 6] |= 1UL << slot;
            }
        }
        return result;
    }

    private static ulong[] Ones(int words, int slotCount)
    {
        var result = new ulong[words];
        Array.Fill(result, ulong.MaxValue);
        if ((slotCount & 63) != 0)
            result[^1] = (1UL << (slotCount & 63)) - 1;
        return result;
    }

    private static void And(ulong[] into, ulong[] other)
    {
        for (var i = 0; i < into.Length; i++)
            into[i] &= other[i];
    }

    private static void Or(ulong[] into, ulong[] other)
    {
        for (var i = 0; i < into.Length; i++)
            into[i] |= other[i];
    }

    private static void AndNot(ulong[] into, ulong[] other)
    {
        for (var i = 0; i < into.Length; i++)
            into[i] &= ~other[i];
    }

    /// <summary>The slots set in a bitmap, ascending.</summary>
    public static IEnumerable<int> SetBits(ulong[] bitmap)
    {
        for (var w = 0; w < bitmap.Length; w++)
        {
            var bits = bitmap[w];
            while (bits != 0)
            {
                yield return (w << 6) + BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
            }
        }
    }
}

/// <summary>
/// A list one writer appends to while readers take snapshots: the array is published before the count that makes
/// its new items visible, so a snapshot never reads past what was written.
/// </summary>
internal sealed class GrowingList<T>
{
    private T[] _items = new T[4];
    private int _count;

    public void Add(T item)
    {
        var count = _count;
        if (count == _items.Length)
        {
            var grown = new T[count * 2];
            Array.Copy(_items, grown, count);
            Volatile.Write(ref _items, grown);
        }
        _items[count] = item;
        Volatile.Write(ref _count, count + 1);
    }

    public ReadOnlySpan<T> Snapshot()
    {
        var count = Volatile.Read(ref _count);
        return Volatile.Read(ref _items).AsSpan(0, count);
    }
}
