using Platform.Inference;
using Platform.Retrieval;

namespace Platform.Cli.Eval;

/// <summary>How close one kind of re-encoded catalog picture scores against the product's own image vector.</summary>
public sealed record SamePhotoVariant(string Name, int Photos, double Min, double P5, double Median);

/// <summary>At one same-photo threshold: the share of re-encoded pictures it recognises as their own product's, and how many products have another product at or above it (each would hide the other from a photo of it).</summary>
public sealed record SamePhotoPoint(double Threshold, double Recognised, int ProductsWithTwin);

/// <summary>
/// What the same-photo threshold (<see cref="FusionOptions.SamePhoto"/>) must separate, measured: catalog pictures sent
/// back as a shopper would (re-encoded, scaled) against their own product, and every product against its nearest other
/// product (variants such as a mirrored magnifying glass are other products and must stay).
/// </summary>
public sealed record SamePhotoReport(double Threshold, IReadOnlyList<SamePhotoVariant> ReEncoded, int Products, double NearestOtherMax,
    double NearestOtherP99, int NearestOtherAtThreshold)
{
    /// <summary>The share of re-encoded pictures the threshold recognises as their product's own, all variants together.</summary>
    public double Recognised { get; init; }

    /// <summary>Both sides at other thresholds, to choose one by.</summary>
    public IReadOnlyList<SamePhotoPoint> Curve { get; init; } = [];

    /// <summary>The closest pairs of distinct products (titles), closest first: what a lower threshold would take for one photo.</summary>
    public IReadOnlyList<(string A, string B, double Score)> ClosestPairs { get; init; } = [];
}

public static class SamePhotoEval
{
    /// <summary>How many catalog pictures are re-encoded (spread over the catalog).</summary>
    public const int Sample = 200;

    private const int ClosestPairsShown = 10;

    private static readonly double[] Thresholds = [0.95, 0.955, 0.96, 0.965, 0.97, 0.975, 0.98, 0.99, 0.997];

    private static readonly (string Name, Func<NetVips.Image, byte[]> Encode)[] Variants =
    [
        ("JPEG quality 75 at 80 % scale (the composed-jpeg task's photos)", i => Resized(i, 0.8, x => x.JpegsaveBuffer(q: 75))),
        ("JPEG quality 60", i => Resized(i, 1, x => x.JpegsaveBuffer(q: 60))),
        ("JPEG quality 90", i => Resized(i, 1, x => x.JpegsaveBuffer(q: 90))),
        ("PNG at half scale", i => Resized(i, 0.5, x => x.PngsaveBuffer())),
    ];

    public static async Task<SamePhotoReport> RunAsync(ClipEncoder encoder, EvalIndex index, IReadOnlyList<CatalogProduct> catalog, double threshold,
        int? limit, CancellationToken ct)
    {
        var own = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var p in catalog)
        {
            if (await index.ImageEmbeddingAsync(p.Product.Id, ct) is { } vector)
                own[p.Product.Id] = vector;
        }

        var sample = EvalData.Spread(catalog.Where(p => own.ContainsKey(p.Product.Id) && File.Exists(p.ImagePath)).ToList(), Math.Min(limit ?? Sample, Sample));
        // Each picture is decoded once and written every way; photos[v][k] is sample[k] re-encoded by Variants[v].
        var photos = Variants.Select(_ => new List<byte[]>(sample.Count)).ToArray();
        foreach (var p in sample)
        {
            using var image = NetVips.Image.NewFromFile(p.ImagePath);
            for (var v = 0; v < Variants.Length; v++)
                photos[v].Add(Variants[v].Encode(image));
        }
        var variants = new List<SamePhotoVariant>();
        var all = new List<double>();
        for (var v = 0; v < Variants.Length; v++)
        {
            var vectors = encoder.EncodeImages(photos[v]);
            var scores = sample.Select((p, i) => Cosine(vectors[i], own[p.Product.Id])).Order().ToList();
            all.AddRange(scores);
            variants.Add(new SamePhotoVariant(Variants[v].Name, scores.Count, scores.Count == 0 ? 0 : scores[0], Percentile(scores, 0.05), Percentile(scores, 0.5)));
        }

        // Every pair once; each product's nearest other is the best of the pairs it is in.
        var ids = own.Keys.Order(StringComparer.Ordinal).ToList();
        var pairs = new List<(string A, string B, double Score)>(ids.Count * (ids.Count - 1) / 2);
        var best = new double[ids.Count];
        Array.Fill(best, double.NegativeInfinity);
        for (var a = 0; a < ids.Count; a++)
        {
            for (var b = a + 1; b < ids.Count; b++)
            {
                var score = Cosine(own[ids[a]], own[ids[b]]);
                pairs.Add((ids[a], ids[b], score));
                (best[a], best[b]) = (Math.Max(best[a], score), Math.Max(best[b], score));
            }
        }
        var nearest = best.Where(double.IsFinite).Order().ToList();
        var titles = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in catalog)
            titles.TryAdd(p.Product.Id, p.Product.Title);
        return new SamePhotoReport(threshold, variants, ids.Count, nearest.Count == 0 ? 0 : nearest[^1], Percentile(nearest, 0.99),
            nearest.Count(s => s >= threshold))
        {
            Recognised = Share(all, threshold),
            Curve = [.. Thresholds.Select(t => new SamePhotoPoint(t, Share(all, t), nearest.Count(s => s >= t)))],
            ClosestPairs = [.. pairs.OrderByDescending(p => p.Score).Take(ClosestPairsShown).Select(p => (titles[p.A], titles[p.B], p.Score))],
        };
    }

    private static double Share(List<double> scores, double threshold) => scores.Count == 0 ? 0 : scores.Count(s => s >= threshold) / (double)scores.Count;

    private static byte[] Resized(NetVips.Image image, double scale, Func<NetVips.Image, byte[]> save)
    {
        using var flat = image.HasAlpha() ? image.Flatten([255, 255, 255]) : image.Copy();
        using var sized = scale == 1 ? flat.Copy() : flat.Resize(scale);
        return save(sized);
    }

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
            (dot, na, nb) = (dot + a[i] * b[i], na + a[i] * a[i], nb + b[i] * b[i]);
        return na == 0 || nb == 0 ? 0 : dot / Math.Sqrt(na * nb);
    }

    /// <summary>The value below which <paramref name="p"/> of the sorted scores lie (nearest rank).</summary>
    private static double Percentile(IReadOnlyList<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}
