using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Platform.Inference.Tokenization;

/// <summary>
/// BERT's WordPiece tokenizer (bert-base-uncased's vocabulary, which all-MiniLM-L6-v2 uses), as
/// models/pretrained/minilm.py's <c>WordPiece</c> does it: text is lower-cased and its accents stripped (when
/// <see cref="Lowercase"/>), split at whitespace and control characters, punctuation and CJK ideographs become words
/// of their own, and each word is cut greedily into the longest pieces of the vocabulary ("##" inside a word); a word
/// that cannot be cut, or is longer than <see cref="MaxCharsPerWord"/> code points, is [UNK]. Thread-safe; one
/// instance serves every request.
/// </summary>
/// <remarks>
/// Lower-casing and NFD follow Python's str.lower and unicodedata (a table generated from them, see
/// make_unicode_fold.py): the platform runs with InvariantGlobalization, where .NET's own normalisation is a no-op.
/// Without <see cref="Lowercase"/> the text is kept as it is (BERT's cased models: no lower case, no NFD, accents kept).
/// </remarks>
public sealed class WordPieceTokenizer : ITextTokenizer
{
    public const string ClassToken = "[CLS]", SeparatorToken = "[SEP]", PaddingToken = "[PAD]", UnknownToken = "[UNK]";

    /// <summary>The prefix of a piece that continues a word.</summary>
    public const string ContinuationPrefix = "##";

    /// <summary>A longer word is [UNK] (BERT's max_input_chars_per_word), counted in code points after folding.</summary>
    public const int MaxCharsPerWord = 100;

    // A word holds at most MaxCharsPerWord code points of two UTF-16 units each; what comes after is only counted.
    private const int WordBufferChars = 2 * MaxCharsPerWord;
    private const int StackIds = 256;

    private readonly Dictionary<string, int> _wordStarts;    // every token that does not start with "##"
    private readonly Dictionary<string, int> _continuations; // "##x" tokens, keyed by x
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _startsBySpan;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _continuationsBySpan;
    // No key is longer (in UTF-16 units), so a match is looked for from there down.
    private readonly int _longestStart;
    private readonly int _longestContinuation;

    private WordPieceTokenizer(string[] tokens, bool lowercase, string source)
    {
        Lowercase = lowercase;
        _wordStarts = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
        _continuations = new Dictionary<string, int>(tokens.Length / 4, StringComparer.Ordinal);
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var id = 0; id < tokens.Length; id++)
        {
            var token = tokens[id];
            if (token.Length == 0)
                continue; // an empty line keeps its id unused, as in the reference
            ids[token] = id; // a token listed twice keeps its later id, as Python's dict does
        }
        foreach (var (token, id) in ids)
        {
            if (token.StartsWith(ContinuationPrefix, StringComparison.Ordinal))
            {
                // Words never hold '#' (it is punctuation), so a "##" token can only continue one.
                if (token.Length > ContinuationPrefix.Length)
                {
                    _continuations[token[ContinuationPrefix.Length..]] = id;
                    _longestContinuation = Math.Max(_longestContinuation, token.Length - ContinuationPrefix.Length);
                }
                continue;
            }
            _wordStarts[token] = id;
            _longestStart = Math.Max(_longestStart, token.Length);
        }
        _startsBySpan = _wordStarts.GetAlternateLookup<ReadOnlySpan<char>>();
        _continuationsBySpan = _continuations.GetAlternateLookup<ReadOnlySpan<char>>();
        ClassId = Require(ids, ClassToken, source);
        SeparatorId = Require(ids, SeparatorToken, source);
        PaddingId = Require(ids, PaddingToken, source);
        UnknownId = Require(ids, UnknownToken, source);
        VocabularySize = tokens.Length;
    }

    /// <summary>Whether text is lower-cased and its accents stripped first (uncased BERT vocabularies).</summary>
    public bool Lowercase { get; }

    /// <summary>The id of [CLS], the first token of every text.</summary>
    public int ClassId { get; }

    /// <summary>The id of [SEP], the last token before the padding.</summary>
    public int SeparatorId { get; }

    /// <summary>The id of [PAD] (0 in BERT's vocabularies), written after [SEP].</summary>
    public int PaddingId { get; }

    public int UnknownId { get; }

    /// <summary>The number of lines of the vocabulary: one more than the largest id.</summary>
    public int VocabularySize { get; }

    /// <summary>Loads <c>vocab.txt</c>: one token a line, its id the line's number from 0.</summary>
    public static WordPieceTokenizer FromFile(string vocabPath, bool lowercase = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(vocabPath);
        var full = Path.GetFullPath(vocabPath);
        if (!File.Exists(full))
            throw new FileNotFoundException($"The WordPiece vocabulary (vocab.txt) does not exist: {full}", full);
        // Lines end at \n, \r\n or \r, as Python's text mode reads them; a UTF-8 byte order mark is skipped.
        var tokens = new List<string>(32_768);
        using (var reader = new StreamReader(full, Encoding.UTF8, detectEncodingFromByteOrderMarks: true))
        {
            while (reader.ReadLine() is { } line)
                tokens.Add(line);
        }
        return new WordPieceTokenizer([.. tokens], lowercase, full);
    }

    /// <summary>A tokenizer over <paramref name="tokens"/> in id order (tests, tools).</summary>
    public static WordPieceTokenizer FromTokens(IEnumerable<string> tokens, bool lowercase = true) =>
        new([.. tokens], lowercase, "the vocabulary given");

    /// <inheritdoc/>
    public IReadOnlyList<int> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        // Every id covers at least one code point of the folded text, and a UTF-16 unit folds to at most three.
        var bound = checked(3 * text.Length + 1);
        long[]? rented = null;
        Span<long> ids = bound <= StackIds ? stackalloc long[StackIds] : (rented = ArrayPool<long>.Shared.Rent(bound));
        try
        {
            var count = AppendIds(text, ids[..bound]);
            var result = new int[count];
            for (var i = 0; i < count; i++)
                result[i] = (int)ids[i];
            return result;
        }
        finally
        {
            if (rented is not null)
                ArrayPool<long>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Writes [CLS], the ids, [SEP] and then [PAD] into <paramref name="destination"/>. Text too long for it is cut so
    /// that [SEP] is still written, as the reference's <c>encode</c> with <c>max_length</c> = the destination's length.
    /// </summary>
    /// <returns>How many tokens precede the padding: the ids, [CLS] and [SEP].</returns>
    public int EncodeForModel(string text, Span<long> destination)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (destination.Length < 2)
            throw new ArgumentException($"The destination holds {destination.Length} tokens; it needs room for at least [CLS] and [SEP].", nameof(destination));
        destination[0] = ClassId;
        // Tokenising stops once the context is full, so a long text costs no more than its first words.
        var count = AppendIds(text, destination[1..^1]);
        destination[count + 1] = SeparatorId;
        destination[(count + 2)..].Fill(PaddingId); // also over pieces of a word that turned out [UNK]
        return count + 2;
    }

    /// <inheritdoc/>
    public long[] EncodeForModel(string text, int contextLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, 2);
        var tokens = new long[contextLength];
        EncodeForModel(text, tokens);
        return tokens;
    }

    /// <summary>Writes the ids of <paramref name="text"/> until <paramref name="destination"/> is full; returns how many.</summary>
    private int AppendIds(ReadOnlySpan<char> text, Span<long> destination)
    {
        var writer = new Writer(this, destination, stackalloc char[WordBufferChars]);
        Span<char> scratch = stackalloc char[3];
        var i = 0;
        while (i < text.Length && !writer.Full)
        {
            var c = text[i];
            if (c < 0x80)
            {
                i++;
                // ASCII: below the space and DEL are controls (or spaces), both end a word.
                if (c <= ' ' || c == '\x7f')
                    writer.EndWord();
                else if (IsAsciiPunctuation(c))
                    writer.Single(c);
                else
                    writer.Append(Lowercase && char.IsAsciiLetterUpper(c) ? (char)(c | 0x20) : c);
                continue;
            }

            var folded = Fold(text, ref i, scratch);
            while (!folded.IsEmpty)
            {
                if (Rune.DecodeFromUtf16(folded, out var rune, out var width) != OperationStatus.Done)
                {
                    writer.Append(folded[0]); // a lone surrogate: no category of use, so part of the word
                    folded = folded[1..];
                    continue;
                }
                var category = Rune.GetUnicodeCategory(rune);
                if (category is UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
                    or UnicodeCategory.Control or UnicodeCategory.Format)
                    writer.EndWord();
                else if (IsPunctuation(rune, category) || IsChineseCharacter(rune.Value))
                    writer.Single(folded[..width]);
                else
                    writer.Append(folded[..width]);
                folded = folded[width..];
            }
        }
        writer.EndWord();
        return writer.Count;
    }

    /// <summary>
    /// The UTF-16 of the code point at <paramref name="i"/> (not ASCII) as the reference sees it after lower-casing,
    /// NFD and dropping the Mn marks; empty for a mark. Advances <paramref name="i"/> past it.
    /// </summary>
    private ReadOnlySpan<char> Fold(ReadOnlySpan<char> text, ref int i, Span<char> scratch)
    {
        var start = i;
        if (Rune.DecodeFromUtf16(text[i..], out var rune, out var width) != OperationStatus.Done)
        {
            i++;
            return text.Slice(start, 1);
        }
        i += width;
        if (!Lowercase)
            return text.Slice(start, width);
        var cp = rune.Value;
        if (cp == CapitalSigma)
        {
            scratch[0] = IsFinalSigma(text, start) ? '\u03C2' : '\u03C3';
            return scratch[..1];
        }
        if (cp is >= HangulFirst and <= HangulLast)
            return DecomposeHangul(cp, scratch);
        var k = UnicodeFold.Keys.BinarySearch(cp);
        if (k >= 0)
        {
            var from = k == 0 ? 0 : UnicodeFold.Ends[k - 1];
            return UnicodeFold.Text.AsSpan(from, UnicodeFold.Ends[k] - from);
        }
        return Rune.GetUnicodeCategory(rune) == UnicodeCategory.NonSpacingMark ? [] : text.Slice(start, width);
    }

    private const int CapitalSigma = 0x3A3;
    private const int HangulFirst = 0xAC00, HangulLast = 0xD7A3;

    // Unicode's arithmetic decomposition of a Hangul syllable into its leading consonant, vowel and optional final.
    private static ReadOnlySpan<char> DecomposeHangul(int cp, Span<char> scratch)
    {
        const int leadBase = 0x1100, vowelBase = 0x1161, trailBase = 0x11A7, trailCount = 28, vowelTrailCount = 21 * trailCount;
        var index = cp - HangulFirst;
        scratch[0] = (char)(leadBase + index / vowelTrailCount);
        scratch[1] = (char)(vowelBase + index % vowelTrailCount / trailCount);
        var trail = index % trailCount;
        if (trail == 0)
            return scratch[..2];
        scratch[2] = (char)(trailBase + trail);
        return scratch[..3];
    }

    // Python's str.lower turns Σ into final ς when a cased letter precedes it and none follows, skipping
    // case-ignorable characters both ways (Unicode's Final_Sigma condition).
    private static bool IsFinalSigma(ReadOnlySpan<char> text, int at)
    {
        var before = false;
        for (var j = at; j > 0;)
        {
            Rune.DecodeLastFromUtf16(text[..j], out var rune, out var width);
            j -= width;
            if (!IsCaseIgnorable(rune))
            {
                before = IsCased(rune);
                break;
            }
        }
        if (!before)
            return false;
        for (var j = at + 1; j < text.Length;)
        {
            Rune.DecodeFromUtf16(text[j..], out var rune, out var width);
            j += width;
            if (!IsCaseIgnorable(rune))
                return !IsCased(rune);
        }
        return true;
    }

    // Unicode's Case_Ignorable: these categories and the Word_Break MidLetter, MidNumLet and Single_Quote characters.
    private static bool IsCaseIgnorable(Rune rune) =>
        Rune.GetUnicodeCategory(rune) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format
            or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol
        || rune.Value is '\'' or '.' or ':' or 0xB7 or 0x387 or 0x55F or 0x5F4 or 0x2018 or 0x2019 or 0x2024 or 0x2027
            or 0xFE13 or 0xFE52 or 0xFE55 or 0xFF07 or 0xFF0E or 0xFF1A;

    // Unicode's Cased: the cased letters and the Other_Lowercase/Other_Uppercase characters that are not modifiers.
    private static bool IsCased(Rune rune) =>
        Rune.GetUnicodeCategory(rune) is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
        || rune.Value is 0xAA or 0xBA or (>= 0x2160 and <= 0x217F) or (>= 0x24B6 and <= 0x24E9)
            or (>= 0x1F130 and <= 0x1F149) or (>= 0x1F150 and <= 0x1F169) or (>= 0x1F170 and <= 0x1F189);

    // BERT counts every non-alphanumeric printable ASCII character as punctuation ("$", "+", "^", "`" too).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsAsciiPunctuation(int c) => c is (>= 33 and <= 47) or (>= 58 and <= 64) or (>= 91 and <= 96) or (>= 123 and <= 126);

    private static bool IsPunctuation(Rune rune, UnicodeCategory category) =>
        IsAsciiPunctuation(rune.Value)
        || category is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
            or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation
            or UnicodeCategory.OtherPunctuation;

    /// <summary>The CJK ideograph blocks BERT splits into one word per character (not kana, not Hangul).</summary>
    internal static bool IsChineseCharacter(int cp) =>
        cp is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF) or (>= 0x20000 and <= 0x2A6DF) or (>= 0x2A700 and <= 0x2CEAF)
            or (>= 0xF900 and <= 0xFAFF) or (>= 0x2F800 and <= 0x2FA1F);

    private static int Require(Dictionary<string, int> ids, string token, string source) =>
        ids.TryGetValue(token, out var id)
            ? id
            : throw new InvalidDataException($"{source} lacks '{token}'; it is not a BERT WordPiece vocabulary.");

    /// <summary>Collects the current word and writes the ids of each finished one, until the destination is full.</summary>
    private ref struct Writer(WordPieceTokenizer tokenizer, Span<long> destination, Span<char> word)
    {
        private readonly Span<long> _destination = destination;
        private readonly Span<char> _word = word;
        private int _wordLength;
        private int _wordCodePoints;

        public int Count { get; private set; }

        public readonly bool Full => Count == _destination.Length;

        public void Append(char c)
        {
            if (_wordCodePoints++ < MaxCharsPerWord)
                _word[_wordLength++] = c;
        }

        public void Append(scoped ReadOnlySpan<char> codePoint)
        {
            if (_wordCodePoints++ < MaxCharsPerWord)
            {
                codePoint.CopyTo(_word[_wordLength..]);
                _wordLength += codePoint.Length;
            }
        }

        /// <summary>A word of one character (punctuation, an ideograph): ends the current word first.</summary>
        public void Single(char c) => Single([c]);

        public void Single(scoped ReadOnlySpan<char> codePoint)
        {
            EndWord();
            if (!Full)
                WritePieces(codePoint, 1);
        }

        public void EndWord()
        {
            if (_wordCodePoints > 0 && !Full)
                WritePieces(_word[.._wordLength], _wordCodePoints);
            _wordLength = 0;
            _wordCodePoints = 0;
        }

        // Greedy longest match first: at each position the longest piece of the vocabulary, "##" after the first.
        // Pieces are written as found while there is room; a word that turns out not to split is one [UNK] instead.
        private void WritePieces(scoped ReadOnlySpan<char> text, int codePoints)
        {
            var first = Count;
            if (codePoints > MaxCharsPerWord)
            {
                Write(tokenizer.UnknownId);
                return;
            }
            var start = 0;
            while (start < text.Length)
            {
                var continuing = start > 0;
                var end = Math.Min(text.Length, start + (continuing ? tokenizer._longestContinuation : tokenizer._longestStart));
                if (end < text.Length && char.IsLowSurrogate(text[end]))
                    end--; // never between the halves of a code point
                var id = -1;
                while (end > start)
                {
                    var piece = text[start..end];
                    if (continuing ? tokenizer._continuationsBySpan.TryGetValue(piece, out id) : tokenizer._startsBySpan.TryGetValue(piece, out id))
                        break;
                    id = -1;
                    end -= end - start >= 2 && char.IsLowSurrogate(text[end - 1]) && char.IsHighSurrogate(text[end - 2]) ? 2 : 1;
                }
                if (id < 0)
                {
                    Count = first;
                    Write(tokenizer.UnknownId);
                    return;
                }
                Write(id);
                start = end;
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Write(int id)
        {
            if (Count < _destination.Length)
                _destination[Count++] = id;
        }
    }
}
