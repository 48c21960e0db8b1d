namespace Platform.Inference.Tokenization;

/// <summary>
/// The reversible byte → character table of byte-level BPE: bytes that are printable Latin-1 characters
/// stand for themselves, the other 68 take the characters U+0100, U+0101, … in byte order, so every BPE
/// symbol is a printable string with no whitespace.
/// </summary>
internal static class ByteLevel
{
    /// <summary>The character for each byte value.</summary>
    public static readonly char[] ByteToChar = BuildTable();

    /// <summary>Byte values in vocabulary order: the printable ones ascending, then the remapped ones ascending.</summary>
    public static readonly byte[] VocabularyOrder = BuildOrder();

    public const string EndOfWord = "</w>";

    private static bool IsPrintable(int b) => b is >= '!' and <= '~' or >= '¡' and <= '¬' or >= '®' and <= 'ÿ';

    private static char[] BuildTable()
    {
        var table = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
            table[b] = IsPrintable(b) ? (char)b : (char)next++;
        return table;
    }

    private static byte[] BuildOrder()
    {
        var order = new byte[256];
        var i = 0;
        for (var b = 0; b < 256; b++)
            if (IsPrintable(b))
                order[i++] = (byte)b;
        for (var b = 0; b < 256; b++)
            if (!IsPrintable(b))
                order[i++] = (byte)b;
        return order;
    }
}
