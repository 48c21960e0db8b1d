using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Platform.Inference.Tokenization;
using Platform.Tests;

namespace Platform.Inference.Tests;

public sealed class ClipTokenizerTests : IDisposable
{
    private const string ClipGz = "clip-bpe/bpe_simple_vocab_16e6.txt.gz";
    private const int Sot = 49406, Eot = 49407;

    private static readonly Lock Gate = new();
    private static ClipTokenizer? s_clip;

    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("clip-tokenizer-tests-");

    public void Dispose() => _temp.Delete(recursive: true);

    // OpenAI's vocabulary, loaded once for the class; the test is skipped when ../shared/data lacks it.
    private static ClipTokenizer Clip()
    {
        var path = RepoPaths.RequireShared(ClipGz);
        lock (Gate)
            return s_clip ??= ClipTokenizer.FromBpeGz(path);
    }

    [Theory]
    [InlineData("a photo of a cat", new long[] { 49406, 320, 1125, 539, 320, 2368, 49407 })]
    [InlineData("A red Dress!", new long[] { 49406, 320, 736, 2595, 256, 49407 })]
    [InlineData("hello world", new long[] { 49406, 3306, 1002, 49407 })]
    [InlineData("跑步鞋", new long[] { 49406, 164, 115, 239, 162, 255, 98, 165, 252, 489, 49407 })]
    // Two cases where Microsoft.ML.Tokenizers' BpeTokenizer with CLIP's pattern differs (ids from CLIP's SimpleTokenizer
    // algorithm in Python's regex module): a letter outside the BMP (𠮷, CJK Extension B) belongs to its word, which
    // .NET's UTF-16 regex does not see; a special token's text glued to punctuation is plain text ("++<|" then "endoftext").
    [InlineData("𠮷野家 牛丼", new long[] { 49406, 172, 254, 106, 115, 38283, 236, 27047, 370, 163, 231, 249, 19759, 376, 49407 })]
    [InlineData("C++<|endoftext|>", new long[] { 49406, 322, 47298, 27, 347, 40786, 4160, 91, 285, 49407 })]
    public void Encodes_as_the_reference_CLIP_tokenizer(string text, long[] expected)
    {
        var tokens = Clip().EncodeForModel(text, 77);

        Assert.Equal(77, tokens.Length);
        Assert.Equal(expected, tokens[..expected.Length]);
        Assert.All(tokens[expected.Length..], t => Assert.Equal(0L, t));
    }

    [Fact]
    public void Vocabulary_from_the_gz_has_CLIP_special_ids_and_size()
    {
        var clip = Clip();

        Assert.Equal(Sot, clip.StartOfText);
        Assert.Equal(Eot, clip.EndOfText);
        Assert.Equal(49408, clip.VocabularySize);
    }

    [Fact]
    public void Encode_returns_the_ids_without_start_and_end_tokens()
    {
        Assert.Equal([3306, 1002], Clip().Encode("hello world"));
        Assert.Empty(Clip().Encode("   "));
    }

    [Fact]
    public void Empty_text_is_start_and_end_tokens_then_zeros()
    {
        var tokens = Clip().EncodeForModel("", 77);

        Assert.Equal([Sot, Eot], tokens[..2]);
        Assert.All(tokens[2..], t => Assert.Equal(0L, t));
    }

    [Fact]
    public void Long_text_is_truncated_to_the_context_with_the_end_token_last()
    {
        var clip = Clip();
        var text = string.Join(" ", Enumerable.Repeat("red summer dress with pockets", 40));
        var ids = clip.Encode(text);
        Assert.True(ids.Count > 100);

        var tokens = clip.EncodeForModel(text, 77);

        Assert.Equal(77, tokens.Length);
        Assert.Equal(Sot, tokens[0]);
        Assert.Equal(Eot, tokens[76]);
        Assert.Equal(ids.Take(75).Select(i => (long)i), tokens[1..76]);
    }

    [Fact]
    public void Text_that_exactly_fills_the_context_is_not_cut()
    {
        var clip = Clip();
        var ids = clip.Encode("a photo of a cat"); // 5 ids: with start and end, 7 tokens

        Assert.Equal([Sot, .. ids.Select(i => (long)i), Eot], clip.EncodeForModel("a photo of a cat", 7));
        Assert.Equal([Sot, .. ids.Take(4).Select(i => (long)i), Eot], clip.EncodeForModel("a photo of a cat", 6));
    }

    [Fact]
    public void Span_overload_overwrites_and_zero_pads_the_destination()
    {
        Span<long> destination = stackalloc long[16];
        destination.Fill(-1);

        Clip().EncodeForModel("hello world", destination);

        Assert.Equal([Sot, 3306, 1002, Eot, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], destination.ToArray());
    }

    [Fact]
    public void Html_entities_are_unescaped_twice()
    {
        var clip = Clip();
        var plain = clip.Encode("fish & chips");

        Assert.Equal(plain, clip.Encode("fish &amp; chips"));
        Assert.Equal(plain, clip.Encode("fish &amp;amp; chips"));
        Assert.Equal(clip.Encode("caf\u00e9 \"deluxe\""), clip.Encode("caf&eacute; &quot;deluxe&quot;"));
    }

    [Fact]
    public void Case_and_whitespace_do_not_matter()
    {
        var clip = Clip();

        Assert.Equal(clip.Encode("a photo of a cat"), clip.Encode("  A   PHOTO\tof\r\na\u00a0Cat  "));
    }

    [Fact]
    public void Contractions_punctuation_and_digits_split_as_CLIP_does()
    {
        var clip = Clip();

        // "don't" is "don" + "'t"; digits are one token each; a punctuation run stays together.
        Assert.Equal([.. clip.Encode("don"), .. clip.Encode("'t")], clip.Encode("don't"));
        Assert.Equal([.. clip.Encode("1"), .. clip.Encode("2"), .. clip.Encode("8")], clip.Encode("128"));
        Assert.Single(clip.Encode("!!"));
        Assert.Equal([.. clip.Encode("size"), .. clip.Encode("4"), .. clip.Encode("2")], clip.Encode("size42"));
    }

    [Fact]
    public void Special_tokens_in_text_map_to_their_ids()
    {
        var clip = Clip();

        Assert.Equal([Eot], clip.Encode("<|endoftext|>"));
        Assert.Equal([Sot, 3306, Eot], clip.Encode("<|StartOfText|>hello<|endoftext|>"));
    }

    [Fact]
    public void Concurrent_callers_get_the_same_ids_as_a_single_caller()
    {
        var gz = RepoPaths.RequireShared(ClipGz);
        var texts = Enumerable.Range(0, 400).Select(i => $"item {i} red-{i % 17} dress{i % 13} 跑步鞋 {(char)('a' + i % 26)}xyz").ToArray();
        var expected = texts.Select(t => Clip().EncodeForModel(t, 77)).ToArray();
        var fresh = ClipTokenizer.FromBpeGz(gz);

        var actual = new long[texts.Length][];
        Parallel.For(0, texts.Length * 4, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var k = i % texts.Length;
            actual[k] = fresh.EncodeForModel(texts[k], 77);
        });

        for (var k = 0; k < texts.Length; k++)
            Assert.Equal(expected[k], actual[k]);
    }

    [Fact]
    public void Vocab_json_and_merges_txt_converted_from_the_gz_give_identical_ids()
    {
        var clip = Clip();
        var (vocabPath, mergesPath) = ConvertGzToHuggingFaceFiles(RepoPaths.RequireShared(ClipGz), _temp.FullName);

        var fromFiles = ClipTokenizer.FromFiles(vocabPath, mergesPath);

        Assert.Equal(clip.StartOfText, fromFiles.StartOfText);
        Assert.Equal(clip.EndOfText, fromFiles.EndOfText);
        Assert.Equal(clip.VocabularySize, fromFiles.VocabularySize);
        string[] texts =
        [
            "a photo of a cat", "A red Dress!", "hello world", "跑步鞋", "Men's Running Shoes, size 42!",
            "we'll ship it tomorrow — 20% off 😀", "caf\u00e9 au lait &amp; croissant", "ÅÄÖ naïve façade",
            "<|startoftext|>x<|endoftext|>", "   ", "supercalifragilisticexpialidocious headphones",
        ];
        foreach (var text in texts)
            Assert.Equal(clip.EncodeForModel(text, 77), fromFiles.EncodeForModel(text, 77));
    }

    [Fact]
    public void Test_model_vocabulary_reproduces_the_python_reference_ids()
    {
        var package = RepoPaths.InRepo("models", "test-clip");
        var tokenizer = ClipTokenizer.FromFiles(Path.Combine(package, "vocab.json"), Path.Combine(package, "merges.txt"));
        using var reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(package, "reference.json")));
        var root = reference.RootElement;
        var contextLength = root.GetProperty("context_length").GetInt32();

        Assert.Equal(root.GetProperty("vocab_size").GetInt32(), tokenizer.VocabularySize);
        Assert.Equal(tokenizer.VocabularySize - 1, tokenizer.EndOfText);
        var texts = root.GetProperty("texts").EnumerateArray().ToArray();
        Assert.NotEmpty(texts);
        foreach (var entry in texts)
        {
            var text = entry.GetProperty("text").GetString()!;
            int[] bpe = [.. entry.GetProperty("bpe_ids").EnumerateArray().Select(e => e.GetInt32())];
            long[] input = [.. entry.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt64())];

            Assert.Equal(bpe, tokenizer.Encode(text));
            var tokens = tokenizer.EncodeForModel(text, contextLength);
            Assert.Equal(input, tokens[..input.Length]);
            Assert.All(tokens[input.Length..], t => Assert.Equal(0L, t));
        }
    }

    [Fact]
    public void Merges_apply_by_rank_on_a_small_vocabulary()
    {
        // Ranks: "a b" before "b c</w>", so "abc" is "ab" + "c</w>", then merged whole by the third rule.
        var (vocab, merges) = WriteSmallVocabulary(["a b", "b c</w>", "ab c</w>"], ["ab", "bc</w>", "abc</w>"]);
        var tokenizer = ClipTokenizer.FromFiles(vocab, merges);
        var ids = ReadVocab(vocab);

        Assert.Equal([ids["abc</w>"]], tokenizer.Encode("abc"));
        Assert.Equal([ids["b"], ids["bc</w>"]], tokenizer.Encode("bbc"));
        Assert.Equal([ids["ab"], ids["ab"], ids["a"], ids["c</w>"]], tokenizer.Encode("ababac"));
        Assert.Equal([ids["abc</w>"], ids["abc</w>"]], tokenizer.Encode("abc ABC"));
    }

    [Fact]
    public void Missing_files_are_named()
    {
        var missing = Path.Combine(_temp.FullName, "nowhere", "vocab.json");
        var (vocab, merges) = WriteSmallVocabulary([], []);

        var e1 = Assert.Throws<FileNotFoundException>(() => ClipTokenizer.FromFiles(missing, merges));
        Assert.Contains("vocab.json", e1.Message);
        Assert.Equal(missing, e1.FileName);

        var missingMerges = Path.Combine(_temp.FullName, "merges-missing.txt");
        var e2 = Assert.Throws<FileNotFoundException>(() => ClipTokenizer.FromFiles(vocab, missingMerges));
        Assert.Contains("merges.txt", e2.Message);
        Assert.Contains(missingMerges, e2.Message);

        var missingGz = Path.Combine(_temp.FullName, "bpe_simple_vocab_16e6.txt.gz");
        var e3 = Assert.Throws<FileNotFoundException>(() => ClipTokenizer.FromBpeGz(missingGz));
        Assert.Contains(missingGz, e3.Message);
    }

    [Fact]
    public void Malformed_merges_line_is_reported_with_its_number()
    {
        var (vocab, merges) = WriteSmallVocabulary(["a b", "b c</w>"], ["ab", "bc</w>"]);
        File.AppendAllText(merges, "x y z\n");

        var e = Assert.Throws<InvalidDataException>(() => ClipTokenizer.FromFiles(vocab, merges));

        Assert.Contains("line 4", e.Message);
        Assert.Contains(merges, e.Message);
    }

    [Fact]
    public void Merge_of_an_unknown_symbol_is_reported_with_its_line()
    {
        var (vocab, merges) = WriteSmallVocabulary(["a b", "ab q"], ["ab"]);

        var e = Assert.Throws<InvalidDataException>(() => ClipTokenizer.FromFiles(vocab, merges));

        Assert.Contains("line 3", e.Message);
        Assert.Contains("'abq'", e.Message);
    }

    [Fact]
    public void Malformed_vocab_json_is_reported_with_its_path_and_line()
    {
        var (vocab, merges) = WriteSmallVocabulary([], []);
        File.WriteAllText(vocab, "{\n  \"a\": 0,\n  \"b\": \"one\"\n}");
        var e1 = Assert.Throws<InvalidDataException>(() => ClipTokenizer.FromFiles(vocab, merges));
        Assert.Contains(vocab, e1.Message);
        Assert.Contains("line 3", e1.Message);

        File.WriteAllText(vocab, "{\n  \"a\": 0,\n  \"b\" 1\n}");
        var e2 = Assert.Throws<InvalidDataException>(() => ClipTokenizer.FromFiles(vocab, merges));
        Assert.Contains("line 3", e2.Message);

        File.WriteAllText(vocab, "[1, 2]");
        Assert.Throws<InvalidDataException>(() => ClipTokenizer.FromFiles(vocab, merges));
    }

    [Fact]
    public void Vocabulary_without_the_special_tokens_is_rejected()
    {
        var (vocab, merges) = WriteSmallVocabulary([], []);
        var entries = ReadVocab(vocab);
        entries.Remove("<|endoftext|>");
        File.WriteAllText(vocab, JsonSerializer.Serialize(entries));

        var e = Assert.Throws<InvalidDataException>(() => ClipTokenizer.FromFiles(vocab, merges));

        Assert.Contains("<|endoftext|>", e.Message);
    }

    [Fact]
    public void Gz_that_is_not_gzip_is_rejected_with_its_path()
    {
        var path = Path.Combine(_temp.FullName, "not-gzip.txt.gz");
        File.WriteAllText(path, "#version: 0.2\ni n\n");

        var e = Assert.Throws<InvalidDataException>(() => ClipTokenizer.FromBpeGz(path));

        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Context_too_short_for_start_and_end_is_rejected()
    {
        var (vocab, merges) = WriteSmallVocabulary([], []);
        var tokenizer = ClipTokenizer.FromFiles(vocab, merges);

        Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.EncodeForModel("a", 1));
        Assert.Throws<ArgumentException>(() => tokenizer.EncodeForModel("a", new long[1].AsSpan()));
        Assert.Equal([tokenizer.StartOfText, tokenizer.EndOfText], tokenizer.EncodeForModel("a b c", 2));
    }

    // --- helpers -------------------------------------------------------------------------------------------------

    // The byte → character table of byte-level BPE, written independently of the tokenizer's own.
    private static (char[] Table, int[] Order) ByteTable()
    {
        static bool Printable(int b) => (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        var table = new char[256];
        var order = new List<int>();
        var following = 256;
        for (var b = 0; b < 256; b++)
        {
            if (Printable(b))
            {
                table[b] = (char)b;
                order.Add(b);
            }
        }
        for (var b = 0; b < 256; b++)
        {
            if (!Printable(b))
            {
                table[b] = (char)following++;
                order.Add(b);
            }
        }
        return (table, order.ToArray());
    }

    private static List<string> BaseSymbols()
    {
        var (table, order) = ByteTable();
        var symbols = order.Select(b => table[b].ToString()).ToList();
        symbols.AddRange(order.Select(b => table[b] + "</w>"));
        return symbols;
    }

    // vocab.json + merges.txt as Hugging Face ships CLIP's: the gz's first 48,894 merges, ids in CLIP's order.
    private static (string Vocab, string Merges) ConvertGzToHuggingFaceFiles(string gz, string directory)
    {
        string[] lines;
        using (var reader = new StreamReader(new GZipStream(File.OpenRead(gz), CompressionMode.Decompress), Encoding.UTF8))
            lines = reader.ReadToEnd().Split('\n');
        var merges = lines[1..(49152 - 256 - 2 + 1)];

        var tokens = BaseSymbols();
        tokens.AddRange(merges.Select(m => m.Replace(" ", "")));
        tokens.Add("<|startoftext|>");
        tokens.Add("<|endoftext|>");
        var vocab = new Dictionary<string, int>();
        for (var i = 0; i < tokens.Count; i++)
            vocab[tokens[i]] = i;

        var vocabPath = Path.Combine(directory, "vocab.json");
        var mergesPath = Path.Combine(directory, "merges.txt");
        File.WriteAllText(vocabPath, JsonSerializer.Serialize(vocab));
        File.WriteAllText(mergesPath, "#version: 0.2\n" + string.Join("\n", merges) + "\n");
        return (vocabPath, mergesPath);
    }

    // A vocabulary of the 512 byte symbols, the given extra tokens and the special tokens, with the given merges.
    private (string Vocab, string Merges) WriteSmallVocabulary(string[] merges, string[] extraTokens)
    {
        var tokens = BaseSymbols();
        tokens.AddRange(extraTokens);
        tokens.Add("<|startoftext|>");
        tokens.Add("<|endoftext|>");
        var vocab = new Dictionary<string, int>();
        for (var i = 0; i < tokens.Count; i++)
            vocab[tokens[i]] = i;

        var vocabPath = Path.Combine(_temp.FullName, "vocab.json");
        var mergesPath = Path.Combine(_temp.FullName, "merges.txt");
        File.WriteAllText(vocabPath, JsonSerializer.Serialize(vocab));
        File.WriteAllText(mergesPath, "#version: 0.2\n" + string.Concat(merges.Select(m => m + "\n")));
        return (vocabPath, mergesPath);
    }

    private static Dictionary<string, int> ReadVocab(string path) =>
        JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(path))!;
}
