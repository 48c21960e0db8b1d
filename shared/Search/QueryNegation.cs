using System.Text;

namespace Platform.Search;

/// <summary>
/// What a shopper's words ask for and what they rule out: "flat, no heel" asks for "flat" and rules out "heel";
/// "the whole cat, not just the face" asks for "the whole cat" and rules out "face"; "要整匹马，不只是马头" asks for
/// "要整匹马" and rules out "马头".
/// </summary>
/// <remarks>
/// A clause (text between punctuation marks) is read up to its first negator (English: without, not, no, non, except,
/// minus; Chinese: 不要, 不只是, 不是, 没有, 除了, 不带, ...); the words after it are ruled out, English
/// fillers ("just", "the", ...) skipped, up to the end of the clause or to "but", "and", "or", "with", after which
/// words are asked for again. Product names hold negators too ("No Entry", "Hourglass Not Done"): the search reads the
/// words as typed when they name a product (see <c>SearchService</c>), so this only splits; it never decides.
/// </remarks>
public static class QueryNegation
{
    private static readonly HashSet<string> Negators = ["without", "not", "no", "non", "except", "minus", "nothing", "never"];
    private static readonly HashSet<string> Fillers = ["just", "only", "the", "a", "an", "any", "so", "too", "very", "like", "one", "ones", "that", "this", "of", "at", "all"];
    private static readonly HashSet<string> Resumers = ["but", "and", "or", "with", "yet", "instead", "rather"];

    // Longest first, so 不只是 wins over 不是 and 不.
    private static readonly string[] ChineseNegators = ["不只是", "不仅是", "不要", "不是", "不带", "不含", "没有", "除了", "不用"];
    // Not the one-character negators (无, 非, 别): they start words that negate nothing (无线 wireless, 非常 very, 别针 pin).

    private const string ClauseBreaks = ",.;:!?，。；：！？、\n";

    /// <summary>The text with the ruled-out words removed, and the ruled-out words (both empty strings when there are none).</summary>
    public static (string Kept, string RuledOut) Split(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
            return ("", "");
        var kept = new StringBuilder();
        var ruledOut = new StringBuilder();
        var clause = new StringBuilder();
        foreach (var c in text)
        {
            if (ClauseBreaks.Contains(c))
            {
                SplitClause(clause.ToString(), kept, ruledOut);
                clause.Clear();
                kept.Append(c);
                continue;
            }
            clause.Append(c);
        }
        SplitClause(clause.ToString(), kept, ruledOut);
        return (kept.ToString().Trim(), ruledOut.ToString().Trim());
    }

    /// <summary>Whether <paramref name="text"/> rules anything out.</summary>
    public static bool RulesOut(string? text) => Split(text).RuledOut.Length > 0;

    private static void SplitClause(string clause, StringBuilder kept, StringBuilder ruledOut)
    {
        var negating = false;
        var skipping = false;
        foreach (var word in clause.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var lower = word.ToLowerInvariant().Trim('\'', '"', '(', ')');
            if (ChineseNegation(word) is var (before, after))
            {
                Append(negating ? ruledOut : kept, before);
                Append(ruledOut, after);
                negating = true;
                skipping = false;
                continue;
            }
            if (Negators.Contains(lower) || lower.EndsWith("n't", StringComparison.Ordinal))
            {
                (negating, skipping) = (true, true);
                continue;
            }
            if (negating && Resumers.Contains(lower))
            {
                (negating, skipping) = (false, false);
                continue;
            }
            if (negating && skipping && Fillers.Contains(lower))
                continue;
            skipping = false;
            Append(negating ? ruledOut : kept, word);
        }
    }

    /// <summary>A word holding a Chinese negator: what comes before it and what it rules out; null when none.</summary>
    private static (string Before, string After)? ChineseNegation(string word)
    {
        var best = -1;
        var length = 0;
        foreach (var negator in ChineseNegators)
        {
            var at = word.IndexOf(negator, StringComparison.Ordinal);
            if (at >= 0 && (best < 0 || at < best || (at == best && negator.Length > length)))
                (best, length) = (at, negator.Length);
        }
        return best < 0 ? null : (word[..best], word[(best + length)..]);
    }

    private static void Append(StringBuilder to, string word)
    {
        if (word.Length == 0)
            return;
        if (to.Length > 0 && to[^1] != ' ')
            to.Append(' ');
        to.Append(word);
    }
}
