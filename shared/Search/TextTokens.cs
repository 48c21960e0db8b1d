using System.Globalization;
using System.Text;
using Lucene.Net.Analysis.Cn.Smart;
using Lucene.Net.Tartarus.Snowball.Ext;

namespace Platform.Search;

/// <summary>
/// Tokens for lexical matching. Words of letters and digits are lower-cased and stemmed by the Snowball English
/// stemmer (Porter2: "running shoes" and "Running Shoe" both give "run", "shoe"). CJK runs, which have no spaces, are
/// segmented into words by SmartCn (Lucene's HMM segmenter with its dictionary): a document keeps its single
/// characters, its character bigrams and its segmented words of three or more characters, so any query form
/// matches; a query keeps its segmented words (and the bigrams inside the longer ones), not the bigrams that
/// straddle two words ("冬天保暖" gives "冬天", "保暖", not "天保"), and drops the particles that say nothing ("的").
/// </summary>
public static class TextTokens
{
    /// <summary>Single characters a query's segmentation yields that match too much to mean anything.</summary>
    private static readonly HashSet<string> Particles = ["的", "了", "和", "与", "是", "在", "要", "用", "给", "把", "被", "吗", "呢", "吧", "啊", "些", "个", "什", "么", "我", "你", "他", "她", "它", "有", "也", "就", "都", "很", "去", "来", "上", "里"];

    // SmartCn's segmenter itself: its analyzer would first split sentences with ICU4N, which needs culture data that
    // globalization-invariant mode does not have. A CJK run is one sentence's worth anyway.
    private static readonly Lucene.Net.Analysis.Cn.Smart.Hhmm.HHMMSegmenter Segmenter = new();

    [ThreadStatic] private static EnglishStemmer? _stemmer;

    /// <summary>Tokens of a document's text.</summary>
    public static List<string> Of(string? text) => Tokenize(text, query: false);

    /// <summary>Tokens of a query.</summary>
    public static List<string> OfQuery(string? text) => Tokenize(text, query: true);

    /// <summary>The stem of one lower-case word, as tokens carry it.</summary>
    public static string Stem(string word)
    {
        if (word.Length < 3 || !word.All(char.IsAsciiLetterLower))
            return word;
        var stemmer = _stemmer ??= new EnglishStemmer();
        stemmer.SetCurrent(word);
        stemmer.Stem();
        return stemmer.Current;
    }

    /// <summary>
    /// The character trigrams of the words of <paramref name="text"/> (each word padded with '^' and '$'), for typo
    /// tolerance: "sneekers" shares "^sn", "sne", "ers", "rs$" with "sneakers". Words shorter than
    /// <paramref name="minLength"/> and CJK text give none.
    /// </summary>
    public static List<string> Trigrams(string? text, int minLength = 3)
    {
        var grams = new List<string>();
        foreach (var word in Words(text))
        {
            if (word.Length < minLength)
                continue;
            var padded = $"^{word}$";
            for (var i = 0; i + 3 <= padded.Length; i++)
                grams.Add(padded.Substring(i, 3));
        }
        return grams;
    }

    private static List<string> Tokenize(string? text, bool query)
    {
        var tokens = new List<string>();
        if (string.IsNullOrEmpty(text))
            return tokens;
        var word = new StringBuilder();
        var cjk = new StringBuilder();
        foreach (var rune in text.EnumerateRunes())
        {
            if (IsCjk(rune))
            {
                FlushWord(word, tokens);
                cjk.Append(rune.ToString());
            }
            else if (Rune.IsLetterOrDigit(rune))
            {
                FlushCjk(cjk, tokens, query);
                word.Append(Rune.ToLowerInvariant(rune).ToString());
            }
            else
            {
                FlushWord(word, tokens);
                FlushCjk(cjk, tokens, query);
            }
        }
        FlushWord(word, tokens);
        FlushCjk(cjk, tokens, query);
        return tokens;
    }

    /// <summary>The lower-cased words of letters and digits, unstemmed, CJK left out.</summary>
    public static IEnumerable<string> Words(string? text)
    {
        if (string.IsNullOrEmpty(text))
            yield break;
        var word = new StringBuilder();
        foreach (var rune in text.EnumerateRunes())
        {
            if (Rune.IsLetterOrDigit(rune) && !IsCjk(rune))
            {
                word.Append(Rune.ToLowerInvariant(rune).ToString());
                continue;
            }
            if (word.Length > 0)
                yield return word.ToString();
            word.Clear();
        }
        if (word.Length > 0)
            yield return word.ToString();
    }

    private static void FlushWord(StringBuilder word, List<string> tokens)
    {
        if (word.Length == 0)
            return;
        tokens.Add(Stem(word.ToString()));
        word.Clear();
    }

    private static void FlushCjk(StringBuilder run, List<string> tokens, bool query)
    {
        if (run.Length == 0)
            return;
        var text = run.ToString();
        run.Clear();
        var words = Segment(text);
        if (query)
        {
            foreach (var w in words)
            {
                var chars = Characters(w);
                if (chars.Count == 1)
                {
                    if (!Particles.Contains(w))
                        tokens.Add(w);
                    continue;
                }
                tokens.Add(w);
                if (chars.Count > 2)
                    tokens.AddRange(Bigrams(chars));
            }
            return;
        }
        var all = Characters(text);
        tokens.AddRange(all);
        tokens.AddRange(Bigrams(all));
        tokens.AddRange(words.Where(w => Characters(w).Count > 2));
    }

    /// <summary>SmartCn's words of a CJK run; the whole run as one word if the segmenter gives nothing.</summary>
    private static List<string> Segment(string text)
    {
        var words = new List<string>();
        IList<Lucene.Net.Analysis.Cn.Smart.Hhmm.SegToken> segments;
        lock (Segmenter)
            segments = Segmenter.Process(text);
        foreach (var segment in segments)
        {
            if (segment.WordType is WordType.SENTENCE_BEGIN or WordType.SENTENCE_END)
                continue;
            var w = new string(segment.CharArray);
            if (w.EnumerateRunes().Any(IsCjk))
                words.Add(w);
        }
        return words.Count > 0 ? words : [text];
    }

    private static List<string> Characters(string text)
    {
        var chars = new List<string>();
        var e = StringInfo.GetTextElementEnumerator(text);
        while (e.MoveNext())
            chars.Add(e.GetTextElement());
        return chars;
    }

    private static IEnumerable<string> Bigrams(List<string> chars)
    {
        for (var i = 0; i + 1 < chars.Count; i++)
            yield return chars[i] + chars[i + 1];
    }

    private static bool IsCjk(Rune r) => r.Value is
        (>= 0x3040 and <= 0x30FF) or  // Hiragana, Katakana
        (>= 0x3400 and <= 0x4DBF) or  // CJK Extension A
        (>= 0x4E00 and <= 0x9FFF) or  // CJK Unified Ideographs
        (>= 0xAC00 and <= 0xD7AF) or  // Hangul syllables
        (>= 0xF900 and <= 0xFAFF) or  // CJK Compatibility Ideographs
        (>= 0x20000 and <= 0x2FA1F);  // Extensions B and beyond
}
