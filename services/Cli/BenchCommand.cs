using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Platform.Inference;
using Platform.Inference.Onnx;

namespace Platform.Cli;

/// <summary><c>platform bench encode</c>: encoder throughput (images/s, texts/s) at chosen batch sizes and numbers of concurrent callers.</summary>
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
        var concurrency = new Option<string>("--concurrency") { Description = "Callers encoding at once on the shared encoder, each its own batches; a list measures each (e.g. 1,2,8)", DefaultValueFactory = _ => "1" };
        var seconds = new Option<double>("--seconds") { Description = "Measuring time per case", DefaultValueFactory = _ => 5 };
        var images = new Option<DirectoryInfo?>("--images") { Description = "Folder of images to encode (default: tests/fixtures/products)" };
        var threads = new Option<int>("--threads") { Description = $"ONNX Runtime intra-op threads per forward (0: its default; default {InferenceOptions.Default.IntraOpThreads})", DefaultValueFactory = _ => InferenceOptions.Default.IntraOpThreads };
        var interThreads = new Option<int>("--inter-threads") { Description = $"ONNX Runtime inter-op threads (default {InferenceOptions.Default.InterOpThreads})", DefaultValueFactory = _ => InferenceOptions.Default.InterOpThreads };
        var optimization = new Option<GraphOptimizationLevel>("--optimization") { Description = "ONNX Runtime graph optimisation level", DefaultValueFactory = _ => InferenceOptions.Default.GraphOptimization };
        var spinning = new Option<bool>("--spinning") { Description = "Let idle intra-op threads spin" };
        var json = new Option<bool>("--json") { Description = "One JSON line per case" };
        var encode = new Command("encode", "Measure image and text encode throughput")
        {
            model, device, batches, concurrency, seconds, images, threads, interThreads, optimization, spinning, json,
        };
        encode.SetAction(result =>
        {
            if (!TryParseList(result.GetValue(concurrency)!, out var callers))
            {
                Console.Error.WriteLine("--concurrency takes positive integers separated by commas, e.g. 1,2,8");
                return 2;
            }
            var options = new InferenceOptions
            {
                IntraOpThreads = result.GetValue(threads),
                InterOpThreads = result.GetValue(interThreads),
                GraphOptimization = result.GetValue(optimization),
                AllowSpinning = result.GetValue(spinning),
            };
            var package = ModelPackage.Load(result.GetValue(model)?.FullName ?? ModelLocator.Default());
            using var encoder = ClipEncoder.Load(package, result.GetValue(device)!, options: options);
            var files = LoadImages(result.GetValue(images));
            var budget = TimeSpan.FromSeconds(result.GetValue(seconds));
            var asJson = result.GetValue(json);
            if (!asJson)
            {
                Console.WriteLine(OnnxRuntimeInfo.Describe(encoder.Device));
                Console.WriteLine($"model {package.Name} ({package.EmbeddingDim}-d, {package.ImageSize}px) on {encoder.Device}, {options}, {files.Count} distinct images");
            }

            foreach (var batch in result.GetValue(batches)!)
            {
                foreach (var n in callers)
                {
                    // Each caller gets its own batch (its own slice of the images and texts), as concurrent requests would.
                    var imageBatches = Enumerable.Range(0, n)
                        .Select(c => Enumerable.Range(0, batch).Select(i => files[(c * batch + i) % files.Count]).ToList()).ToArray();
                    var tensorBatches = Array.ConvertAll(imageBatches, b => b.ConvertAll(x => encoder.PreprocessImage(x)));
                    var textBatches = Enumerable.Range(0, n)
                        .Select(c => Enumerable.Range(0, batch).Select(i => SampleTexts[(c * batch + i) % SampleTexts.Length]).ToList()).ToArray();

                    var tower = Measure(budget, batch, n, c => () => encoder.EncodePreprocessedImages(tensorBatches[c]));
                    var endToEnd = Measure(budget, batch, n, c => () => encoder.EncodeImages(imageBatches[c]));
                    var text = Measure(budget, batch, n, c => () => encoder.EncodeTexts(textBatches[c]));
                    if (asJson)
                    {
                        Console.WriteLine(JsonSerializer.Serialize(new
                        {
                            model = package.Name, device = encoder.Device, batch, concurrency = n,
                            intra_op_threads = options.IntraOpThreads, inter_op_threads = options.InterOpThreads,
                            images_per_second_tower = tower.PerSecond, images_per_second_with_decode = endToEnd.PerSecond, texts_per_second = text.PerSecond,
                            images_per_cpu_second_tower = tower.PerCpuSecond, images_per_cpu_second_with_decode = endToEnd.PerCpuSecond,
                            texts_per_cpu_second = text.PerCpuSecond,
                        }));
                    }
                    else
                    {
                        Console.WriteLine($"batch {batch,3}, concurrency {n,2}: images/s {tower.PerSecond,9:F1} (tower)  {endToEnd.PerSecond,9:F1} (decode+preprocess+tower)   texts/s {text.PerSecond,9:F1}");
                    }
                }
            }
            return 0;
        });
        return new Command("bench", "Benchmarks") { encode, IndexBench.Create(), QueryBench.Create(), HttpBench.Create(), SeedBench.Create() };
    }

    /// <summary>
    /// Aggregate items per second of <paramref name="callers"/> threads calling at once for about <paramref name="budget"/>,
    /// each after one warm-up call; the clock runs from the common start until the last caller's last call returns.
    /// Also per second of the process's CPU time over the same span: on a machine shared with other work the wall-clock
    /// rate follows the share of the cores this process gets, the CPU-time rate much less.
    /// </summary>
    private static Rate Measure(TimeSpan budget, int itemsPerCall, int callers, Func<int, Action> callFor)
    {
        var calls = new long[callers];
        var stop = 0;
        using var ready = new Barrier(callers + 1);
        var threads = new Thread[callers];
        for (var c = 0; c < callers; c++)
        {
            var caller = c;
            var call = callFor(caller);
            threads[c] = new Thread(() =>
            {
                call();
                ready.SignalAndWait();
                while (Volatile.Read(ref stop) == 0)
                {
                    call();
                    calls[caller]++;
                }
            }) { IsBackground = true, Name = $"bench caller {caller}" };
            threads[c].Start();
        }
        ready.SignalAndWait();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        Thread.Sleep(budget);
        Volatile.Write(ref stop, 1);
        foreach (var thread in threads)
            thread.Join();
        var items = (double)calls.Sum() * itemsPerCall;
        return new(items / watch.Elapsed.TotalSeconds, items / (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
    }

    private static bool TryParseList(string text, out int[] values)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        values = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out values[i]) || values[i] < 1)
                return false;
        }
        return parts.Length > 0;
    }

    /// <summary>Items per second of wall time, and per second of the process's CPU time (steadier when other work shares the machine).</summary>
    private readonly record struct Rate(double PerSecond, double PerCpuSecond);

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
