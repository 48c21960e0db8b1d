using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Platform.Inference;
using Platform.Inference.Torch;

namespace Platform.Cli;

/// <summary><c>platform bench encode</c>: encoder throughput (images/s, texts/s) at chosen batch sizes.</summary>
public static class BenchCommand
{
    private static readonly string[] SampleTexts =
    [
        "red ceramic coffee mug", "wireless noise cancelling headphones", "running shoes for men", "跑步鞋",
        "a warm wool scarf for winter", "stainless steel water bottle 750ml", "kids wooden toy train set", "送给孩子的礼物",
    ];

    public static Command Create()
    {
        var model = new Option<DirectoryInfo?>("--model") { Description = "Model package folder (default: the bundled one)" };
        var device = new Option<string>("--device") { Description = "cpu, cuda:0, ...", DefaultValueFactory = _ => "cpu" };
        var batches = new Option<int[]>("--batch") { Description = "Batch sizes to measure (repeatable)", DefaultValueFactory = _ => [1, 32], AllowMultipleArgumentsPerToken = true };
        var seconds = new Option<double>("--seconds") { Description = "Measuring time per case", DefaultValueFactory = _ => 5 };
        var images = new Option<DirectoryInfo?>("--images") { Description = "Folder of images to encode (default: tests/fixtures/products)" };
        var threads = new Option<int>("--threads") { Description = "Intra-op threads for libtorch (0: its default)" };
        var json = new Option<bool>("--json") { Description = "One JSON line per case" };
        var encode = new Command("encode", "Measure image and text encode throughput") { model, device, batches, seconds, images, threads, json };
        encode.SetAction(result =>
        {
            if (result.GetValue(threads) is > 0 and var t)
                TorchRuntime.SetNumThreads(t);
            var package = ModelPackage.Load(result.GetValue(model)?.FullName ?? ModelLocator.Default());
            using var encoder = ClipEncoder.Load(package, result.GetValue(device)!);
            var files = LoadImages(result.GetValue(images));
            var budget = TimeSpan.FromSeconds(result.GetValue(seconds));
            var asJson = result.GetValue(json);
            if (!asJson)
                Console.WriteLine($"model {package.Name} ({package.EmbeddingDim}-d, {package.ImageSize}px) on {encoder.Device}, libtorch threads {TorchRuntime.NumThreads}, {files.Count} distinct images");

            foreach (var batch in result.GetValue(batches)!)
            {
                var imageBatch = Enumerable.Range(0, batch).Select(i => files[i % files.Count]).ToList();
                var tensors = imageBatch.ConvertAll(b => encoder.PreprocessImage(b));
                var textBatch = Enumerable.Range(0, batch).Select(i => SampleTexts[i % SampleTexts.Length]).ToList();

                var tower = Measure(budget, batch, () => encoder.EncodePreprocessedImages(tensors));
                var endToEnd = Measure(budget, batch, () => encoder.EncodeImages(imageBatch));
                var text = Measure(budget, batch, () => encoder.EncodeTexts(textBatch));
                if (asJson)
                {
                    Console.WriteLine(JsonSerializer.Serialize(new
                    {
                        model = package.Name, device = encoder.Device, batch,
                        images_per_second_tower = tower, images_per_second_with_decode = endToEnd, texts_per_second = text,
                    }));
                }
                else
                {
                    Console.WriteLine($"batch {batch,3}: images/s {tower,9:F1} (tower)  {endToEnd,9:F1} (decode+preprocess+tower)   texts/s {text,9:F1}");
                }
            }
            return 0;
        });
        return new Command("bench", "Benchmarks") { encode, IndexBench.Create(), QueryBench.Create() };
    }

    /// <summary>Items per second over repeated calls for about <paramref name="budget"/>, after one warm-up call.</summary>
    private static double Measure(TimeSpan budget, int itemsPerCall, Action call)
    {
        call();
        var calls = 0;
        var watch = Stopwatch.StartNew();
        do
        {
            call();
            calls++;
        } while (watch.Elapsed < budget);
        return calls * itemsPerCall / watch.Elapsed.TotalSeconds;
    }

    private static List<byte[]> LoadImages(DirectoryInfo? folder)
    {
        var dir = folder?.FullName;
        if (dir is null)
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null && dir is null; d = d.Parent)
            {
                var candidate = Path.Combine(d.FullName, "tests", "fixtures", "products");
                if (Directory.Exists(candidate))
                    dir = candidate;
            }
        }
        if (dir is null || !Directory.Exists(dir))
            throw new DirectoryNotFoundException("no images to encode: pass --images DIR");
        var files = Directory.EnumerateFiles(dir)
            .Where(f => Path.GetExtension(f).ToLowerInvariant() is ".jpg" or ".jpeg" or ".png" or ".webp" or ".gif")
            .Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToList();
        return files.Count > 0 ? files : throw new FileNotFoundException($"no JPEG, PNG, WebP or GIF images in {dir}");
    }
}
