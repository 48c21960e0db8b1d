using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Platform.Inference.Tokenization;
using Platform.Tests;

namespace Platform.Inference.Tests;

public sealed class WordPieceTokenizerTests
{
    private const string Python = "/usr/bin/python3";

    // A tiny vocabulary: ids are the positions. "una"/"##ffa" beat "un"/"##aff" only by being longer at the start.
    private static readonly string[] Tiny =
    [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "una", "##aff", "##ffa", "##able", "##ble", "a", "b", "c", "x", "##x",
        "creme", "brulee", "cafe", "Café", ",", "!", "沙", "漏", "カタ", "hello", "world", "ab", "cd", "\u03C3\u03BF\u03C6\u03B9\u03B1", "\u03BF\u03B4\u03BF\u03C2",
        "\u03BF\u03B4\u03BF\u03C3", "##\u03B1",
    ];

    private static readonly WordPieceTokenizer Tokenizer = WordPieceTokenizer.FromTokens(Tiny);

    private static long Id(string token) => Array.IndexOf(Tiny, token);

    private static long[] Ids(params string[] tokens) => [.. tokens.Select(Id)];

    private static long[] Encode(string text, int context = 16, WordPieceTokenizer? tokenizer = null)
    {
        var tokens = (tokenizer ?? Tokenizer).EncodeForModel(text, context);
        return tokens;
    }

    private static long[] Padded(int context, params string[] tokens) =>
        [.. Ids(tokens), .. Enumerable.Repeat(Id("[PAD]"), context - tokens.Length)];

    [Fact]
    public void Pieces_are_the_longest_match_first_with_hash_continuations()
    {
        Assert.Equal(Padded(16, "[CLS]", "una", "##ffa", "##ble", "[SEP]"), Encode("unaffable"));
        Assert.Equal(Padded(16, "[CLS]", "a", "##x", "##x", "b", "[SEP]"), Encode("axx b"));
    }

    [Fact]
    public void A_word_that_cannot_be_pieced_is_one_unknown_token_not_its_first_pieces()
    {
        Assert.Equal(Padded(16, "[CLS]", "a", "[UNK]", "b", "[SEP]"), Encode("a unaffabley b"));
        Assert.Equal(Padded(16, "[CLS]", "[UNK]", "[SEP]"), Encode("zebra"));
    }

    [Fact]
    public void A_word_longer_than_the_limit_is_unknown_and_one_at_the_limit_is_pieced()
    {
        var atLimit = Encode(new string('x', WordPieceTokenizer.MaxCharsPerWord), 128);
        Assert.Equal(Id("x"), atLimit[1]);
        Assert.Equal(WordPieceTokenizer.MaxCharsPerWord + 2, atLimit.Count(t => t != Id("[PAD]")));

        Assert.Equal(Padded(8, "[CLS]", "[UNK]", "a", "[SEP]"), Encode(new string('x', WordPieceTokenizer.MaxCharsPerWord + 1) + " a", 8));
    }

    [Fact]
    public void Text_is_lower_cased_and_its_accents_stripped()
    {
        Assert.Equal(Padded(16, "[CLS]", "creme", "brulee", "[SEP]"), Encode("Crème BRÛLÉE"));
        // Decomposed input (e + U+0301) folds the same. Capital sigma lower-cases as Python's str.lower does it:
        // σ (U+03C3) inside and at the start of a word, final ς (U+03C2) at its end.
        Assert.Equal(Padded(16, "[CLS]", "cafe", "[SEP]"), Encode("Cafe\u0301"));
        Assert.Equal(Padded(16, "[CLS]", "\u03C3\u03BF\u03C6\u03B9\u03B1", "\u03BF\u03B4\u03BF\u03C2", "[SEP]"), Encode("ΣΟΦΊΑ ΟΔΟΣ"));
        Assert.Equal(Padded(16, "[CLS]", "\u03BF\u03B4\u03BF\u03C3", "##\u03B1", "[SEP]"), Encode("ΟΔΟΣΑ"));
    }

    [Fact]
    public void Without_lowercase_the_text_keeps_its_case_and_accents()
    {
        var cased = WordPieceTokenizer.FromTokens(Tiny, lowercase: false);

        Assert.False(cased.Lowercase);
        Assert.Equal(Padded(16, "[CLS]", "Café", "[SEP]"), Encode("Café", tokenizer: cased));
        Assert.Equal(Padded(16, "[CLS]", "cafe", "[SEP]"), Encode("Café"));
    }

    [Fact]
    public void Ideographs_and_punctuation_are_words_of_their_own_and_kana_is_not_split()
    {
        Assert.Equal(Padded(16, "[CLS]", "a", "沙", "漏", "b", "[SEP]"), Encode("a沙漏b"));
        Assert.Equal(Padded(16, "[CLS]", "hello", ",", "world", "!", "[SEP]"), Encode("hello,world!"));
        Assert.Equal(Padded(16, "[CLS]", "カタ", "[SEP]"), Encode("カタ"));
    }

    [Fact]
    public void Whitespace_and_control_characters_end_words()
    {
        Assert.Equal(Padded(16, "[CLS]", "ab", "cd", "ab", "cd", "ab", "[SEP]"), Encode("\tab\u00A0cd\u3000ab\u200Bcd\u0000ab\n"));
    }

    [Fact]
    public void Truncation_keeps_the_separator_and_cuts_inside_a_word_if_it_must()
    {
        Assert.Equal(Ids("[CLS]", "a", "b", "c", "[SEP]"), Encode("a b c a b", 5));
        Assert.Equal(Ids("[CLS]", "una", "##ffa", "[SEP]"), Encode("unaffable b", 4));
        Assert.Equal(Ids("[CLS]", "[SEP]"), Encode("a b", 2));
    }

    [Fact]
    public void An_unknown_word_after_partial_pieces_leaves_only_padding_behind_it()
    {
        // "una ##ffa ##ble" are written before the trailing "y" turns the word into [UNK]; none of them may remain.
        Assert.Equal(Padded(8, "[CLS]", "a", "[UNK]", "[SEP]"), Encode("a unaffabley", 8));
    }

    [Fact]
    public void Padding_is_the_vocabularys_pad_id_and_the_count_is_what_precedes_it()
    {
        var tokenizer = WordPieceTokenizer.FromTokens(["[UNK]", "[CLS]", "[SEP]", "a", "[PAD]"]);
        var tokens = new long[6];

        var count = tokenizer.EncodeForModel("a a", tokens);

        Assert.Equal(4, count);
        Assert.Equal([1L, 3, 3, 2, 4, 4], tokens);
        Assert.Equal((4, 1, 2, 0), (tokenizer.PaddingId, tokenizer.ClassId, tokenizer.SeparatorId, tokenizer.UnknownId));
    }

    [Fact]
    public void Encode_gives_the_ids_between_cls_and_sep_uncut()
    {
        var text = string.Join(' ', Enumerable.Repeat("unaffable", 40));

        var ids = Tokenizer.Encode(text);

        Assert.Equal(120, ids.Count);
        Assert.Equal(Encode(text, 122)[1..^1], ids.Select(i => (long)i));
    }

    [Fact]
    public void A_vocabulary_without_the_special_tokens_is_refused_naming_the_token()
    {
        var error = Assert.Throws<InvalidDataException>(() => WordPieceTokenizer.FromTokens(["[PAD]", "[UNK]", "[SEP]", "a"]));

        Assert.Contains("[CLS]", error.Message);
        Assert.Throws<FileNotFoundException>(() => WordPieceTokenizer.FromFile(Path.Combine(Path.GetTempPath(), "no-such-vocab.txt")));
    }

    [Fact]
    public void The_vocab_file_gives_each_line_its_number_as_id_whatever_the_line_ends()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "[PAD]\r\n[UNK]\r\n[CLS]\n\n[SEP]\rred\n");
            var tokenizer = WordPieceTokenizer.FromFile(path);

            Assert.Equal([2L, 5, 4, 0], tokenizer.EncodeForModel("Red", 4));
            Assert.Equal(6, tokenizer.VocabularySize);
        }
        finally
        {
            File.Delete(path);
        }
    }

    // ---- bert-base-uncased's vocabulary (fetch_pretrained.py) against models/pretrained/reference.json ----

    private static readonly Lazy<WordPieceTokenizer> Bert = new(() => WordPieceTokenizer.FromFile(PretrainedFiles.Require("minilm/vocab.txt")));

    [Fact]
    public void Ids_equal_the_python_references_for_every_reference_text()
    {
        var tokenizer = Bert.Value;
        var maxLength = PretrainedFiles.Reference.GetProperty("minilm").GetProperty("max_length").GetInt32();
        foreach (var (text, expected, _) in PretrainedFiles.ReferenceTexts())
        {
            var tokens = new long[maxLength];
            var count = tokenizer.EncodeForModel(text, tokens);

            Assert.True(expected.SequenceEqual(tokens[..count]), $"'{text}': expected [{string.Join(", ", expected)}], got [{string.Join(", ", tokens[..count])}]");
            Assert.All(tokens[count..], t => Assert.Equal(tokenizer.PaddingId, t));
            Assert.Equal(expected[1..^1], tokenizer.Encode(text).Select(i => (long)i));
        }
        Assert.Equal(0, tokenizer.PaddingId);
        Assert.Equal(30522, tokenizer.VocabularySize);
    }

    [Fact]
    public void The_long_reference_text_cut_to_64_tokens_keeps_its_first_pieces_and_sep()
    {
        var (text, ids, _) = PretrainedFiles.ReferenceTexts().Single(t => t.Ids.Length > 64);

        var tokens = Bert.Value.EncodeForModel(text, 64);

        Assert.Equal([.. ids[..63], ids[^1]], tokens);
    }

    /// <summary>
    /// Random texts over many scripts and edge cases, tokenised here and by minilm.py's WordPiece
    /// (reference_wordpiece.py): every id must agree.
    /// </summary>
    [Fact]
    public async Task Random_multilingual_text_is_tokenised_as_the_python_reference_does()
    {
        var vocab = PretrainedFiles.Require("minilm/vocab.txt");
        Assert.SkipUnless(File.Exists(Python), $"{Python} is absent; the reference tokenizer needs Debian's python3.");
        var texts = RandomTexts(600, seed: 20251203);
        var dir = Directory.CreateTempSubdirectory("wordpiece-parity-").FullName;
        try
        {
            var input = Path.Combine(dir, "texts.json");
            var output = Path.Combine(dir, "ids.json");
            await File.WriteAllTextAsync(input, JsonSerializer.Serialize(texts), TestContext.Current.CancellationToken);
            var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { RepoPaths.InRepo("tests", "Inference.Tests", "reference_wordpiece.py"), vocab, input, output })
                start.ArgumentList.Add(arg);
            using (var process = Process.Start(start)!)
            {
                var ct = TestContext.Current.CancellationToken;
                var stdout = process.StandardOutput.ReadToEndAsync(ct);
                var stderr = await process.StandardError.ReadToEndAsync(ct);
                await process.WaitForExitAsync(ct);
                Assert.SkipWhen(process.ExitCode == 3, $"{Python} cannot run the reference: {stderr.Trim()}");
                Assert.True(process.ExitCode == 0, $"reference_wordpiece.py failed ({process.ExitCode}): {await stdout}\n{stderr}");
            }

            var expected = JsonSerializer.Deserialize<long[][]>(await File.ReadAllTextAsync(output, TestContext.Current.CancellationToken))!;
            Assert.Equal(texts.Length, expected.Length);
            var tokenizer = Bert.Value;
            for (var i = 0; i < texts.Length; i++)
            {
                var tokens = new long[expected[i].Length + 4];
                var count = tokenizer.EncodeForModel(texts[i], tokens);
                Assert.True(expected[i].SequenceEqual(tokens[..count]),
                    $"text {i} '{Escape(texts[i])}': python [{string.Join(", ", expected[i])}], C# [{string.Join(", ", tokens[..count])}]");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static readonly string[] Pieces =
    [
        "red", "Shoes", "ÉTÉ", "naïve", "Straße", "ΟΔΟΣ", "Σ", "σοφία", "İstanbul", "café", "Crème", "iPhone", "2024", "3.5mm",
        "e-mail", "don't", "unaffable", "supercalifragilistic", "跑步鞋", "红色的", "東京", "ランニング", "한국어", "ＡＢＣ１２３",
        "，", "。", "！", "\u0301", "\u0308", "\u0327", "\u0000", "\u0007", "\u200B", "\u200D", "\u00AD", "\uFEFF", "\t", "\n",
        "\u00A0", "\u3000", "\u2003", "🥾", "👟🏻", "𠮷", "مرحبا", "नमस्ते", "ภาษาไทย", "\uFA11", "ﬁ", "\u212B", "\u2126", "ǅ", "$",
        "(", "]", "~", "^", "`", "…", "—", "«", "»", "¿", "°C", "½", "ℌ", "Ⅻ", "ⓐ", "\u1100\u1161", "Ǆ", "ß", "ẞ", "Ω", "ŉ",
    ];

    private static string[] RandomTexts(int count, int seed)
    {
        var random = new Random(seed);
        var texts = new string[count];
        var text = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            text.Clear();
            var n = random.Next(1, 14);
            for (var k = 0; k < n; k++)
            {
                if (k > 0 && random.Next(3) > 0)
                    text.Append(' ');
                text.Append(Pieces[random.Next(Pieces.Length)]);
            }
            texts[i] = text.ToString();
        }
        return texts;
    }

    private static string Escape(string text) =>
        string.Concat(text.Select(c => c is >= ' ' and < '\x7f' ? c.ToString() : $"\\u{(int)c:X4}"));
}
