using System.Text.Json.Nodes;
using Platform.Inference.Tokenization;
using Platform.Tests;

namespace Platform.Inference.Tests;

/// <summary>
/// model.json's <c>cjk_text</c> (a second text tower for CJK text) and text towers with a symbolic sequence axis, on
/// test-clip with fixtures/text_probe.onnx as the extra tower: the probe's first values say what it was given (the
/// batch's sequence length, the row's non-zero ids, their sum, the first id).
/// </summary>
[Collection("native")]
public sealed class CjkTextTowerTests : IDisposable
{
    private const int CjkContext = 32;
    private static readonly string TestClip = RepoPaths.InRepo("models", "test-clip");
    private static readonly string Probe = Path.Combine(AppContext.BaseDirectory, "fixtures", "text_probe.onnx");

    private readonly List<string> _dirs = [];

    public void Dispose()
    {
        foreach (var dir in _dirs)
            Directory.Delete(dir, recursive: true);
    }

    /// <summary>A copy of test-clip with the probe beside it as text_encoder_cjk.onnx, model.json changed by <paramref name="edit"/>.</summary>
    private string Package(Action<JsonObject> edit, Action<string>? files = null)
    {
        var dir = Directory.CreateTempSubdirectory("pkg-cjk-").FullName;
        _dirs.Add(dir);
        foreach (var file in Directory.GetFiles(TestClip))
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        File.Copy(Probe, Path.Combine(dir, "text_encoder_cjk.onnx"));
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, ModelPackage.ManifestName)))!.AsObject();
        edit(manifest);
        File.WriteAllText(Path.Combine(dir, ModelPackage.ManifestName), manifest.ToJsonString());
        files?.Invoke(dir);
        return dir;
    }

    private static JsonObject CjkSection(string tower = "text_encoder_cjk.onnx") => new()
    {
        ["text_tower"] = tower,
        ["context_length"] = CjkContext,
        ["tokenizer"] = new JsonObject { ["kind"] = "clip-bpe", ["vocab"] = "vocab.json", ["merges"] = "merges.txt" },
    };

    private string WithCjkTower() => Package(m => m["cjk_text"] = CjkSection());

    [Fact]
    public void Texts_mostly_in_cjk_go_to_the_cjk_tower_and_the_rows_come_back_in_order()
    {
        string[] texts = ["red ceramic mug", "跑步鞋", "wireless headphones", "红色 shoes", "ＡＢＣ", "Monkey figurine, hand-painted. 猴子"];
        using var plain = ClipEncoder.Load(ModelPackage.Load(TestClip));
        using var encoder = ClipEncoder.Load(ModelPackage.Load(WithCjkTower()));

        var rows = encoder.EncodeTexts(texts);

        string[] english = [texts[0], texts[2], texts[5]];
        var expectedEnglish = plain.EncodeTexts(english);
        foreach (var (row, expected) in new[] { rows[0], rows[2], rows[5] }.Zip(expectedEnglish))
            Assert.Equal(expected, row, new Tolerance(1e-5f));

        int[] cjk = [1, 3, 4];
        var cjkTokenizer = encoder.CjkTokenizer!;
        var tokens = cjk.Select(i => cjkTokenizer.EncodeForModel(texts[i], CjkContext)).ToArray();
        var counts = cjk.Select(i => cjkTokenizer.EncodeForModel(texts[i], new long[CjkContext])).ToArray();
        for (var k = 0; k < cjk.Length; k++)
        {
            var row = rows[cjk[k]];
            Assert.Equal(counts.Max(), row[0]);                       // cut to the longest CJK text, not padded to 32
            Assert.Equal(counts[k], row[1]);                          // its own tokens
            Assert.Equal(tokens[k].Sum(), row[2]);                    // and ids: the CJK tower's tokenizer made them
            Assert.Equal(tokens[k][0], row[3]);
        }
        Assert.True(counts.Max() < CjkContext);
    }

    [Fact]
    public void A_batch_of_one_script_goes_whole_to_its_tower()
    {
        using var plain = ClipEncoder.Load(ModelPackage.Load(TestClip));
        using var encoder = ClipEncoder.Load(ModelPackage.Load(WithCjkTower()));

        Assert.Equal(plain.EncodeTexts(["red mug", "shoes"])[1], encoder.EncodeTexts(["red mug", "shoes"])[1], new Tolerance(1e-5f));
        var cjk = encoder.EncodeTexts(["跑步鞋", "鞋"]);
        Assert.Equal(cjk[0][0], cjk[1][0]);
        Assert.Equal(encoder.CjkTokenizer!.EncodeForModel("鞋", new long[CjkContext]), encoder.EncodeText("鞋")[0]);
        Assert.Same(encoder.CjkTokenizer, encoder.TokenizerFor("鞋"));
        Assert.Same(encoder.Tokenizer, encoder.TokenizerFor("shoes"));
        Assert.Equal((CjkContext, 77), (encoder.ContextLengthFor("鞋"), encoder.ContextLengthFor("shoes")));
    }

    [Fact]
    public void A_symbolic_tower_is_never_given_more_than_its_context_length()
    {
        using var encoder = ClipEncoder.Load(ModelPackage.Load(WithCjkTower()));
        var long_ = string.Concat(Enumerable.Repeat("跑步鞋 ", 40));

        var rows = encoder.EncodeTexts(["鞋", long_]);

        Assert.Equal(CjkContext, rows[0][0]);
        Assert.Equal(CjkContext, rows[1][1]);
    }

    [Fact]
    public void A_symbolic_main_text_tower_with_a_wordpiece_tokenizer_gets_batches_cut_to_their_longest_text()
    {
        var dir = Package(m =>
        {
            m["text_tower"] = "text_encoder_cjk.onnx";
            m["context_length"] = 16;
            m["tokenizer"] = new JsonObject { ["kind"] = "wordpiece", ["vocab"] = "vocab.txt", ["lowercase"] = true };
        }, d => File.WriteAllLines(Path.Combine(d, "vocab.txt"), ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "red", "mug", "##s"]));
        var package = ModelPackage.Load(dir);
        using var encoder = ClipEncoder.Load(package);

        var rows = encoder.EncodeTexts(["Red mugs", "mug"]);

        Assert.Equal((ModelPackage.WordPiece, true, (string?)null), (package.TokenizerKind, package.TokenizerLowercase, package.MergesPath));
        Assert.IsType<WordPieceTokenizer>(encoder.Tokenizer);
        Assert.True(encoder.TrimsTextBatches);
        Assert.Equal([5f, 5, 2 + 4 + 5 + 6 + 3, 2], rows[0][..4]); // [CLS] red mug ##s [SEP]
        Assert.Equal([5f, 3, 2 + 5 + 3, 2], rows[1][..4]);         // [CLS] mug [SEP] [PAD] [PAD]
        Assert.All(rows[0][4..], v => Assert.Equal(0f, v));
    }

    [Fact]
    public void The_bundled_fixed_length_packages_have_no_cjk_tower_and_keep_padding_to_their_context()
    {
        foreach (var name in new[] { "test-clip", "shopping-clip" })
        {
            var package = ModelPackage.Load(RepoPaths.InRepo("models", name));
            using var encoder = ClipEncoder.Load(package);

            Assert.Null(package.CjkText);
            Assert.Null(encoder.CjkTokenizer);
            Assert.False(encoder.TrimsTextBatches);
            Assert.True(package.TokenizerLowercase);
            Assert.Equal(new TextTowerSpec(package.TextTowerPath, package.ContextLength,
                new TokenizerSpec(ModelPackage.ClipBpe, package.VocabPath, package.MergesPath), "input_ids", "embedding"), package.Text);
            Assert.IsType<ClipTokenizer>(encoder.Tokenizer);
            Assert.Same(encoder.Tokenizer, encoder.TokenizerFor("跑步鞋"));
        }
    }

    [Fact]
    public void The_clip_tokenizer_reports_how_many_tokens_precede_the_zeros()
    {
        using var encoder = ClipEncoder.Load(ModelPackage.Load(TestClip));
        var tokens = new long[77];

        var count = encoder.Tokenizer.EncodeForModel("red ceramic mug", tokens);

        Assert.Equal(Array.IndexOf(tokens, tokens.Max()) + 1, count); // the end token has the highest id
        Assert.All(tokens[count..], t => Assert.Equal(0L, t));
    }

    [Fact]
    public void A_bad_cjk_text_section_is_refused_naming_each_field()
    {
        var dir = Package(m => m["cjk_text"] = new JsonObject
        {
            ["text_tower"] = "missing.onnx",
            ["tokenizer"] = new JsonObject { ["kind"] = "sentencepiece", ["vocab"] = "vocab.json" },
            ["text_output"] = " ",
        });

        var error = Assert.Throws<ModelPackageException>(() => ModelPackage.Load(dir));

        foreach (var fragment in new[] { "'cjk_text.text_tower' names missing.onnx", "'cjk_text.context_length'", "'cjk_text.tokenizer.kind'", "sentencepiece", "'cjk_text.text_output' is empty" })
            Assert.Contains(fragment, error.Message);
    }

    [Fact]
    public void A_cjk_tokenizer_without_its_files_is_refused_naming_the_field()
    {
        var dir = Package(m =>
        {
            var section = CjkSection();
            section["tokenizer"] = new JsonObject { ["kind"] = "wordpiece", ["vocab"] = "vocab.txt" };
            m["cjk_text"] = section;
            m["tokenizer"]!["lowercase"] = false;
        });

        var error = Assert.Throws<ModelPackageException>(() => ModelPackage.Load(dir));

        Assert.Contains("'cjk_text.tokenizer.vocab' names vocab.txt, which is not in the package", error.Message);
        Assert.Contains("'tokenizer.lowercase' is false", error.Message);
    }

    [Fact]
    public void A_cjk_tower_whose_output_is_not_the_embedding_dim_is_refused_at_load()
    {
        var dir = Package(m =>
        {
            var section = CjkSection("token_pool.onnx");
            (section["text_input"], section["text_output"]) = ("ids", "pooled");
            m["cjk_text"] = section;
        }, d => File.Copy(Path.Combine(AppContext.BaseDirectory, "fixtures", "token_pool.onnx"), Path.Combine(d, "token_pool.onnx")));

        var error = Assert.Throws<ModelPackageException>(() => ClipEncoder.Load(ModelPackage.Load(dir)).Dispose());

        Assert.Contains("cjk_text tower", error.Message);
        Assert.Contains("token_pool.onnx", error.Message);
        Assert.Contains("[batch, 128] (embedding_dim 128)", error.Message);
    }

    [Fact]
    public void A_fixed_length_cjk_tower_must_match_its_context_length()
    {
        var dir = Package(m => m["cjk_text"] = CjkSection("text_encoder.onnx")); // test-clip's own tower: [batch, 77]

        var error = Assert.Throws<ModelPackageException>(() => ClipEncoder.Load(ModelPackage.Load(dir)).Dispose());

        Assert.Contains("cjk_text tower", error.Message);
        Assert.Contains("[batch, 77]", error.Message);
        Assert.Contains("cjk_text.context_length 32", error.Message);
    }

    [Theory]
    [InlineData("red running shoes", false)]
    [InlineData("Crème brûlée, Straße, ΟΔΟΣ, Москва, مرحبا", false)]
    [InlineData("emoji 🥾 and symbols ½ ° €", false)]
    [InlineData("跑步鞋", true)]
    [InlineData("red 鞋", true)]
    [InlineData("𠮷野家", true)]        // extension B, outside the BMP
    [InlineData("ランニング", true)]    // katakana
    [InlineData("ひらがな", true)]
    [InlineData("한국어", true)]
    [InlineData("shoes，red", true)]    // a full-width comma
    [InlineData("shoes。", true)]
    [InlineData("ＡＢＣ", true)]        // full-width Latin
    [InlineData("\uF900", true)]        // a compatibility ideograph
    [InlineData("\u3400", true)]        // extension A
    [InlineData("\u1100", true)]        // Hangul jamo, the first CJK code point
    [InlineData("\u10FF\u4DC0", false)] // just before it; a Yijing hexagram
    [InlineData("\uD840", false)]       // a lone surrogate
    public void Cjk_text_is_recognised_by_script(string text, bool cjk) => Assert.Equal(cjk, CjkScript.Contains(text));

    [Theory]
    [InlineData("跑步鞋", true)]
    [InlineData("红色 shoes", true)]             // 2 characters weigh 8 against 5 letters
    [InlineData("iPhone 15 手机壳", true)]
    [InlineData("𠮷野家 ramen", true)]
    [InlineData("red running shoes", false)]
    [InlineData("红 running shoes", false)]
    [InlineData("Monkey Face. Animals & Nature. Monkey face figurine, hand-painted and sized for a shelf or desk. 猴头", false)]
    [InlineData("", false)]
    [InlineData("。", true)]                     // nothing but CJK punctuation
    public void The_main_script_decides_the_route(string text, bool mostlyCjk) => Assert.Equal(mostlyCjk, CjkScript.IsMostlyCjk(text));

    [Fact]
    public void Routes_split_a_batch_by_script_and_hold_every_index_once()
    {
        var routes = TextRoutes.Of(["red", "跑步鞋", "blue", "红色 shoes", "ＡＢＣ", "", "green", "red running shoes 鞋"]);

        Assert.Equal([0, 2, 5, 6, 7], routes.Main);
        Assert.Equal([1, 3, 4], routes.Cjk);
        Assert.Empty(TextRoutes.Of([]).Main);
        Assert.Equal([0, 1], TextRoutes.Of(["鞋", "鞋子"]).Cjk);
        Assert.Empty(TextRoutes.Of(["鞋", "鞋子"]).Main);
        var many = Enumerable.Range(0, 2000).Select(i => i % 3 == 0 ? "鞋" : "shoe").ToArray(); // beyond the stack buffer
        Assert.Equal(Enumerable.Range(0, 2000).Where(i => i % 3 == 0), TextRoutes.Of(many).Cjk);
    }

    private sealed class Tolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => MathF.Abs(x - y) <= tolerance;

        public int GetHashCode(float obj) => 0;
    }
}
