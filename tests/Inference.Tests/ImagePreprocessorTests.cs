using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using Platform.Inference.Imaging;
using Platform.Tests;

namespace Platform.Inference.Tests;

public sealed class ImagePreprocessorTests
{
    private const int S = 224;
    private const string Python = "/usr/bin/python3";

    // Parity with tests/Inference.Tests/reference_preprocess.py (PIL 9.4 BICUBIC + numpy float32), measured over the
    // 27 fixture products, in normalised units (one 8-bit level = 1/255/std ≈ 0.0142 to 0.0150); the same figures, per
    // image to the digits below, with Debian's libvips 8.14.1 and with the 8.18.7 that NetVips.Native bundles:
    //   mean |Δ| per image: 0.000054 to 0.000571 (p009, striped T-shirt), 0.000199 averaged over all images;
    //                       exactly 0 for p027 (no resize) and p010 (flat lossless WebP)
    //   max |Δ|:            0.0450 (p024, the upscaled one: 3 levels of G), 0.0427 (p007, 3 levels); 1 to 2 levels elsewhere
    // Decoding (the same libjpeg-turbo, libpng and libwebp underneath) and normalisation agree bit for bit where
    // nothing is resampled (p027); what is left is the resampler's arithmetic (libvips' float kernels vs PIL's 22-bit
    // fixed point, and one 2-D affine vs PIL's two clipped passes when upscaling). The bounds sit a little above the
    // worst seen (max: 4 levels of the channel with the smallest std).
    private const double MeanAbsBound = 0.001;
    private const double MaxAbsBound = 0.06;

    private static readonly ImagePreprocessor Preprocessor = new(ImagePreprocessOptions.ForClip(S));
    private static readonly string Fixtures = RepoPaths.InRepo("tests", "fixtures", "products");

    private static string[] FixtureImages() =>
        Directory.GetFiles(Fixtures)
            .Where(f => Path.GetExtension(f) is ".jpg" or ".png" or ".webp" or ".gif")
            .OrderBy(f => f, StringComparer.Ordinal)
            .ToArray();

    private static float[] Run(byte[] encoded)
    {
        var tensor = new float[Preprocessor.TensorLength];
        Preprocessor.Preprocess(encoded, tensor);
        return tensor;
    }

    private static float[] RunFixture(string name) => Run(File.ReadAllBytes(Path.Combine(Fixtures, name)));

    /// <summary>The 8-bit value a normalised tensor entry came from.</summary>
    private static int Denormalise(float v, int channel) =>
        (int)Math.Round((v * ImagePreprocessOptions.ClipStd[channel] + ImagePreprocessOptions.ClipMean[channel]) * 255);

    private static (int R, int G, int B) PixelAt(float[] t, int x, int y) =>
        (Denormalise(t[y * S + x], 0), Denormalise(t[S * S + y * S + x], 1), Denormalise(t[2 * S * S + y * S + x], 2));

    [Fact]
    public async Task Parity_WithPythonReference()
    {
        Assert.SkipUnless(File.Exists(Python), $"{Python} is absent; the parity reference needs Debian's python3 with PIL and numpy.");
        var outDir = Directory.CreateTempSubdirectory("preprocess-parity-").FullName;
        try
        {
            var script = RepoPaths.InRepo("tests", "Inference.Tests", "reference_preprocess.py");
            var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { script, Fixtures, outDir, "--size", S.ToString(System.Globalization.CultureInfo.InvariantCulture) })
                psi.ArgumentList.Add(arg);
            using var process = Process.Start(psi)!;
            var ct = TestContext.Current.CancellationToken;
            var stderrTask = process.StandardError.ReadToEndAsync(ct);
            var stdout = await process.StandardOutput.ReadToEndAsync(ct);
            await process.WaitForExitAsync(ct);
            var stderr = await stderrTask;
            Assert.SkipWhen(process.ExitCode == 3, $"{Python} cannot run the reference: {stderr.Trim()}");
            Assert.True(process.ExitCode == 0, $"reference_preprocess.py failed ({process.ExitCode}): {stdout}\n{stderr}");

            var report = new StringBuilder();
            double sumMean = 0, worstMean = 0, worstMax = 0;
            var images = FixtureImages();
            foreach (var path in images)
            {
                var name = Path.GetFileName(path);
                var expected = ReadF32(Path.Combine(outDir, name + ".f32"));
                Assert.Equal(Preprocessor.TensorLength, expected.Length);
                var actual = Run(File.ReadAllBytes(path));
                double sum = 0, max = 0;
                for (var i = 0; i < actual.Length; i++)
                {
                    var d = Math.Abs((double)actual[i] - expected[i]);
                    sum += d;
                    max = Math.Max(max, d);
                }
                var mean = sum / actual.Length;
                sumMean += mean;
                worstMean = Math.Max(worstMean, mean);
                worstMax = Math.Max(worstMax, max);
                report.AppendLine(System.Globalization.CultureInfo.InvariantCulture, $"{name,-10} mean|d|={mean:F6} max|d|={max:F5}");
            }
            report.AppendLine(System.Globalization.CultureInfo.InvariantCulture,
                $"all {images.Length}: mean of means={sumMean / images.Length:F6} worst mean={worstMean:F6} worst max={worstMax:F5}");
            TestContext.Current.TestOutputHelper?.WriteLine(report.ToString());

            Assert.True(worstMean <= MeanAbsBound && worstMax <= MaxAbsBound,
                $"parity outside the bounds (mean {MeanAbsBound}, max {MaxAbsBound}):\n{report}");
        }
        finally
        {
            Directory.Delete(outDir, recursive: true);
        }
    }

    private static float[] ReadF32(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var floats = new float[bytes.Length / 4];
        for (var i = 0; i < floats.Length; i++)
            floats[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * 4));
        return floats;
    }

    [Fact]
    public void EveryFixture_DecodesToATensorOfTheRightLength()
    {
        Assert.Equal(3 * S * S, Preprocessor.TensorLength);
        var images = FixtureImages();
        Assert.True(images.Length >= 24, $"only {images.Length} fixture images in {Fixtures}");
        var formats = new HashSet<string>();
        foreach (var path in images)
        {
            var bytes = File.ReadAllBytes(path);
            var info = Preprocessor.Probe(bytes);
            var expectedFormat = Path.GetExtension(path) switch { ".jpg" => "jpeg", var e => e[1..] };
            Assert.Equal(expectedFormat, info.Format);
            Assert.True(info.Width >= 100 && info.Height >= 100, $"{path}: {info}");
            formats.Add(info.Format);

            var tensor = Run(bytes);
            Assert.Equal(3 * S * S, tensor.Length);
            for (var c = 0; c < 3; c++)
            {
                var lo = (0 - ImagePreprocessOptions.ClipMean[c]) / ImagePreprocessOptions.ClipStd[c];
                var hi = (1 - ImagePreprocessOptions.ClipMean[c]) / ImagePreprocessOptions.ClipStd[c];
                for (var i = c * S * S; i < (c + 1) * S * S; i++)
                    Assert.InRange(tensor[i], lo - 1e-5f, hi + 1e-5f);
            }
        }
        Assert.Equal(["gif", "jpeg", "png", "webp"], formats.Order());
    }

    [Fact]
    public void Probe_ReportsTheFirstFrameSize()
    {
        Assert.Equal(new ImageInfo("png", 180, 150), Preprocessor.Probe(File.ReadAllBytes(Path.Combine(Fixtures, "p024.png"))));
        Assert.Equal(new ImageInfo("gif", 300, 360), Preprocessor.Probe(File.ReadAllBytes(Path.Combine(Fixtures, "p025.gif"))));
        Assert.Equal(new ImageInfo("webp", 320, 240), Preprocessor.Probe(File.ReadAllBytes(Path.Combine(Fixtures, "p026.webp"))));
        Assert.Equal(new ImageInfo("jpeg", 440, 330), Preprocessor.Probe(File.ReadAllBytes(Path.Combine(Fixtures, "p012.jpg"))));
    }

    [Fact]
    public void PreprocessWithInfo_GivesTheHeaderAndTheSameTensor_InOneCall()
    {
        foreach (var name in new[] { "p024.png", "p025.gif", "p026.webp", "p012.jpg", "p027.jpg" })
        {
            var bytes = File.ReadAllBytes(Path.Combine(Fixtures, name));
            var result = Preprocessor.PreprocessWithInfo(bytes);
            Assert.Equal(Preprocessor.Probe(bytes), result.Info);
            Assert.Equal(Run(bytes), result.Tensor);

            var into = new float[Preprocessor.TensorLength];
            Assert.Equal(result.Info, Preprocessor.PreprocessWithInfo(bytes, into));
            Assert.Equal(result.Tensor, into);
        }

        var jpeg = File.ReadAllBytes(Path.Combine(Fixtures, "p005.jpg"));
        var e = Assert.Throws<ImageRejectedException>(() => Preprocessor.PreprocessWithInfo(jpeg.AsSpan(0, jpeg.Length / 2)));
        Assert.Equal(ImageRejectReason.Corrupt, e.Reason);
    }

    [Fact]
    public void TransparentPixels_BecomeWhite()
    {
        // p011: RGBA sunglasses on a fully transparent background; the crop's top corners are background.
        var t = RunFixture("p011.png");
        foreach (var (x, y) in new[] { (0, 0), (S - 1, 0), (0, 5), (S / 2, 2) })
        {
            for (var c = 0; c < 3; c++)
            {
                var white = (1f - ImagePreprocessOptions.ClipMean[c]) / ImagePreprocessOptions.ClipStd[c];
                Assert.Equal(white, t[c * S * S + y * S + x], 1e-5f);
            }
        }
    }

    [Fact]
    public void AnimatedImages_UseTheFirstFrame()
    {
        // p025.gif: frame 1 is a yellow bulb (255,215,0), frame 2 a blue one (0,90,255); the bulb's glass is at the
        // centre of the crop.
        var (r, g, b) = PixelAt(RunFixture("p025.gif"), S / 2, S / 2 - 20);
        Assert.True(r > 220 && g > 180 && b < 60, $"expected the first frame's yellow, got ({r},{g},{b})");

        // p026.webp: frame 1 a red light (230,30,30), frame 2 green (30,200,60).
        (r, g, b) = PixelAt(RunFixture("p026.webp"), S / 2, S / 2);
        Assert.True(r > 190 && g < 80 && b < 80, $"expected the first frame's red, got ({r},{g},{b})");
    }

    [Fact]
    public void Grayscale_GivesThreeEqualChannels()
    {
        var t = RunFixture("p012.jpg");
        var distinct = new HashSet<int>();
        for (var y = 0; y < S; y++)
        {
            for (var x = 0; x < S; x++)
            {
                var (r, g, b) = PixelAt(t, x, y);
                Assert.True(r == g && g == b, $"({x},{y}) = ({r},{g},{b})");
                distinct.Add(r);
            }
        }
        Assert.True(distinct.Count > 10, "a drawing, not a flat image");
    }

    [Fact]
    public void SixteenBitPng_BecomesEightBitSrgb()
    {
        // 16-bit RGB and 16-bit grey, already S×S (no resampling): value v·257 must come out as v.
        var rgb = TestImages.Png(S, S, bitDepth: 16, colorType: 2, (x, y) => [200 * 257, 100 * 257, 30 * 257]);
        var t = Run(rgb);
        Assert.Equal((200, 100, 30), PixelAt(t, 7, 9));
        Assert.Equal((200, 100, 30), PixelAt(t, S - 1, S - 1));

        var grey = TestImages.Png(S, S, bitDepth: 16, colorType: 0, (x, y) => [77 * 257]);
        Assert.Equal((77, 77, 77), PixelAt(Run(grey), 100, 100));

        // 8-bit grey + alpha: alpha 0 over white is white whatever the grey says.
        var greyAlpha = TestImages.Png(S, S, bitDepth: 8, colorType: 4, (x, y) => [10, x < S / 2 ? 0 : 255]);
        var ga = Run(greyAlpha);
        Assert.Equal((255, 255, 255), PixelAt(ga, 3, 3));
        Assert.Equal((10, 10, 10), PixelAt(ga, S - 3, 3));
    }

    [Fact]
    public void EmptyInput_IsRejectedAsEmpty()
    {
        var e = Assert.Throws<ImageRejectedException>(() => Preprocessor.Preprocess([], new float[Preprocessor.TensorLength]));
        Assert.Equal(ImageRejectReason.Empty, e.Reason);
        Assert.Equal(ImageRejectReason.Empty, Assert.Throws<ImageRejectedException>(() => Preprocessor.Probe([])).Reason);
    }

    [Fact]
    public void RandomBytes_AreAnUnsupportedFormat()
    {
        var bytes = new byte[4096];
        new Random(1234).NextBytes(bytes);
        var e = Assert.Throws<ImageRejectedException>(() => Run(bytes));
        Assert.Equal(ImageRejectReason.UnsupportedFormat, e.Reason);
        Assert.Contains("JPEG, PNG, WebP", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bmp_IsAnUnsupportedFormat_NamedInTheMessage()
    {
        var e = Assert.Throws<ImageRejectedException>(() => Run(TestImages.Bmp(4, 3)));
        Assert.Equal(ImageRejectReason.UnsupportedFormat, e.Reason);
        Assert.Contains("BMP", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tiff_IsAnUnsupportedFormat_NamedInTheMessage()
    {
        var e = Assert.Throws<ImageRejectedException>(() => Preprocessor.Probe(TestImages.Tiff(4, 3)));
        Assert.Equal(ImageRejectReason.UnsupportedFormat, e.Reason);
        Assert.Contains("TIFF", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TruncatedJpeg_IsCorrupt()
    {
        var jpeg = File.ReadAllBytes(Path.Combine(Fixtures, "p005.jpg"));
        var truncated = jpeg.AsSpan(0, jpeg.Length / 2).ToArray();
        Assert.Equal("jpeg", Preprocessor.Probe(truncated).Format); // the header is intact
        var e = Assert.Throws<ImageRejectedException>(() => Run(truncated));
        Assert.Equal(ImageRejectReason.Corrupt, e.Reason);
        Assert.Contains("jpeg", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TruncatedPng_IsCorrupt()
    {
        var png = File.ReadAllBytes(Path.Combine(Fixtures, "p016.png"));
        var e = Assert.Throws<ImageRejectedException>(() => Run(png.AsSpan(0, png.Length * 2 / 3).ToArray()));
        Assert.Equal(ImageRejectReason.Corrupt, e.Reason);
    }

    [Fact]
    public void DecompressionBomb_IsTooLarge_FromTheHeader()
    {
        // IHDR claims 30000x30000 RGB (2.7 GB decoded); the data behind it is a token IDAT.
        var bomb = TestImages.PngClaiming(30000, 30000);
        Assert.True(bomb.Length < 200);
        var before = Process.GetCurrentProcess().WorkingSet64;
        var watch = Stopwatch.StartNew();

        var e = Assert.Throws<ImageRejectedException>(() => Preprocessor.Preprocess(bomb, new float[Preprocessor.TensorLength]));
        Assert.Equal(ImageRejectReason.TooLarge, e.Reason);
        Assert.Contains("30000x30000", e.Message, StringComparison.Ordinal);
        Assert.Contains("900,000,000", e.Message, StringComparison.Ordinal);
        Assert.Contains("40,000,000", e.Message, StringComparison.Ordinal);
        Assert.Equal(ImageRejectReason.TooLarge, Assert.Throws<ImageRejectedException>(() => Preprocessor.Probe(bomb)).Reason);

        watch.Stop();
        var grown = Process.GetCurrentProcess().WorkingSet64 - before;
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"took {watch.Elapsed}");
        Assert.True(grown < 256L << 20, $"working set grew by {grown:N0} bytes");
    }

    [Fact]
    public void MaxPixels_IsConfigurable()
    {
        var strict = new ImagePreprocessor(ImagePreprocessOptions.ForClip(S, maxPixels: 100_000));
        var e = Assert.Throws<ImageRejectedException>(() => strict.Probe(File.ReadAllBytes(Path.Combine(Fixtures, "p005.jpg"))));
        Assert.Equal(ImageRejectReason.TooLarge, e.Reason);
        Assert.Equal("image is 640x480 = 307,200 pixels; the limit is 100,000", e.Message);
    }

    [Fact]
    public void DestinationTooSmall_Throws()
    {
        var bytes = File.ReadAllBytes(Path.Combine(Fixtures, "p001.jpg"));
        Assert.Throws<ArgumentException>(() => Preprocessor.Preprocess(bytes, new float[Preprocessor.TensorLength - 1]));
    }

    [Fact]
    public void ReusedBuffer_GivesTheNewImage()
    {
        // The operation cache is off: a pooled buffer refilled with another image must not return the old result.
        var a = File.ReadAllBytes(Path.Combine(Fixtures, "p001.jpg"));
        var b = File.ReadAllBytes(Path.Combine(Fixtures, "p013.jpg"));
        var buffer = new byte[Math.Max(a.Length, b.Length)];
        var tensor = new float[Preprocessor.TensorLength];

        a.CopyTo(buffer, 0);
        Preprocessor.Preprocess(buffer.AsSpan(0, a.Length), tensor);
        Assert.Equal(Run(a), tensor);

        Array.Clear(buffer);
        b.CopyTo(buffer, 0);
        Preprocessor.Preprocess(buffer.AsSpan(0, b.Length), tensor);
        Assert.Equal(Run(b), tensor);
    }

    [Fact]
    public async Task ConcurrentPreprocess_MatchesSerial()
    {
        var images = FixtureImages().Select(File.ReadAllBytes).ToArray();
        var serial = images.Select(Run).ToArray();

        var tasks = Enumerable.Range(0, 8).Select(k => Task.Run(() =>
        {
            var results = new float[images.Length][];
            for (var round = 0; round < 2; round++)
            {
                for (var j = 0; j < images.Length; j++)
                {
                    var i = (j + k * 3) % images.Length; // each task walks the images in a different order
                    results[i] = Run(images[i]);
                }
            }
            return results;
        }, TestContext.Current.CancellationToken)).ToArray();

        foreach (var results in await Task.WhenAll(tasks))
        {
            for (var i = 0; i < images.Length; i++)
                Assert.True(serial[i].AsSpan().SequenceEqual(results[i]), $"image {i} differs under concurrency");
        }
    }
}
