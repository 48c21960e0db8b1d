namespace Platform.Inference;

/// <summary>
/// A batch of texts split by the text tower each goes to: the indices (ascending) of those whose main script is not
/// CJK, for the main tower, and of those whose main script is (<see cref="CjkScript.IsMostlyCjk"/>), for the
/// <c>cjk_text</c> tower. Together they hold every index once,
/// so each tower's rows go back to where their texts were.
/// </summary>
public sealed record TextRoutes(int[] Main, int[] Cjk)
{
    public static TextRoutes Of(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var isCjk = texts.Count <= 1024 ? stackalloc bool[texts.Count] : new bool[texts.Count];
        var cjkCount = 0;
        for (var i = 0; i < texts.Count; i++)
        {
            isCjk[i] = CjkScript.IsMostlyCjk(texts[i]);
            cjkCount += isCjk[i] ? 1 : 0;
        }
        var main = new int[texts.Count - cjkCount];
        var cjk = new int[cjkCount];
        int m = 0, c = 0;
        for (var i = 0; i < texts.Count; i++)
        {
            if (isCjk[i])
                cjk[c++] = i;
            else
                main[m++] = i;
        }
        return new TextRoutes(main, cjk);
    }
}
