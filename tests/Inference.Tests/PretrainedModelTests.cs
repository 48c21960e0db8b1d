using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Platform.Inference.Tokenization;

namespace Platform.Inference.Tests;

/// <summary>
/// The pretrained graphs fetch_pretrained.py takes out of their NuGet packages, run raw in ONNX Runtime, against what
/// models/pretrained/minilm.py and resnet18.py (torch modules built from the same graphs) computed into
/// models/pretrained/reference.json.
/// </summary>
[Collection("native")]
public sealed class PretrainedModelTests
{
    private const float Tolerance = 1e-4f;
    private const int MiniLmWidth = 384, ImageSize = 224, ResNetFeatures = 512;

    private static long[][] ReferenceIds() => [.. PretrainedFiles.ReferenceTexts().Select(t => t.Ids)];

    private static float[][] ReferenceEmbeddings() => [.. PretrainedFiles.ReferenceTexts().Select(t => t.EmbeddingFirst16)];

    [Fact]
    public void MiniLM_gives_the_python_sentence_embeddings_text_by_text()
    {
        using var session = new InferenceSession(PretrainedFiles.Require("minilm/model.onnx"));
        var ids = ReferenceIds();
        var expected = ReferenceEmbeddings();
        for (var i = 0; i < ids.Length; i++)
            AssertClose(expected[i], SentenceEmbeddings(session, [ids[i]])[0], $"text {i}");
    }

    [Fact]
    public void MiniLM_gives_the_same_embeddings_for_a_padded_batch()
    {
        using var session = new InferenceSession(PretrainedFiles.Require("minilm/model.onnx"));
        var ids = ReferenceIds();
        var expected = ReferenceEmbeddings();

        var batch = SentenceEmbeddings(session, ids); // every text but the longest is padded, with a mask of 0 there

        Assert.Contains(ids, row => row.Length < ids.Max(r => r.Length));
        for (var i = 0; i < ids.Length; i++)
            AssertClose(expected[i], batch[i], $"text {i} in the padded batch");
    }

    [Fact]
    public void MiniLM_embeds_the_ids_the_csharp_tokenizer_gives()
    {
        using var session = new InferenceSession(PretrainedFiles.Require("minilm/model.onnx"));
        var tokenizer = WordPieceTokenizer.FromFile(PretrainedFiles.Require("minilm/vocab.txt"));
        var texts = PretrainedFiles.ReferenceTexts().ToArray();
        var ids = texts.Select(t =>
        {
            var tokens = new long[128];
            return tokens[..tokenizer.EncodeForModel(t.Text, tokens)];
        }).ToArray();

        var embeddings = SentenceEmbeddings(session, ids);

        for (var i = 0; i < texts.Length; i++)
            AssertClose(texts[i].EmbeddingFirst16, embeddings[i], $"'{texts[i].Text}'");
    }

    [Fact]
    public void ResNet18_gives_the_python_features_of_the_formula_image()
    {
        using var preprocess = new InferenceSession(PretrainedFiles.Require("resnet18/ResNetPreprocess.onnx"));
        using var resnet = new InferenceSession(PretrainedFiles.Require("resnet18/ResNet18.onnx"));
        var reference = PretrainedFiles.Reference.GetProperty("resnet18");
        var expectedFirst = reference.GetProperty("features_first16").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        var expectedNorm = reference.GetProperty("features_norm").GetDouble();

        // Both graphs have a fixed batch of 1; the preprocessing one takes 0..255 RGB and gives the trunk's input.
        var pixels = new DenseTensor<float>(FormulaImage255(), [1, 3, ImageSize, ImageSize]);
        using var preprocessed = preprocess.Run([NamedOnnxValue.CreateFromTensor(preprocess.InputMetadata.Keys.Single(), pixels)]);
        var trunkInput = preprocessed.Single().AsTensor<float>().ToDenseTensor();
        using var pooled = resnet.Run([NamedOnnxValue.CreateFromTensor(resnet.InputMetadata.Keys.Single(), trunkInput)]);
        var features = pooled.Single().AsEnumerable<float>().ToArray();

        Assert.Equal(ResNetFeatures, features.Length);
        // Absolute 1e-4, as for MiniLM, though these are unnormalised activations (up to a few units, norm ~42): the
        // graphs agree with torch far closer than that (about 1e-6 on the values, 1e-5 on the norm).
        AssertClose(expectedFirst, features, "ResNet-18 pooled features");
        var norm = Math.Sqrt(features.Sum(v => (double)v * v));
        Assert.True(Math.Abs(norm - expectedNorm) <= Tolerance, $"norm {norm}, python {expectedNorm}");
        TestContext.Current.TestOutputHelper?.WriteLine($"ResNet-18 features norm: |d| = {Math.Abs(norm - expectedNorm):E2}");
    }

    /// <summary>
    /// The image of make_reference.py in ResNetPreprocess.onnx's input form, [3, 224, 224] RGB in 0..255: r = x/223,
    /// g = y/223, b = ((7x + 3y) mod 224)/223 at column x, row y, each rounded to float32, then times 255 in float32.
    /// </summary>
    private static float[] FormulaImage255()
    {
        var tensor = new float[3 * ImageSize * ImageSize];
        var plane = ImageSize * ImageSize;
        for (var y = 0; y < ImageSize; y++)
        {
            for (var x = 0; x < ImageSize; x++)
            {
                var at = y * ImageSize + x;
                tensor[at] = (float)(x / 223.0) * 255f;
                tensor[plane + at] = (float)(y / 223.0) * 255f;
                tensor[2 * plane + at] = (float)((7 * x + 3 * y) % 224 / 223.0) * 255f;
            }
        }
        return tensor;
    }

    /// <summary>
    /// The raw graph's last_hidden_state for a batch padded with [PAD] = 0 (attention mask 0 there, token types 0),
    /// mean-pooled over the mask and L2-normalised: sentence-transformers' recipe, which the package's tower bakes in.
    /// </summary>
    private static float[][] SentenceEmbeddings(InferenceSession session, long[][] ids)
    {
        var batch = ids.Length;
        var length = ids.Max(r => r.Length);
        var inputIds = new DenseTensor<long>([batch, length]);
        var mask = new DenseTensor<long>([batch, length]);
        var types = new DenseTensor<long>([batch, length]);
        for (var b = 0; b < batch; b++)
        {
            for (var t = 0; t < ids[b].Length; t++)
            {
                inputIds[b, t] = ids[b][t];
                mask[b, t] = 1;
            }
        }
        using var outputs = session.Run(
            [
                NamedOnnxValue.CreateFromTensor("input_ids", inputIds),
                NamedOnnxValue.CreateFromTensor("attention_mask", mask),
                NamedOnnxValue.CreateFromTensor("token_type_ids", types),
            ],
            ["last_hidden_state"]);
        var states = outputs.Single().AsTensor<float>();
        Assert.Equal([batch, length, MiniLmWidth], states.Dimensions.ToArray());

        var embeddings = new float[batch][];
        for (var b = 0; b < batch; b++)
        {
            var mean = new double[MiniLmWidth];
            for (var t = 0; t < ids[b].Length; t++) // the positions where the mask is 1
            {
                for (var d = 0; d < MiniLmWidth; d++)
                    mean[d] += states[b, t, d];
            }
            for (var d = 0; d < MiniLmWidth; d++)
                mean[d] /= ids[b].Length;
            var norm = Math.Sqrt(mean.Sum(v => v * v));
            embeddings[b] = [.. mean.Select(v => (float)(v / norm))];
        }
        return embeddings;
    }

    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        var worst = 0f;
        for (var i = 0; i < expected.Length; i++)
            worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        Assert.True(worst <= Tolerance, $"{what}: the first {expected.Length} values differ by up to {worst} (tolerance {Tolerance})");
        TestContext.Current.TestOutputHelper?.WriteLine($"{what}: max |d| = {worst:E2}");
    }
}
