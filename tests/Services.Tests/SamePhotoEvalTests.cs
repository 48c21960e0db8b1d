using Platform.Cli.Eval;
using Platform.Inference;
using Platform.Tests;

namespace Platform.Services.Tests;

/// <summary><c>platform eval</c>'s same-photo measurement: both sides of the threshold, from the real encoder and index.</summary>
public sealed class SamePhotoEvalTests
{
    [Fact]
    public async Task Re_encoded_catalog_pictures_and_the_closest_distinct_products_are_measured_on_both_sides_of_the_threshold()
    {
        var problems = new List<string>();
        var catalog = EvalData.Spread(EvalData.ReadCatalog(RepoPaths.InRepo("models", "demo-catalog", "catalog.jsonl"), problems), 24);
        using var encoder = ClipEncoder.Load(ModelPackage.Load(RepoPaths.InRepo("models", "test-clip")));
        using var index = await EvalIndex.BuildAsync(catalog, encoder, _ => { }, problems, CancellationToken.None);

        var report = await SamePhotoEval.RunAsync(encoder, index, catalog, threshold: 0.97, limit: 10, CancellationToken.None);

        Assert.Equal(24, report.Products);
        Assert.Equal(4, report.ReEncoded.Count);
        Assert.All(report.ReEncoded, v =>
        {
            Assert.Equal(10, v.Photos);
            Assert.InRange(v.Min, -1, v.P5);
            Assert.InRange(v.P5, v.Min, v.Median);
            Assert.InRange(v.Median, v.P5, 1.0001);
        });
        // A higher threshold recognises no more re-encodes and twins no more products.
        foreach (var (lower, higher) in report.Curve.Zip(report.Curve.Skip(1)))
        {
            Assert.True(lower.Threshold < higher.Threshold);
            Assert.True(lower.Recognised >= higher.Recognised);
            Assert.True(lower.ProductsWithTwin >= higher.ProductsWithTwin);
        }
        Assert.Equal(report.Curve.Single(c => c.Threshold == 0.97).Recognised, report.Recognised);
        Assert.Equal(report.NearestOtherMax, report.ClosestPairs[0].Score, 1e-9);
        Assert.Equal(report.ClosestPairs.Select(p => p.Score).OrderDescending(), report.ClosestPairs.Select(p => p.Score));
        Assert.All(report.ClosestPairs, p => Assert.NotEqual(p.A, p.B));
    }
}
