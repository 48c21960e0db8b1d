using System.Text.Json;
using Platform.Inference;
using Platform.Tests;

namespace Platform.Inference.Tests;

/// <summary>The bundled test package, end to end in C#: the same embeddings Python computed when it exported the towers.</summary>
[Collection("native")]
public sealed class ClipEncoderTests : IDisposable
{
    private static readonly string PackageDir = RepoPaths.InRepo("models", "test-clip");
    private readonly ClipEncoder _encoder = ClipEncoder.Load(ModelPackage.Load(PackageDir));
    private readonly JsonElement _reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(PackageDir, "reference.json"))).RootElement;

    public void Dispose() => _encoder.Dispose();

    [Fact]
    public void Text_embeddings_match_the_ones_python_computed()
    {
        foreach (var item in _reference.GetProperty("texts").EnumerateArray())
        {
            var embedding = _encoder.EncodeText(item.GetProperty("text").GetString()!);
            var expected = item.GetProperty("embedding_first8").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            for (var i = 0; i < expected.Length; i++)
                Assert.Equal(expected[i], embedding[i], 1e-4f);
        }
    }

    [Fact]
    public void Image_embedding_matches_the_one_python_computed()
    {
        // value(c,y,x) = (((37c + 11y + 7x) mod 256) - 128) / 128, as reference.json describes.
        var size = _encoder.Package.ImageSize;
        var tensor = new float[3 * size * size];
        for (var c = 0; c < 3; c++)
            for (var y = 0; y < size; y++)
                for (var x = 0; x < size; x++)
                    tensor[(c * size + y) * size + x] = ((37 * c + 11 * y + 7 * x) % 256 - 128) / 128f;
        var embedding = _encoder.EncodePreprocessedImages([tensor])[0];
        var expected = _reference.GetProperty("image").GetProperty("embedding_first8").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        for (var i = 0; i < expected.Length; i++)
            Assert.Equal(expected[i], embedding[i], 1e-4f);
    }

    [Fact]
    public void Batched_text_encoding_equals_one_at_a_time()
    {
        string[] texts = ["red ceramic mug", "跑步鞋", "a warm wool scarf for winter"];
        var batch = _encoder.EncodeTexts(texts);
        for (var i = 0; i < texts.Length; i++)
        {
            var single = _encoder.EncodeText(texts[i]);
            Assert.Equal(_encoder.Dimension, single.Length);
            for (var j = 0; j < single.Length; j++)
                Assert.Equal(single[j], batch[i][j], 1e-5f);
        }
    }

    [Fact]
    public void Embeddings_are_unit_length()
    {
        var text = _encoder.EncodeText("wireless headphones");
        Assert.Equal(1.0, Math.Sqrt(text.Sum(x => (double)x * x)), 1e-4);
    }

    [Fact]
    public void A_package_without_its_towers_is_refused_naming_what_is_missing()
    {
        var dir = Directory.CreateTempSubdirectory("pkg-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "model.json"), """
                { "name": "broken", "embedding_dim": 0, "image_size": 224, "mean": [0.5, 0.5], "std": [1, 1, 1],
                  "context_length": 77, "tokenizer": { "kind": "clip-bpe", "vocab": "vocab.json", "merges": "merges.txt" },
                  "image_tower": "image.pt", "text_tower": "text.pt" }
                """);
            var error = Assert.Throws<ModelPackageException>(() => ModelPackage.Load(dir));
            foreach (var fragment in new[] { "embedding_dim", "'mean'", "vocab.json", "merges.txt", "image.pt", "text.pt" })
                Assert.Contains(fragment, error.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_folder_without_model_json_is_refused()
    {
        var error = Assert.Throws<ModelPackageException>(() => ModelPackage.Load(Path.GetTempPath()));
        Assert.Contains("model.json", error.Message);
    }

    [Fact]
    public void Invalid_json_in_model_json_is_refused()
    {
        var dir = Directory.CreateTempSubdirectory("pkg-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "model.json"), "{ not json");
            var error = Assert.Throws<ModelPackageException>(() => ModelPackage.Load(dir));
            Assert.Contains("not valid JSON", error.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
