using System.Globalization;
using System.Text;

namespace Platform.Search;

/// <summary>
/// Tokens for lexical matching: lower-cased words of letters and digits, with a light English plural fold
/// ("mugs" → "mug"). CJK runs, which have no spaces, become character bigrams; in documents also single
/// characters, so a one-character query ("鞋") still matches, while a longer query ("连衣裙") matches by its
/// bigrams alone and is not drowned by every product sharing one common character ("衣").
/// </summary>
public static class TextTokens
{
    /// <summary>Tokens of a document's text.</summary>
    public static List<string> Of(string? text) => Tokenize(text, query: false);

    /// <summary>Tokens of a query: CJK runs of two or more characters give bigrams only.</summary>
    public static List<string> OfQuery(string? text) => Tokenize(text, query: true);

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

    private static void FlushWord(StringBuilder word, List<string> tokens)
    {
        if (word.Length == 0)
            return;
        var w = word.ToString();
        word.Clear();
        // "glasses" → "glass", "mugs" → "mug"; leaves "glass", "bus", "is" alone.
        if (w.Length > 4 && w.EndsWith("sses", StringComparison.Ordinal))
            w = w[..^2];
        else if (w.Length > 3 && w[^1] == 's' && w[^2] != 's' && w[^2] != 'u' && w[^2] != 'i')
            w = w[..^1];
        tokens.Add(w);
    }

    private static void FlushCjk(StringBuilder run, List<string> tokens, bool query)
    {
        if (run.Length == 0)
            return;
        var chars = new List<string>();
        var e = StringInfo.GetTextElementEnumerator(run.ToString());
        while (e.MoveNext())
            chars.Add(e.GetTextElement());
        run.Clear();
        var unigrams = !query || chars.Count == 1;
        for (var i = 0; i < chars.Count; i++)
        {
            if (unigrams)
                tokens.Add(chars[i]);
            if (i + 1 < chars.Count)
                tokens.Add(chars[i] + chars[i + 1]);
        }
    }

    private static bool IsCjk(Rune r) => r.Value is
        (>= 0x3040 and <= 0x30FF) or  // Hiragana, Katakana
        (>= 0x3400 and <= 0x4DBF) or  // CJK Extension A
        (>= 0x4E00 and <= 0x9FFF) or  // CJK Unified Ideographs
        (>= 0xAC00 and <= 0xD7AF) or  // Hangul syllables
        (>= 0xF900 and <= 0xFAFF) or  // CJK Compatibility Ideographs
        (>= 0x20000 and <= 0x2FA1F);  // Extensions B and beyond
}
