using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Platform.Catalog;
using Platform.Contracts;
using Platform.Encoder;
using Platform.Inference;
using Platform.Search;
using Platform.VectorStore.Embedded;

namespace Platform.Cli;

/// <summary>
/// <c>platform bench seed</c>: a generated catalog of any size in a data directory, for latency at scale, without
/// encoding every product: the demo catalog is encoded once, and product i is demo product i mod 849 under a new id
/// and title ("…, no. 3"), a price moved by up to ±20 %, and its embeddings moved by a little noise (renormalised),
/// so no two points coincide. Written as the platform writes them (catalog rows marked indexed, points through
/// <see cref="ProductIndex"/>); <c>platform serve --data DIR</c> then serves it, and DIR/generated.jsonl lists it for
/// <c>platform bench http --catalog</c>.
/// </summary>
public static class SeedBench
{
    public static Command Create()
    {
        var data = new Option<DirectoryInfo>("--data") { Description = "Data directory to fill (must be empty or absent)", Required = true };
        var count = new Option<int>("--count") { Description = "Products to generate", DefaultValueFactory = _ => 100_000 };
        var model = new Option<DirectoryInfo?>("--model") { Description = "Model package folder (default: the bundled one)" };
        var command = new Command("seed", "Fill a data directory with a generated catalog (the demo catalog's products repeated, embeddings jittered)") { data, count, model };
        command.SetAction(async (result, ct) =>
            await RunAsync(result.GetValue(data)!, result.GetValue(count), result.GetValue(model)?.FullName ?? ModelLocator.Default(), ct));
        return command;
    }

    private static async Task RunAsync(DirectoryInfo data, int count, string modelDirectory, CancellationToken ct)
    {
        if (data.Exists && data.EnumerateFileSystemInfos().Any())
            throw new ArgumentException($"{data.FullName} is not empty");
        data.Create();
        var catalogFile = DemoCatalogLocator.Default() ?? throw new FileNotFoundException("the bundled demo catalog is missing");
        var demo = CatalogFile.Read(catalogFile).Where(l => l.Product is not null && l.ImagePath is not null).ToList();
        using var host = new EncoderHost(modelDirectory, "cpu");
        var encoder = await host.GetAsync(ct);
        var images = demo.Select(l => File.ReadAllBytes(l.ImagePath!)).ToList();
        var imageVectors = new List<float[]>();
        var textVectors = new List<float[]>();
        foreach (var batch in Enumerable.Range(0, demo.Count).Chunk(32))
        {
            var tensors = encoder.PreprocessImages([.. batch.Select(i => images[i])]).Select(p => p.Tensor ?? throw new InvalidDataException(p.Error!.Message)).ToList();
            imageVectors.AddRange(encoder.EncodePreprocessedImages(tensors));
            var texts = ProductText.Batch.Of(batch.Select(i => demo[i].Product!));
            textVectors.AddRange(texts.Vectors(encoder.EncodeTexts(texts.Texts)));
        }

        var clock = Stopwatch.StartNew();
        var random = new Random(11);
        var catalog = new SqliteProductCatalog(Path.Combine(data.FullName, "catalog.db"));
        using var store = EmbeddedVectorStore.Open(Path.Combine(data.FullName, "vectors"));
        var index = new ProductIndex(store, new ProductIndex.Settings(encoder.Dimension));
        await using var listing = new StreamWriter(Path.Combine(data.FullName, "generated.jsonl"));
        var json = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        foreach (var chunk in Enumerable.Range(0, count).Chunk(1000))
        {
            var points = new List<ProductEmbedded>(chunk.Length);
            foreach (var i in chunk)
            {
                var j = i % demo.Count;
                var source = demo[j].Product!;
                var product = source with
                {
                    Id = $"gen-{i:D6}",
                    Title = i < demo.Count ? source.Title : $"{source.Title}, no. {i / demo.Count + 1}",
                    Price = source.Price is { } price ? Math.Round(price * (decimal)(0.8 + 0.4 * random.NextDouble()), 2) : null,
                };
                var hash = ContentHash.Compute(product, images[j]);
                await catalog.RecordIngestAsync(product, images[j], hash, ct);
                await catalog.MarkIndexedAsync(product.Id, hash, ct);
                points.Add(new ProductEmbedded(product, hash, encoder.Package.Name, Jitter(imageVectors[j], random), Jitter(textVectors[j], random)));
                await listing.WriteLineAsync(JsonSerializer.Serialize(new
                {
                    product.Id, product.Title, product.Description, product.Category, product.Price, product.Attributes, image = demo[j].ImagePath,
                }, json));
            }
            await index.UpsertManyAsync(points, ct);
            Console.WriteLine($"{chunk[^1] + 1:N0} of {count:N0} products, {clock.Elapsed.TotalSeconds:0} s");
        }
        Console.WriteLine($"seeded {count:N0} products into {data.FullName} in {clock.Elapsed.TotalSeconds:0} s; serve it with: platform serve --data {data.FullName} --no-demo");
    }

    private static float[] Jitter(float[] vector, Random random)
    {
        var moved = vector.Select(v => v + (float)(0.02 * (random.NextDouble() * 2 - 1))).ToArray();
        var norm = (float)Math.Sqrt(moved.Sum(v => (double)v * v));
        return [.. moved.Select(v => v / norm)];
    }
}
