using Platform.Contracts.Grains;
using Platform.Inference;
using Platform.Tests;

namespace Platform.Grains.Tests;

public sealed class BatchingTests(EncoderCluster cluster) : IClassFixture<EncoderCluster>
{
    private static readonly string[] Texts = Enumerable.Range(0, 16).Select(i => $"product number {i} in red and blue").ToArray();

    [Fact]
    public async Task Concurrent_callers_share_forwards_and_each_gets_its_own_answer()
    {
        var encoder = cluster.Cluster.Client.GetGrain<IEncoderGrain>(EncoderCluster.Device);
        var before = await encoder.GetStats();

        var answers = await Task.WhenAll(Texts.Select(t => Task.Run(() => encoder.EncodeTexts([t], EncodePriority.Query))));

        var after = await encoder.GetStats();
        Assert.Equal(Texts.Length, after.TextCalls - before.TextCalls);
        Assert.Equal(Texts.Length, after.TextItems - before.TextItems);
        Assert.InRange(after.TextForwards - before.TextForwards, 1, Texts.Length - 1);

        using var direct = ClipEncoder.Load(ModelPackage.Load(EncoderCluster.Model));
        for (var i = 0; i < Texts.Length; i++)
            VectorAssert.Close(direct.EncodeText(Texts[i]), Assert.Single(answers[i]), 1e-4f);
    }

    [Fact]
    public async Task A_bad_image_is_refused_alone_and_the_others_are_encoded()
    {
        var encoder = cluster.Cluster.Client.GetGrain<IEncoderGrain>(EncoderCluster.Device);
        var good = await File.ReadAllBytesAsync(RepoPaths.InRepo("tests", "fixtures", "products", "p001.jpg"));
        var other = await File.ReadAllBytesAsync(RepoPaths.InRepo("tests", "fixtures", "products", "p004.png"));

        var results = await encoder.EncodeImages(
            [ImageInput.FromBytes(good), ImageInput.FromBytes(good[..(good.Length / 3)]), ImageInput.FromBytes(other)], EncodePriority.Ingest);

        Assert.NotNull(results[0].Vector);
        Assert.Null(results[1].Vector);
        Assert.Contains("corrupt", results[1].Rejected);
        Assert.NotNull(results[2].Vector);
        using var direct = ClipEncoder.Load(ModelPackage.Load(EncoderCluster.Model));
        VectorAssert.Close(direct.EncodeImage(good), results[0].Vector!, 1e-4f);
        VectorAssert.Close(direct.EncodeImage(other), results[2].Vector!, 1e-4f);
    }

    [Fact]
    public async Task A_preprocessed_tensor_of_the_wrong_size_is_refused_with_the_sizes()
    {
        var encoder = cluster.Cluster.Client.GetGrain<IEncoderGrain>(EncoderCluster.Device);

        var result = Assert.Single(await encoder.EncodeImages([ImageInput.FromTensor(new float[12])], EncodePriority.Query));

        Assert.Null(result.Vector);
        Assert.Contains("12 values", result.Rejected);
    }
}

public sealed class UnbatchedTests(ClusterWithoutBatching cluster) : IClassFixture<ClusterWithoutBatching>
{
    [Fact]
    public async Task With_batching_off_every_call_is_its_own_forward()
    {
        var encoder = cluster.Cluster.Client.GetGrain<IEncoderGrain>(EncoderCluster.Device);
        var before = await encoder.GetStats();

        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => encoder.EncodeTexts([$"text {i}"], EncodePriority.Query))));

        var after = await encoder.GetStats();
        Assert.Equal(8, after.TextForwards - before.TextForwards);
    }
}

internal static class VectorAssert
{
    public static void Close(float[] expected, float[] actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(worst <= tolerance, $"largest difference {worst} exceeds {tolerance}");
    }
}
