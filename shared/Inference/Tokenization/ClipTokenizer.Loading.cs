using System.IO.Compression;
using System.Text;
using System.Text.Json;

namespace Platform.Inference.Tokenization;

public sealed partial class ClipTokenizer
{
    // bpe_simple_vocab_16e6.txt.gz holds more merges than CLIP uses: the vocabulary is 49152 - 2 special tokens,
    // less 256 byte symbols (which come twice, bare and with "</w>").
    private const int ClipMergeCount = 49152 - 256 - 2;

    /// <summary>Loads the Hugging Face / OpenCLIP form: <c>vocab.json</c> (token → id) and <c>merges.txt</c> (one "left right" pair a line, optional "#version" header).</summary>
    public static ClipTokenizer FromFiles(string vocabJsonPath, string mergesTxtPath)
    {
        vocabJsonPath = RequireFile(vocabJsonPath, "vocabulary (vocab.json)", nameof(vocabJsonPath));
        mergesTxtPath = RequireFile(mergesTxtPath, "merge list (merges.txt)", nameof(mergesTxtPath));
        var vocab = ReadVocabJson(vocabJsonPath);
        var merges = ReadMergesTxt(mergesTxtPath);
        return new ClipTokenizer(vocab, merges, vocabJsonPath, mergesTxtPath);
    }

    /// <summary>
    /// Loads OpenAI's <c>bpe_simple_vocab_16e6.txt.gz</c>: the first 48,894 merges after its header line, with the
    /// vocabulary CLIP derives from them (byte symbols, the same with "&lt;/w&gt;", each merge, then the two special tokens).
    /// </summary>
    public static ClipTokenizer FromBpeGz(string path)
    {
        path = RequireFile(path, "BPE merge list (bpe_simple_vocab_16e6.txt.gz)", nameof(path));
        var merges = new List<MergeLine>(ClipMergeCount);
        using (var file = File.OpenRead(path))
        using (var gzip = new GZipStream(file, CompressionMode.Decompress))
        using (var reader = new StreamReader(gzip, Encoding.UTF8))
        {
            if (ReadGzLine(reader, path) is null)
                throw new InvalidDataException($"{path} is empty; expected a header line and then {ClipMergeCount} merges.");
            var lineNumber = 1;
            while (merges.Count < ClipMergeCount && ReadGzLine(reader, path) is { } line)
            {
                lineNumber++;
                var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length != 2)
                    throw new InvalidDataException($"{path} line {lineNumber}: expected two symbols separated by whitespace, got '{Shorten(line)}'.");
                merges.Add(new MergeLine(parts[0], parts[1], lineNumber));
            }
        }
        if (merges.Count < ClipMergeCount)
            throw new InvalidDataException($"{path} holds {merges.Count} merges after its header line; the CLIP vocabulary needs {ClipMergeCount}.");

        var vocab = new Dictionary<string, int>(2 * 256 + merges.Count + 2, StringComparer.Ordinal);
        var id = 0;
        foreach (var b in ByteLevel.VocabularyOrder)
            vocab[ByteLevel.ByteToChar[b].ToString()] = id++;
        foreach (var b in ByteLevel.VocabularyOrder)
            vocab[ByteLevel.ByteToChar[b] + ByteLevel.EndOfWord] = id++;
        foreach (var merge in merges)
            vocab[merge.Left + merge.Right] = id++;
        vocab[StartOfTextToken] = id++;
        vocab[EndOfTextToken] = id;
        return new ClipTokenizer(vocab, merges, path, path);
    }

    private ClipTokenizer(Dictionary<string, int> vocab, List<MergeLine> merges, string vocabSource, string mergesSource)
    {
        StartOfText = RequireToken(vocab, StartOfTextToken, vocabSource, "the start token");
        EndOfText = RequireToken(vocab, EndOfTextToken, vocabSource, "the end token");

        _byteIds = new int[256];
        _byteEndIds = new int[256];
        for (var b = 0; b < 256; b++)
        {
            var symbol = ByteLevel.ByteToChar[b].ToString();
            _byteIds[b] = RequireToken(vocab, symbol, vocabSource, $"the symbol of byte 0x{b:X2}");
            _byteEndIds[b] = RequireToken(vocab, symbol + ByteLevel.EndOfWord, vocabSource, $"the end-of-word symbol of byte 0x{b:X2}");
        }

        // A pair listed twice keeps its later rank, as Python's dict(zip(merges, range(...))) does.
        _merges = new Dictionary<long, MergeRule>(merges.Count);
        for (var rank = 0; rank < merges.Count; rank++)
        {
            var (left, right, line) = merges[rank];
            _merges[PairKey(MergeSymbol(vocab, left, line), MergeSymbol(vocab, right, line))] =
                new MergeRule(rank, MergeSymbol(vocab, left + right, line));
        }

        var maxId = -1;
        foreach (var value in vocab.Values)
            maxId = Math.Max(maxId, value);
        VocabularySize = maxId + 1;
        _cacheBySpan = _cache.GetAlternateLookup<ReadOnlySpan<char>>();

        int MergeSymbol(Dictionary<string, int> v, string symbol, int line) =>
            v.TryGetValue(symbol, out var symbolId)
                ? symbolId
                : throw new InvalidDataException($"{mergesSource} line {line}: '{symbol}' is not in the vocabulary ({vocabSource}).");
    }

    private static int RequireToken(Dictionary<string, int> vocab, string token, string source, string what) =>
        vocab.TryGetValue(token, out var id)
            ? id
            : throw new InvalidDataException($"{source} lacks {what}, '{token}'; it is not a CLIP byte-level BPE vocabulary.");

    private static string RequireFile(string path, string what, string parameter)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path, parameter);
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new FileNotFoundException($"The CLIP tokenizer's {what} file does not exist: {full}", full);
        return full;
    }

    private static string? ReadGzLine(StreamReader reader, string path)
    {
        try
        {
            return reader.ReadLine();
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path} is not a readable gzip file: {e.Message}", e);
        }
    }

    private static List<MergeLine> ReadMergesTxt(string path)
    {
        var merges = new List<MergeLine>();
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Length == 0 || (lineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal)))
                continue;
            var space = line.IndexOf(' ');
            if (space <= 0 || space == line.Length - 1 || line.IndexOf(' ', space + 1) >= 0)
                throw new InvalidDataException($"{path} line {lineNumber}: expected two symbols separated by one space, got '{Shorten(line)}'.");
            merges.Add(new MergeLine(line[..space], line[(space + 1)..], lineNumber));
        }
        return merges;
    }

    private static Dictionary<string, int> ReadVocabJson(string path)
    {
        ReadOnlySpan<byte> json = File.ReadAllBytes(path);
        if (json.StartsWith("\uFEFF"u8))
            json = json[3..];
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw new InvalidDataException($"{path} line {LineOf(json, reader.TokenStartIndex)}: expected a JSON object mapping each token to its id.");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var token = reader.GetString()!;
                reader.Read();
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var id) || id < 0)
                    throw new InvalidDataException($"{path} line {LineOf(json, reader.TokenStartIndex)}: the id of token '{Shorten(token)}' must be a non-negative integer.");
                vocab[token] = id;
            }
            while (reader.Read()) { } // the reader rejects anything but whitespace after the object
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} line {e.LineNumber + 1}: not valid JSON: {e.Message}", e);
        }
        if (vocab.Count == 0)
            throw new InvalidDataException($"{path}: the vocabulary is empty.");
        return vocab;
    }

    private static long LineOf(ReadOnlySpan<byte> json, long offset) =>
        json[..(int)Math.Min(offset, json.Length)].Count((byte)'\n') + 1;

    private static string Shorten(string s) => s.Length <= 80 ? s : string.Concat(s.AsSpan(0, 80), "…");

    private readonly record struct MergeLine(string Left, string Right, int Line);
}
