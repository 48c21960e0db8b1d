namespace Platform.Inference.Tokenization;

/// <summary>Turns text into the token ids a text tower takes. Implementations are thread-safe and keep no per-call state.</summary>
public interface ITextTokenizer
{
    /// <summary>The ids of <paramref name="text"/>, without the start and end tokens.</summary>
    IReadOnlyList<int> Encode(string text);

    /// <summary>
    /// Writes the start token, the ids and the end token into <paramref name="destination"/>, and padding after them.
    /// Text too long for it is cut so that the end token is still the last one written.
    /// </summary>
    /// <returns>How many tokens precede the padding (at least 2: the start and end tokens).</returns>
    int EncodeForModel(string text, Span<long> destination);

    /// <summary>A new <paramref name="contextLength"/>-long array: start token, ids, end token, padding.</summary>
    long[] EncodeForModel(string text, int contextLength);
}
