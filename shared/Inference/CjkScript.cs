using System.Runtime.CompilerServices;
using System.Text;

namespace Platform.Inference;

/// <summary>Tells text written in Chinese, Japanese or Korean from other text, to pick the text tower that reads it.</summary>
public static class CjkScript
{
    /// <summary>
    /// Whether <paramref name="text"/> holds at least one CJK character: a Han ideograph (the unified blocks, extension
    /// A, planes 2 and 3, the compatibility ideographs, radicals and strokes), CJK symbols and punctuation (、。「」 and
    /// the ideographic space), kana, bopomofo, Hangul (syllables and jamo), enclosed CJK and CJK compatibility
    /// characters, the vertical and small form variants, or a half- or full-width form (，！Ａ１ and half-width kana).
    /// </summary>
    public static bool Contains(ReadOnlySpan<char> text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c < FirstCjk)
                continue; // Latin, Greek, Cyrillic, Arabic, Indic…: the common case, one compare
            if (!char.IsHighSurrogate(c))
            {
                if (IsCjk(c))
                    return true;
            }
            else if (i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                if (IsCjk(char.ConvertToUtf32(c, text[i + 1])))
                    return true;
                i++;
            }
        }
        return false;
    }

    /// <summary>How many letters or digits one CJK character weighs in <see cref="IsMostlyCjk"/>: a Chinese word is one to
    /// three characters where an English one is about five letters.</summary>
    public const int CharacterWeight = 4;

    /// <summary>
    /// Whether CJK is the text's main script: its CJK characters, each counted as <see cref="CharacterWeight"/>, at
    /// least match its other letters and digits. "跑步鞋", "红色 shoes" and "iPhone 15 手机壳" are; "red running shoes"
    /// and a product text in English that ends with its Chinese name ("Monkey face figurine, hand-painted. 猴头") are
    /// not, so such a text keeps the main tower's reading of its English.
    /// </summary>
    public static bool IsMostlyCjk(ReadOnlySpan<char> text)
    {
        int cjk = 0, other = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c < FirstCjk)
            {
                other += char.IsLetterOrDigit(c) ? 1 : 0;
                continue;
            }
            var cp = (int)c;
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                cp = char.ConvertToUtf32(c, text[++i]);
            if (IsCjk(cp))
                cjk++;
            else
                other += cp <= 0xFFFF ? (char.IsLetterOrDigit((char)cp) ? 1 : 0) : 1;
        }
        return cjk > 0 && CharacterWeight * cjk >= other;
    }

    /// <summary>Whether one code point is a CJK character in the sense of <see cref="Contains"/>.</summary>
    public static bool IsCjk(Rune rune) => IsCjk(rune.Value);

    private const int FirstCjk = 0x1100;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsCjk(int cp) =>
        cp is (>= 0x1100 and <= 0x11FF)      // Hangul Jamo
            or (>= 0x2E80 and <= 0x2FDF)     // CJK Radicals Supplement, Kangxi Radicals
            or (>= 0x2FF0 and <= 0x4DBF)     // ideographic description, CJK symbols and punctuation, kana, bopomofo, Hangul compatibility jamo, kanbun, strokes, enclosed CJK, CJK compatibility, extension A
            or (>= 0x4E00 and <= 0x9FFF)     // CJK Unified Ideographs
            or (>= 0xA960 and <= 0xA97F)     // Hangul Jamo Extended-A
            or (>= 0xAC00 and <= 0xD7FF)     // Hangul Syllables, Hangul Jamo Extended-B
            or (>= 0xF900 and <= 0xFAFF)     // CJK Compatibility Ideographs
            or (>= 0xFE10 and <= 0xFE1F)     // Vertical Forms
            or (>= 0xFE30 and <= 0xFE6F)     // CJK Compatibility Forms, Small Form Variants
            or (>= 0xFF00 and <= 0xFFEF)     // Halfwidth and Fullwidth Forms
            or (>= 0x1AFF0 and <= 0x1B16F)   // Kana Extended-B, Kana Supplement, Kana Extended-A, Small Kana Extension
            or (>= 0x20000 and <= 0x3FFFF);  // the Supplementary and Tertiary Ideographic Planes (extensions B–H, compatibility supplement)
}
