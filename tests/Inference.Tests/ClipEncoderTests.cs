using System.Text.Json;
using System.Text.Json.Nodes;
using Platform.Inference.Imaging;
using Platform.Inference.Onnx;
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
            var ids = encoder.TokenizerFor(text).EncodeForModel(text, encoder.ContextLengthFor(text));
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
                  "image_tower": "image.onnx", "text_tower": "text.onnx" }
                """);
            var error = Assert.Throws<ModelPackageException>(() => ModelPackage.Load(dir));
            foreach (var fragment in new[] { "embedding_dim", "'mean'", "vocab.json", "merges.txt", "image.onnx", "text.onnx" })
                Assert.Contains(fragment, error.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_package_described_for_a_role_without_towers_needs_only_a_valid_model_json()
    {
        var dir = Directory.CreateTempSubdirectory("pkg-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "model.json"), """
                { "name": "small-files-only", "embedding_dim": 384, "image_size": 224, "mean": [0, 0, 0], "std": [1, 1, 1],
                  "context_length": 128, "tokenizer": { "kind": "wordpiece", "vocab": "vocab.txt" },
                  "image_tower": "image.onnx", "text_tower": "text.onnx" }
                """);

            var described = ModelPackage.Describe(dir);

            Assert.Equal((384, 224), (described.EmbeddingDim, described.ImageSize));
            Assert.Contains("image.onnx", Assert.Throws<ModelPackageException>(() => ModelPackage.Load(dir)).Message);
            File.WriteAllText(Path.Combine(dir, "model.json"), """{ "name": "broken", "embedding_dim": 0 }""");
            Assert.Contains("embedding_dim", Assert.Throws<ModelPackageException>(() => ModelPackage.Describe(dir)).Message);
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
    /// <summary>A copy of test-clip in a temp folder, its model.json changed by <paramref name="edit"/>.</summary>
    private static string EditedTestClip(Action<JsonObject> edit, Action<string>? files = null)
    {
        var dir = Directory.CreateTempSubdirectory("pkg-").FullName;
        foreach (var file in Directory.GetFiles(PackageDir))
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "model.json")))!.AsObject();
        edit(manifest);
        File.WriteAllText(Path.Combine(dir, "model.json"), manifest.ToJsonString());
        files?.Invoke(dir);
        return dir;
    }

    private static ModelPackageException LoadFails(string dir)
    {
        try
        {
            return Assert.Throws<ModelPackageException>(() => ClipEncoder.Load(ModelPackage.Load(dir)).Dispose());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void The_bundled_packages_name_onnx_towers_and_their_tensors()
    {
        Assert.EndsWith("image_encoder.onnx", _encoder.Package.ImageTowerPath);
        Assert.EndsWith("text_encoder.onnx", _encoder.Package.TextTowerPath);
        Assert.Equal(("pixels", "embedding", "input_ids", "embedding"),
            (_encoder.Package.ImageInput, _encoder.Package.ImageOutput, _encoder.Package.TextInput, _encoder.Package.TextOutput));
        Assert.Equal("cpu", _encoder.Device);
        Assert.Equal(OnnxRuntimeInfo.CpuProvider, _encoder.ExecutionProvider);
        Assert.Same(InferenceOptions.Default, _encoder.Options);
    }

    [Fact]
    public void A_tower_whose_input_does_not_fit_model_json_is_refused_at_load_naming_both()
    {
        var error = LoadFails(EditedTestClip(m => m["image_size"] = 64));

        Assert.Contains("image tower", error.Message);
        Assert.Contains("image_encoder.onnx", error.Message);
        Assert.Contains("[batch, 3, 224, 224]", error.Message);
        Assert.Contains("image_size 64", error.Message);
    }

    [Fact]
    public void A_tower_whose_output_does_not_fit_model_json_is_refused_at_load()
    {
        var error = LoadFails(EditedTestClip(m => m["embedding_dim"] = 256));

        Assert.Contains("output 'embedding'", error.Message);
        Assert.Contains("[batch, 128]", error.Message);
        Assert.Contains("embedding_dim 256", error.Message);
    }

    [Fact]
    public void Towers_swapped_in_model_json_are_refused_at_load_by_their_input_type()
    {
        var error = LoadFails(EditedTestClip(m => (m["image_tower"], m["text_tower"], m["image_input"], m["text_input"]) =
            ("text_encoder.onnx", "image_encoder.onnx", "input_ids", "pixels")));

        Assert.Contains("int64", error.Message);
        Assert.Contains("float32", error.Message);
    }

    [Fact]
    public void An_input_name_the_tower_lacks_is_refused_at_load_listing_what_it_has()
    {
        var error = LoadFails(EditedTestClip(m => m["text_input"] = "text"));

        Assert.Contains("text tower", error.Message);
        Assert.Contains("[input_ids]", error.Message);
        Assert.Contains("'text'", error.Message);
    }

    [Fact]
    public void A_corrupt_tower_file_is_refused_at_load_naming_it()
    {
        var error = LoadFails(EditedTestClip(_ => { }, dir => File.WriteAllBytes(Path.Combine(dir, "text_encoder.onnx"), new byte[100])));

        Assert.Contains("text tower", error.Message);
        Assert.Contains("text_encoder.onnx", error.Message);
    }

    [Fact]
    public void A_package_of_torchscript_towers_is_refused_saying_how_to_convert_it()
    {
        var dir = EditedTestClip(m => m["image_tower"] = "image_encoder.pt",
            d => File.WriteAllBytes(Path.Combine(d, "image_encoder.pt"), [(byte)'P', (byte)'K', 3, 4]));
        try
        {
            var error = Assert.Throws<ModelPackageException>(() => ModelPackage.Load(dir));
            Assert.Contains("TorchScript", error.Message);
            Assert.Contains("models/convert_to_onnx.py", error.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Cuda_on_the_cpu_build_is_refused_by_the_host_before_anything_loads()
    {
        Assert.SkipWhen(OnnxRuntimeInfo.AvailableProviders.Contains(OnnxRuntimeInfo.CudaProvider), "this build has the CUDA execution provider");

        var error = Assert.Throws<InferenceDeviceException>(() => new EncoderHost(PackageDir, "cuda:0"));

        Assert.Contains("-p:PlatformGpu=true", error.Message);
    }

    [Fact]
    public void Encoding_images_from_bytes_equals_preprocessing_then_encoding()
    {
        var images = Directory.GetFiles(RepoPaths.InRepo("tests", "fixtures", "products"), "p0*").Order(StringComparer.Ordinal).Take(6).Select(File.ReadAllBytes).ToList();

        var direct = _encoder.EncodeImages(images);
        var viaTensors = _encoder.EncodePreprocessedImages(_encoder.PreprocessImages(images).Select(p => p.Tensor!).ToList());

        Assert.Equal(images.Count, direct.Length);
        for (var i = 0; i < images.Count; i++)
        {
            Assert.Equal(viaTensors[i], direct[i]);
            Assert.Equal(direct[i], _encoder.EncodeImage(images[i]), new ToleranceComparer(1e-5f));
        }
    }

    [Fact]
    public void A_bad_image_in_a_batch_fails_the_call_with_its_reason()
    {
        var good = File.ReadAllBytes(RepoPaths.InRepo("tests", "fixtures", "products", "p001.jpg"));

        Assert.Throws<ImageRejectedException>(() => _encoder.EncodeImages([good, [1, 2, 3, 4, 5]]));
        Assert.Empty(_encoder.EncodeImages([]));
        Assert.Empty(_encoder.EncodeTexts([]));
    }

    [Fact]
    public void Concurrent_callers_each_get_their_own_embeddings()
    {
        string[] texts = ["red ceramic mug", "跑步鞋", "a warm wool scarf for winter", "wireless headphones", "kids toy train", "送给孩子的礼物"];
        var images = Directory.GetFiles(RepoPaths.InRepo("tests", "fixtures", "products"), "p0*").Order(StringComparer.Ordinal).Take(8)
            .Select(f => _encoder.PreprocessImage(File.ReadAllBytes(f))).ToArray();
        var serialTexts = texts.Select(t => _encoder.EncodeTexts([t, texts[0]])).ToArray();
        var serialImages = images.Select(i => _encoder.EncodePreprocessedImages([i])[0]).ToArray();
        Threads.RunAll(6, t =>
        {
            for (var round = 0; round < 5; round++)
            {
                var mine = _encoder.EncodeTexts([texts[t], texts[0]]);
                Assert.Equal(serialTexts[t][0], mine[0], new ToleranceComparer(1e-5f));
                var image = _encoder.EncodePreprocessedImages([images[t], images[(t + 1) % images.Length]]);
                Assert.Equal(serialImages[t], image[0], new ToleranceComparer(1e-5f));
                Assert.Equal(serialImages[(t + 1) % images.Length], image[1], new ToleranceComparer(1e-5f));
            }
        });
    }

    private sealed class ToleranceComparer(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => MathF.Abs(x - y) <= tolerance;

        public int GetHashCode(float obj) => 0;
    }
}
