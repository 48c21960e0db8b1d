using Platform.VectorStore;
using Platform.VectorStore.Embedded;

namespace Platform.VectorStore.Tests;

/// <summary>Int8 scalar quantisation: the kernels against plain arithmetic, the quantiser, and the index with it on.</summary>
public sealed class Sq8Tests
{
    public static TheoryData<int> Lengths => [1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 100, 512, 1000];

    private static byte[] Codes(Random random, int n) => [.. Enumerable.Range(0, n).Select(_ => (byte)random.Next(256))];

    private static float[] Floats(Random random, int n, float lo, float hi) =>
        [.. Enumerable.Range(0, n).Select(_ => lo + (float)random.NextDouble() * (hi - lo))];

    [Theory]
    [MemberData(nameof(Lengths))]
    public unsafe void Integer_kernels_are_exact(int n)
    {
        var random = new Random(n);
        var a = Codes(random, n);
        var b = Codes(random, n);
        long l2 = 0, dot = 0;
        for (var i = 0; i < n; i++)
        {
            l2 += (a[i] - b[i]) * (a[i] - b[i]);
            dot += a[i] * b[i];
        }
        fixed (byte* pa = a, pb = b)
        {
            Assert.Equal((uint)l2, VectorMath.L2SquaredU8(pa, pb, n));
            Assert.Equal((uint)dot, VectorMath.DotU8(pa, pb, n));
        }
    }

    [Fact]
    public unsafe void Integer_kernels_do_not_overflow_at_the_largest_dimension()
    {
        const int n = CollectionSchema.MaxDimension;
        var zeros = new byte[n];
        var full = Enumerable.Repeat((byte)255, n).ToArray();
        fixed (byte* z = zeros, f = full)
        {
            Assert.Equal(255u * 255u * n, VectorMath.L2SquaredU8(z, f, n));
            Assert.Equal(255u * 255u * n, VectorMath.DotU8(f, f, n));
            Assert.Equal(0u, VectorMath.DotU8(z, f, n));
        }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public unsafe void Asymmetric_kernels_agree_with_plain_arithmetic(int n)
    {
        var random = new Random(1000 + n);
        var q = Floats(random, n, -1, 1);
        var scale = Floats(random, n, 0.001f, 0.01f);
        var c = Codes(random, n);
        double l2 = 0, dot = 0;
        for (var i = 0; i < n; i++)
        {
            var d = (double)q[i] - (double)scale[i] * c[i];
            l2 += d * d;
            dot += (double)q[i] * c[i];
        }
        fixed (float* pq = q, ps = scale)
        fixed (byte* pc = c)
        {
            Assert.Equal(l2, VectorMath.L2SquaredSq8(pq, pc, ps, n), Math.Max(1e-3, l2 * 1e-5));
            Assert.Equal(dot, VectorMath.DotSq8(pq, pc, n), Math.Max(1e-3, Math.Abs(dot) * 1e-5));
        }
    }

    [Fact]
    public unsafe void Quantiser_round_trips_within_half_a_step_and_clamps_outliers()
    {
        const int dim = 37, count = 500;
        var random = new Random(5);
        var sample = Floats(random, dim * count, -0.3f, 0.7f);
        sample[3] = 50; // an outlier in dimension 3, cut off by the clip fraction
        using var quantizer = ScalarQuantizer.Train(sample, dim, clipFraction: 0.01);
        Assert.True(quantizer.Scales[3] < 0.01f, $"outlier widened the range: scale {quantizer.Scales[3]}");

        var codes = new byte[quantizer.RowBytes];
        var decoded = new float[dim];
        fixed (float* ps = sample, pd = decoded)
        fixed (byte* pc = codes)
        {
            for (var row = 1; row < count; row++)
            {
                quantizer.Encode(ps + row * dim, pc);
                quantizer.Decode(pc, pd);
                for (var j = 0; j < dim; j++)
                {
                    var lo = quantizer.Offsets[j];
                    var hi = lo + 255 * quantizer.Scales[j];
                    var x = Math.Clamp(sample[row * dim + j], lo, hi);
                    Assert.True(Math.Abs(decoded[j] - x) <= quantizer.Scales[j] * 0.5f + 1e-6f, $"row {row} dim {j}: {sample[row * dim + j]} -> {decoded[j]}");
                }
            }
            quantizer.Encode(ps, pc);
            Assert.Equal(255, codes[3]);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public unsafe void Prepared_queries_give_the_distance_to_the_decoded_vector(bool innerProduct)
    {
        const int dim = 70;
        var random = new Random(innerProduct ? 1 : 2);
        var sample = Floats(random, dim * 200, -1, 1);
        using var quantizer = ScalarQuantizer.Train(sample, dim, clipFraction: 0);
        var query = Floats(random, dim, -1, 1);
        var prepared = new float[dim];
        var codes = new byte[quantizer.RowBytes];
        var decoded = new float[dim];
        fixed (float* ps = sample, pq = query, pp = prepared, pd = decoded)
        fixed (byte* pc = codes)
        {
            quantizer.PrepareQuery(pq, pp, innerProduct, out var bias);
            for (var row = 0; row < 20; row++)
            {
                quantizer.Encode(ps + row * dim, pc);
                quantizer.Decode(pc, pd);
                double expected = 0;
                for (var j = 0; j < dim; j++)
                    expected += innerProduct ? (double)query[j] * decoded[j] : ((double)query[j] - decoded[j]) * ((double)query[j] - decoded[j]);
                var actual = innerProduct ? bias + VectorMath.DotSq8(pp, pc, dim) : VectorMath.L2SquaredSq8(pp, pc, quantizer.Scale, dim);
                Assert.Equal(expected, actual, 1e-3);
            }
        }
    }

    [Fact]
    public unsafe void A_single_scale_makes_integer_code_distances_exact_L2_between_decoded_vectors()
    {
        const int dim = 45;
        var random = new Random(9);
        var sample = Floats(random, dim * 300, -1, 1);
        for (var i = 0; i < sample.Length; i += dim)
            sample[i] *= 3; // one dimension with a wider range sets the common scale
        using var quantizer = ScalarQuantizer.Train(sample, dim, clipFraction: 0.01, singleScale: true);
        Assert.All(quantizer.Scales.ToArray(), s => Assert.Equal(quantizer.Scales[0], s));
        var a = new byte[quantizer.RowBytes];
        var b = new byte[quantizer.RowBytes];
        var da = new float[dim];
        var db = new float[dim];
        fixed (float* ps = sample, pa = da, pb = db)
        fixed (byte* ca = a, cb = b)
        {
            for (var row = 0; row < 20; row++)
            {
                quantizer.Encode(ps + row * dim, ca);
                quantizer.Encode(ps + (row + 100) * dim, cb);
                quantizer.Decode(ca, pa);
                quantizer.Decode(cb, pb);
                var s = quantizer.Scales[0];
                Assert.Equal(VectorMath.L2Squared(pa, pb, dim), s * s * VectorMath.L2SquaredU8(ca, cb, dim), 1e-3);
            }
        }
    }

    [Theory]
    [InlineData(Distance.Euclid, false, false)]
    [InlineData(Distance.Cosine, false, false)]
    [InlineData(Distance.Dot, false, false)]
    [InlineData(Distance.Euclid, true, false)]
    [InlineData(Distance.Cosine, true, false)]
    [InlineData(Distance.Euclid, false, true)]
    [InlineData(Distance.Cosine, true, true)]
    [InlineData(Distance.Dot, false, true)]
    public void Quantised_search_keeps_recall_on_clustered_data(Distance distance, bool buildOnCodes, bool symmetric)
    {
        const int dim = 48, n = 4000, k = 10;
        var data = HnswIndexTests.Clustered(n + 200, dim, clusters: 40, seed: 7);
        // Learnt automatically from the first 1,000 vectors; the rest are encoded as they arrive.
        using var index = new HnswIndex(dim, distance, m: 12, efConstruction: 100,
            new ScalarQuantization(TrainingSize: 1000, BuildOnCodes: buildOnCodes, Rescore: 32, Symmetric: symmetric));
        for (var i = 0; i < n; i++)
        {
            index.Add(data[i]);
            Assert.Equal(i + 1 >= 1000, index.IsQuantized);
        }
        Assert.True(index.CodeBytes > 0);
        Assert.Equal(index.MemoryBytes, index.VectorBytes + index.CodeBytes + (index.MemoryBytes - index.VectorBytes - index.CodeBytes));

        var hits = 0;
        Span<int> exact = stackalloc int[k], approx = stackalloc int[k];
        Span<float> exactScores = stackalloc float[k], scores = stackalloc float[k];
        for (var q = n; q < n + 200; q++)
        {
            Assert.Equal(k, index.SearchExact(data[q], k, exact, exactScores));
            Assert.Equal(k, index.Search(data[q], k, 64, approx, scores, out var distances, out var rescored));
            Assert.True(distances > 0);
            Assert.Equal(32, rescored);
            for (var i = 1; i < k; i++)
                Assert.True(distance == Distance.Euclid ? scores[i] >= scores[i - 1] : scores[i] <= scores[i - 1]);
            // Rescored scores are exact: the best one found can be no better than the true best.
            Assert.True(distance == Distance.Euclid ? scores[0] >= exactScores[0] - 1e-4f : scores[0] <= exactScores[0] + 1e-4f);
            foreach (var id in approx)
            {
                if (exact.Contains(id))
                    hits++;
            }
        }
        var recall = hits / (200.0 * k);
        Assert.True(recall >= 0.95, $"recall@10 {recall:F3} at ef 64 with SQ8");
    }

    [Fact]
    public void Quantisation_is_off_unless_asked_for()
    {
        using var index = new HnswIndex(8, Distance.Euclid);
        index.Add([1, 2, 3, 4, 5, 6, 7, 8]);
        Assert.False(index.IsQuantized);
        Assert.Equal(0, index.CodeBytes);
        Assert.Throws<InvalidOperationException>(() => index.TrainQuantizer(new float[8]));
        Assert.Equal(1, index.Search(new float[8], 1, 16, new int[1], new float[1], out _, out var rescored));
        Assert.Equal(0, rescored);
    }

    [Fact]
    public void Explicit_training_encodes_what_is_already_there()
    {
        const int dim = 16;
        var data = HnswIndexTests.Clustered(600, dim, clusters: 5, seed: 11);
        using var index = new HnswIndex(dim, Distance.Euclid, m: 8, efConstruction: 50, new ScalarQuantization());
        for (var i = 0; i < 500; i++)
            index.Add(data[i]);
        Assert.False(index.IsQuantized);
        index.TrainQuantizer(data.Take(500).SelectMany(v => v).ToArray());
        Assert.True(index.IsQuantized);
        for (var i = 500; i < 600; i++)
            index.Add(data[i]);
        // A stored vector finds itself first (its rescored distance is 0).
        var ids = new int[3];
        var scores = new float[3];
        foreach (var i in new[] { 0, 250, 499, 550, 599 })
        {
            Assert.Equal(3, index.Search(data[i], 3, 32, ids, scores));
            Assert.Equal(i, ids[0]);
            Assert.Equal(0, scores[0], 1e-3);
        }
    }
}
