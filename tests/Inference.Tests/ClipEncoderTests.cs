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

    public void Dispose() => _encoder.Dispose();

    /// <summary>Every committed package that ships a reference.json: the bundled test model and any trained one.</summary>
    public static TheoryData<string> PackagesWithReferences()
    {
        var data = new TheoryData<string>();
        foreach (var dir in Directory.GetDirectories(RepoPaths.InRepo("models")).Order(StringComparer.Ordinal))
        {
            if (File.Exists(Path.Combine(dir, "reference.json")) && File.Exists(Path.Combine(dir, ModelPackage.ManifestName)))
                data.Add(Path.GetFileName(dir));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(PackagesWithReferences))]
    public void Text_embeddings_match_the_ones_python_computed(string package)
    {
        using var encoder = ClipEncoder.Load(ModelPackage.Load(RepoPaths.InRepo("models", package)));
        var reference = ReadReference(package);
        foreach (var item in reference.GetProperty("texts").EnumerateArray())
        {
            var text = item.GetProperty("text").GetString()!;
            var ids = encoder.Tokenizer.EncodeForModel(text, encoder.Package.ContextLength);
            var expectedIds = item.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            Assert.Equal(expectedIds, ids.Take(expectedIds.Length));
            var embedding = encoder.EncodeText(text);
            var expected = item.GetProperty("embedding_first8").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            for (var i = 0; i < expected.Length; i++)
                Assert.Equal(expected[i], embedding[i], 1e-4f);
        }
    }

    [Theory]
    [MemberData(nameof(PackagesWithReferences))]
    public void Image_embedding_matches_the_one_python_computed(string package)
    {
        using var encoder = ClipEncoder.Load(ModelPackage.Load(RepoPaths.InRepo("models", package)));
        var tensor = ReferenceImage.Tensor(encoder.Package.ImageSize);
        var embedding = encoder.EncodePreprocessedImages([tensor])[0];
        var expected = ReadReference(package).GetProperty("image").GetProperty("embedding_first8").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        for (var i = 0; i < expected.Length; i++)
            Assert.Equal(expected[i], embedding[i], 1e-4f);
    }

    private static JsonElement ReadReference(string package) =>
        JsonDocument.Parse(File.ReadAllText(RepoPaths.InRepo("models", package, "reference.json"))).RootElement;

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
