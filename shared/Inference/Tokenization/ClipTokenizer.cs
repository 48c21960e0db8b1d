using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;

namespace Platform.Inference.Tokenization;

/// <summary>
/// CLIP's byte-level BPE tokeniser: the text normalisation, pre-tokenisation and merge order of the reference,
/// so ids match what the text tower was trained on. Thread-safe; one instance serves every request.
/// </summary>
public sealed partial class ClipTokenizer : ITextTokenizer
{
    public const string StartOfTextToken = "<|startoftext|>";
    public const string EndOfTextToken = "<|endoftext|>";

    // The word cache is cleared when it reaches this many entries: bounded memory, and queries repeat words enough
    // that a cold start costs little. Pieces longer than MaxCachedPieceLength (rare, often junk) are not cached.
    private const int CacheCapacity = 32_768;
    private const int MaxCachedPieceLength = 64;
    private const int StackChars = 512;
    private const int StackInts = 256;

    private readonly Dictionary<long, MergeRule> _merges; // (left id, right id) → rank and merged id
    private readonly int[] _byteIds;                      // byte → id of its symbol
    private readonly int[] _byteEndIds;                   // byte → id of its symbol + "</w>"
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _cacheBySpan;
    private int _cacheCount;

    /// <summary>The id of <c>&lt;|startoftext|&gt;</c>.</summary>
    public int StartOfText { get; }

    /// <summary>The id of <c>&lt;|endoftext|&gt;</c>; the text tower pools at its position.</summary>
    public int EndOfText { get; }

    /// <summary>One more than the largest id: the rows the token embedding needs.</summary>
    public int VocabularySize { get; }

    /// <summary>The BPE ids of <paramref name="text"/>, without the start and end tokens.</summary>
    public IReadOnlyList<int> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var unescaped = Unescape(text);
        // Every id covers at least one UTF-8 byte of the cleaned text, and a char is at most three bytes.
        var bound = checked(unescaped.Length * 3);
        int[]? rented = null;
        Span<int> ids = bound <= StackInts ? stackalloc int[StackInts] : (rented = ArrayPool<int>.Shared.Rent(bound));
        try
        {
            var count = EncodeUnescaped(unescaped, ids);
            return ids[..count].ToArray();
        }
        finally
        {
            if (rented is not null)
                ArrayPool<int>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Writes start token, ids, end token into <paramref name="destination"/> and zeros after them. Text too long
    /// for it is cut so that the end token is still the last one written, as CLIP's <c>tokenize(truncate=True)</c>.
    /// </summary>
    /// <returns>How many tokens precede the zeros: the ids and the start and end tokens.</returns>
    public int EncodeForModel(string text, Span<long> destination)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (destination.Length < 2)
            throw new ArgumentException($"The destination holds {destination.Length} tokens; it needs room for at least the start and end tokens.", nameof(destination));

        var capacity = destination.Length - 2;
        int[]? rented = null;
        Span<int> ids = capacity <= StackInts ? stackalloc int[StackInts] : (rented = ArrayPool<int>.Shared.Rent(capacity));
        try
        {
            // Tokenising stops once the context is full, so a long text costs no more than its first words.
            var count = EncodeUnescaped(Unescape(text), ids[..capacity]);
            destination.Clear();
            destination[0] = StartOfText;
            for (var i = 0; i < count; i++)
                destination[i + 1] = ids[i];
            destination[count + 1] = EndOfText;
            return count + 2;
        }
        finally
        {
            if (rented is not null)
                ArrayPool<int>.Shared.Return(rented);
        }
    }

    /// <summary>A new <paramref name="contextLength"/>-long array: start token, ids, end token, zeros.</summary>
    public long[] EncodeForModel(string text, int contextLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, 2);
        var tokens = new long[contextLength];
        EncodeForModel(text, tokens);
        return tokens;
    }

    // CLIP's basic_clean, less ftfy: HTML entities are undone twice, so "&amp;amp;" becomes "&".
    private static string Unescape(string text) =>
        text.Contains('&') ? WebUtility.HtmlDecode(WebUtility.HtmlDecode(text)) : text;

    private int EncodeUnescaped(string text, Span<int> destination)
    {
        char[]? rented = null;
        var need = checked(text.Length * 2);
        Span<char> buffer = need <= StackChars ? stackalloc char[StackChars] : (rented = ArrayPool<char>.Shared.Rent(need));
        try
        {
            var collapsed = buffer[..text.Length];
            var lowered = buffer.Slice(text.Length, text.Length);
            var length = CollapseWhitespace(text, collapsed);
            // Invariant lower-casing keeps the UTF-16 length.
            length = collapsed[..length].ToLowerInvariant(lowered);
            return EncodeClean(lowered[..length], destination);
        }
        finally
        {
            if (rented is not null)
                ArrayPool<char>.Shared.Return(rented);
        }
    }

    // CLIP's whitespace_clean: runs of whitespace become one space, and the ends are trimmed.
    private static int CollapseWhitespace(ReadOnlySpan<char> source, Span<char> destination)
    {
        var n = 0;
        var pendingSpace = false;
        foreach (var c in source)
        {
            if (IsSpace(c))
            {
                pendingSpace = n > 0;
                continue;
            }
            if (pendingSpace)
            {
                destination[n++] = ' ';
                pendingSpace = false;
            }
            destination[n++] = c;
        }
        return n;
    }

    // Python's str.isspace, which CLIP's \s follows: Unicode White_Space plus the ASCII separators U+001C..U+001F.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsSpace(char c) => c == ' ' || (c < 128 ? c is >= '\t' and <= '\r' or >= '\x1c' and <= '\x1f' : char.IsWhiteSpace(c));

    /// <summary>
    /// Splits cleaned, lower-case text as CLIP's pattern
    /// <c>&lt;\|startoftext\|&gt;|&lt;\|endoftext\|&gt;|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+</c> does,
    /// scanning by code point (so letters outside the BMP are letters, as in Python), and writes each piece's ids.
    /// Stops when <paramref name="destination"/> is full.
    /// </summary>
    private int EncodeClean(ReadOnlySpan<char> text, Span<int> destination)
    {
        var count = 0;
        var i = 0;
        while (i < text.Length && count < destination.Length)
        {
            if (text[i] == ' ') // the only whitespace left after cleaning
            {
                i++;
                continue;
            }
            var rest = text[i..];
            if (rest[0] == '<')
            {
                if (rest.StartsWith(StartOfTextToken, StringComparison.Ordinal))
                {
                    destination[count++] = StartOfText;
                    i += StartOfTextToken.Length;
                    continue;
                }
                if (rest.StartsWith(EndOfTextToken, StringComparison.Ordinal))
                {
                    destination[count++] = EndOfText;
                    i += EndOfTextToken.Length;
                    continue;
                }
            }
            var length = PieceLength(rest);
            var ids = WordIds(rest[..length]);
            var take = Math.Min(ids.Length, destination.Length - count);
            ids.AsSpan(0, take).CopyTo(destination[count..]);
            count += take;
            i += length;
        }
        return count;
    }

    // The length of the piece the pattern matches at the start of text (which does not start with a space).
    private static int PieceLength(ReadOnlySpan<char> text)
    {
        if (text[0] == '\'' && text.Length > 1)
        {
            var next = text[1];
            if (next is 's' or 't' or 'm' or 'd')
                return 2;
            if (text.Length > 2 && ((next is 'r' or 'v' && text[2] == 'e') || (next == 'l' && text[2] == 'l')))
                return 3;
        }
        var kind = Classify(text, out var end);
        if (kind == CharKind.Number)
            return end; // one digit at a time
        while (end < text.Length)
        {
            if (Classify(text[end..], out var width) != kind)
                break;
            end += width;
        }
        return end;
    }

    private enum CharKind : byte { Space, Letter, Number, Other }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static CharKind Classify(ReadOnlySpan<char> text, out int width)
    {
        var c = text[0];
        if (c < 128)
        {
            width = 1;
            return char.IsAsciiLetter(c) ? CharKind.Letter : char.IsAsciiDigit(c) ? CharKind.Number : IsSpace(c) ? CharKind.Space : CharKind.Other;
        }
        return ClassifyNonAscii(text, out width);
    }

    private static CharKind ClassifyNonAscii(ReadOnlySpan<char> text, out int width)
    {
        if (Rune.DecodeFromUtf16(text, out var rune, out width) != OperationStatus.Done)
            return CharKind.Other; // a lone surrogate: neither letter, number nor space
        if (IsSpace(text[0]))
            return CharKind.Space;
        return Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => CharKind.Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => CharKind.Number,
            _ => CharKind.Other,
        };
    }

    // The ids of one piece, from the cache or by BPE. The returned array is shared: never written to.
    private int[] WordIds(ReadOnlySpan<char> piece)
    {
        if (_cacheBySpan.TryGetValue(piece, out var cached))
            return cached;
        var ids = Bpe(piece);
        if (piece.Length <= MaxCachedPieceLength)
        {
            // Approximate under races, which only makes the next clear come a little early or late.
            if (Interlocked.Increment(ref _cacheCount) > CacheCapacity)
            {
                _cache.Clear();
                Volatile.Write(ref _cacheCount, 1);
            }
            _cacheBySpan.TryAdd(piece, ids);
        }
        return ids;
    }

    private int[] Bpe(ReadOnlySpan<char> piece)
    {
        var maxBytes = Encoding.UTF8.GetMaxByteCount(piece.Length);
        byte[]? rentedBytes = null;
        int[]? rentedInts = null;
        Span<byte> bytes = maxBytes <= StackChars ? stackalloc byte[StackChars] : (rentedBytes = ArrayPool<byte>.Shared.Rent(maxBytes));
        try
        {
            var n = Encoding.UTF8.GetBytes(piece, bytes);
            // Three arrays of n: the symbols, the rank of each adjacent pair, and the id that pair merges into.
            Span<int> work = 3 * n <= StackInts ? stackalloc int[StackInts] : (rentedInts = ArrayPool<int>.Shared.Rent(3 * n));
            var symbols = work[..n];
            for (var k = 0; k < n - 1; k++)
                symbols[k] = _byteIds[bytes[k]];
            symbols[n - 1] = _byteEndIds[bytes[n - 1]]; // the word's last symbol carries "</w>"
            n = ApplyMerges(symbols, work.Slice(n, n), work.Slice(2 * n, n));
            return symbols[..n].ToArray();
        }
        finally
        {
            if (rentedBytes is not null)
                ArrayPool<byte>.Shared.Return(rentedBytes);
            if (rentedInts is not null)
                ArrayPool<int>.Shared.Return(rentedInts);
        }
    }

    // The reference loop: find the adjacent pair with the lowest merge rank, merge every occurrence of it left to
    // right without overlap, repeat until no adjacent pair has a rank. ranks[k] and mergedIds[k] describe the pair
    // (symbols[k], symbols[k + 1]) and are carried along, so a pass looks up only the pairs a merge created; a
    // pass is then a scan of ints, and even a pathological 5,000-letter word costs milliseconds.
    private int ApplyMerges(Span<int> symbols, Span<int> ranks, Span<int> mergedIds)
    {
        var n = symbols.Length;
        for (var k = 0; k < n - 1; k++)
            (ranks[k], mergedIds[k]) = Lookup(symbols[k], symbols[k + 1]);

        while (n > 1)
        {
            // Ranks are unique per pair, so the lowest rank names one pair and every position holding it.
            var best = int.MaxValue;
            var merged = 0;
            for (var k = 0; k < n - 1; k++)
            {
                if (ranks[k] < best)
                {
                    best = ranks[k];
                    merged = mergedIds[k];
                }
            }
            if (best == int.MaxValue)
                break;

            // Compact in place (w <= r). Before output w is written, only ranks[< w - 1] have been rewritten, and
            // the old rank of an unchanged output's pair is read before its slot can be reused.
            var w = 0;
            var previousChanged = false;
            int previousOldRank = 0, previousOldId = 0;
            for (var r = 0; r < n; w++)
            {
                bool changed;
                int oldRank = 0, oldId = 0;
                if (r < n - 1 && ranks[r] == best)
                {
                    symbols[w] = merged;
                    changed = true;
                    r += 2;
                }
                else
                {
                    symbols[w] = symbols[r];
                    changed = false;
                    if (r < n - 1)
                    {
                        oldRank = ranks[r];
                        oldId = mergedIds[r];
                    }
                    r++;
                }
                if (w > 0)
                {
                    // Two unchanged neighbours were neighbours before, so their pair's rank is already known.
                    if (!previousChanged && !changed)
                        (ranks[w - 1], mergedIds[w - 1]) = (previousOldRank, previousOldId);
                    else
                        (ranks[w - 1], mergedIds[w - 1]) = Lookup(symbols[w - 1], symbols[w]);
                }
                previousChanged = changed;
                previousOldRank = oldRank;
                previousOldId = oldId;
            }
            n = w;
        }
        return n;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private (int Rank, int Id) Lookup(int left, int right) =>
        _merges.TryGetValue(PairKey(left, right), out var rule) ? (rule.Rank, rule.Id) : (int.MaxValue, 0);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long PairKey(int left, int right) => ((long)left << 32) | (uint)right;

    private readonly record struct MergeRule(int Rank, int Id);
}
