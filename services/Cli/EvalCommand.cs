using System.CommandLine;
using System.Diagnostics;
using System.Text;
using Platform.Cli.Eval;
using Platform.Inference;
using Platform.Retrieval;
using Platform.Search;
using Spectre.Console;

namespace Platform.Cli;

/// <summary>
/// <c>platform eval</c>: the search quality harness. Indexes the demo catalog exactly as the platform does (or asks a
/// running platform), runs the retrieval tasks through the fused search, the embeddings alone and BM25 alone, runs
/// zero-shot category classification, and writes report.json, report.md, report.svg and queries.jsonl.
/// </summary>
public static class EvalCommand
{
    public const string DefaultCatalog = "models/demo-catalog/catalog.jsonl";
    public const string DefaultConcepts = ".cache/emoji-data/dataset/concepts.jsonl";
    public const string DefaultDevset = "models/eval/devset.jsonl";
    public const string DefaultComposed = "models/eval/composed.jsonl";
    public const string DataCacheVariable = "PLATFORM_DATA_CACHE";

    private static readonly string[] SystemOrder = ["fused", "vector", "lexical"];

    public static Command Create()
    {
        var model = new Option<DirectoryInfo?>("--model") { Description = $"Model package folder (default: ${ModelLocator.EnvironmentVariable} or the bundled {ModelLocator.BundledName})" };
        var catalog = new Option<FileInfo?>("--catalog") { Description = $"Catalog to index (default: {DefaultCatalog}, found above the binary)" };
        var concepts = new Option<FileInfo?>("--concepts") { Description = $"The emoji dataset's concepts.jsonl (default: ${DataCacheVariable}/dataset/concepts.jsonl or {DefaultConcepts})" };
        var devset = new Option<FileInfo?>("--devset") { Description = $"Natural-language dev set (default: {DefaultDevset})" };
        var composed = new Option<FileInfo?>("--composed") { Description = $"Composed set: photo + words (default: {DefaultComposed})" };
        var server = new Option<Uri?>("--server")
        {
            Description = "Ask a running platform (GET /v1/search, POST /v1/search/image) for the fused results instead of indexing in process",
            CustomParser = r =>
            {
                var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
                if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
                    return uri;
                r.AddError($"--server must be an http:// or https:// address, got '{text}'");
                return null;
            },
        };
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder for report.json, report.md, report.svg, queries.jsonl", DefaultValueFactory = _ => new DirectoryInfo("eval-out") };
        var limit = new Option<int?>("--limit") { Description = "At most N queries per task and N images per classification (spread evenly), for quick runs" };
        var k = new Option<int>("--k") { Description = $"Cut-off for recall@k and nDCG@k (1-{Gateway.GatewayEndpoints.MaxK})", DefaultValueFactory = _ => 10 };
        var device = new Option<string>("--device") { Description = "Inference device: cpu, cuda:0, ...", DefaultValueFactory = _ => "cpu" };
        var noFit = new Option<bool>("--no-fit") { Description = "Skip the fusion's 5-fold cross-validation (about a minute on the full sets)" };

        var command = new Command("eval", "Measure search quality on the demo catalog: retrieval tasks per system, zero-shot classification")
        {
            model, catalog, concepts, devset, composed, server, output, limit, k, device, noFit,
        };
        command.SetAction(async (result, ct) =>
        {
            var options = new EvalOptions(
                result.GetValue(model), result.GetValue(catalog), result.GetValue(concepts), result.GetValue(devset), result.GetValue(composed),
                result.GetValue(server), result.GetValue(output)!, result.GetValue(limit), result.GetValue(k), result.GetValue(device)!, result.GetValue(noFit));
            try
            {
                return await RunAsync(options, ct);
            }
            catch (Exception e) when (e is EvalSetupException or ModelPackageException or InvalidDataException or HttpRequestException)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]eval:[/] {e.Message}");
                return 2;
            }
        });
        return command;
    }

    private sealed record EvalOptions(DirectoryInfo? Model, FileInfo? Catalog, FileInfo? Concepts, FileInfo? Devset, FileInfo? Composed, Uri? Server,
        DirectoryInfo Out, int? Limit, int K, string Device, bool NoFit);

    internal sealed class EvalSetupException(string message) : Exception(message);

    private static async Task<int> RunAsync(EvalOptions o, CancellationToken ct)
    {
        if (o.K is < 1 or > Gateway.GatewayEndpoints.MaxK)
            throw new EvalSetupException($"--k must be from 1 to {Gateway.GatewayEndpoints.MaxK}, got {o.K}");
        if (o.Limit is < 1)
            throw new EvalSetupException($"--limit must be at least 1, got {o.Limit}");
        var total = Stopwatch.StartNew();
        var problems = new List<string>();
        var skipped = new List<string>();
        var depth = Gateway.GatewayEndpoints.MaxK;

        // Inputs.
        var catalogPath = Required(o.Catalog, DefaultCatalog, "--catalog", "the demo catalog");
        var conceptsPath = Optional(o.Concepts, "--concepts", ConceptsCandidates());
        var devsetPath = Optional(o.Devset, "--devset", [DefaultDevset]);
        var products = EvalData.ReadCatalog(catalogPath, problems);
        if (products.Count == 0)
            throw new EvalSetupException($"{catalogPath} holds no product the platform would accept");
        var conceptById = conceptsPath is null ? null : EvalData.ReadConcepts(conceptsPath, problems);
        if (conceptById is null)
            skipped.Add($"names, tags, image-noto and noto classification: no concepts.jsonl (pass --concepts, set ${DataCacheVariable}, or build {DefaultConcepts})");
        var devQueries = devsetPath is null ? null : EvalData.ReadDevset(devsetPath);
        var composedPath = Optional(o.Composed, "--composed", [DefaultComposed]);
        var composedQueries = composedPath is null ? null : EvalData.ReadComposed(composedPath, products, problems);
        if (composedQueries is null)
            skipped.Add($"composed: no composed set (pass --composed or add {DefaultComposed})");
        if (devQueries is null)
            skipped.Add($"devset: no dev set (pass --devset or add {DefaultDevset})");

        // Model: required in process; in server mode only the embedding-based parts need it.
        string? modelDirectory;
        try
        {
            modelDirectory = o.Model?.FullName ?? ModelLocator.Default();
        }
        catch (DirectoryNotFoundException e) when (o.Server is not null)
        {
            modelDirectory = null;
            skipped.Add($"vector system and classification: {e.Message}");
        }
        catch (DirectoryNotFoundException e)
        {
            throw new EvalSetupException(e.Message);
        }
        using var host = modelDirectory is null ? null : new EncoderHost(modelDirectory, o.Device);
        var encoder = host is null ? null : await host.GetAsync(ct);
        var loadSeconds = total.Elapsed.TotalSeconds;
        AnsiConsole.MarkupLineInterpolated(
            $"eval: {products.Count} products from {catalogPath}; model {encoder?.Package.Name ?? "none"}{(encoder is null ? "" : $" on {encoder.Device}")}; {(o.Server is null ? "in process" : $"fused results from {o.Server}")}");

        using var client = o.Server is null ? null : new PlatformClient(o.Server);
        if (client is not null)
            await CheckServerAsync(client, o.Server!, products, ct);

        // The index, built as the platform builds it.
        var indexWatch = Stopwatch.StartNew();
        EvalIndex index = null!;
        await AnsiConsole.Progress().AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async progress =>
            {
                var bar = progress.AddTask(encoder is null ? "indexing (lexical only)" : "encoding + indexing catalog", maxValue: products.Count);
                index = await EvalIndex.BuildAsync(products, encoder, n => bar.Increment(n), problems, ct);
            });
        using var _ = index;
        var indexSeconds = indexWatch.Elapsed.TotalSeconds;
        var indexed = (int)await index.Index.CountAsync(ct);

        // Systems, in report order.
        var embeddings = encoder is null ? null : new QueryEmbeddings(encoder);
        var systems = new List<ISearchSystem>();
        systems.Add(client is not null ? new HttpFusedSystem(client) : new FusedSystem(new SearchService(new DirectQueryEncoder(encoder!), index.Index, FusionOptions.ForModel(modelDirectory!), TimeProvider.System)));
        if (embeddings is not null)
            systems.Add(new VectorSystem(index.Index, embeddings));
        systems.Add(new LexicalSystem(index.Index));

        // Tasks.
        var tasks = new List<EvalTask>();
        if (conceptById is not null)
            tasks.AddRange(EvalTasks.FromConcepts(products, conceptById, o.Limit, modelDirectory is null ? null : HeldOutConcepts.Read(modelDirectory)));
        tasks.AddRange(EvalTasks.FromTitles(products, o.Limit));
        if (composedQueries is not null && encoder is not null)
        {
            tasks.Add(EvalTasks.FromComposed(composedQueries, o.Limit));
            tasks.Add(EvalTasks.FromComposedAsShopperPhotos(composedQueries, Path.Combine(o.Out.FullName, "shopper-photos"), o.Limit));
        }
        if (devQueries is not null)
            tasks.AddRange(EvalTasks.FromDevset(devQueries, products.Select(p => p.Product.Id).ToHashSet(StringComparer.Ordinal), o.Limit, problems));
        foreach (var empty in tasks.Where(t => t.Queries.Count == 0).ToList())
        {
            skipped.Add($"{empty.Name}: no queries");
            tasks.Remove(empty);
        }

        Directory.CreateDirectory(o.Out.FullName);
        var taskResults = new List<TaskResult>();
        EvalRunner runner;
        await using (var perQuery = new StreamWriter(Path.Combine(o.Out.FullName, "queries.jsonl"), false, new UTF8Encoding(false)))
        {
            runner = new EvalRunner(o.K, depth, perQuery, problems);
            await AnsiConsole.Progress().AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .StartAsync(async progress =>
                {
                    var bars = tasks.ToDictionary(t => t, t => progress.AddTask(t.Name, maxValue: Math.Max(1, t.Queries.Count * systems.Count(s => s.Supports(t.Kind)))));
                    foreach (var task in tasks)
                        taskResults.Add(await runner.RunAsync(task, systems, n => bars[task].Increment(n), ct));
                });
        }

        // Zero-shot classification (needs raw embeddings, so always in process).
        var classificationWatch = Stopwatch.StartNew();
        var classification = new List<ClassificationResult>();
        if (encoder is not null && embeddings is not null)
            classification.AddRange(await ClassifyAsync(encoder, embeddings, index, products, conceptById, o.Limit, skipped, ct));
        var classificationSeconds = classificationWatch.Elapsed.TotalSeconds;

        // The same-photo threshold's two sides (needs the catalog's image vectors, so in process).
        SamePhotoReport? samePhoto = null;
        if (encoder is not null && o.Server is null && index.HasEmbeddings)
            samePhoto = await SamePhotoEval.RunAsync(encoder, index, products, FusionOptions.ForModel(modelDirectory!).SamePhoto, o.Limit, ct);

        // Recommendation (needs embeddings: the taste vectors and neighbours are in the model's space).
        RecommendationReport? recommendation = null;
        if (encoder is not null && o.Server is null)
        {
            var pairs = composedQueries?.Select(q => (q.Image, q.Relevant)).ToList() ?? [];
            recommendation = await new RecommendationEval(index.Index, new DirectQueryEncoder(encoder), o.K)
                .RunAsync([.. products.Select(p => p.Product)], pairs, o.Limit is { } cap ? Math.Min(cap, RecommendationEval.DefaultShoppers) : RecommendationEval.DefaultShoppers,
                    RecommendationEval.DefaultSeed, ct);
        }
        else
        {
            skipped.Add("recommendation: needs a model and runs in process only");
        }

        // The fusion's cross-validated figures: what a fit to these judged queries holds out (platform fit-fusion writes one).
        FitFigures? fit = null;
        if (encoder is not null && o.Server is null && !o.NoFit && tasks.FirstOrDefault(t => t.Name == "devset") is { } devTask && composedQueries is not null)
        {
            var start = FusionOptions.ForModel(modelDirectory!);
            var fitter = new FusionFitter(new SearchService(new DirectQueryEncoder(encoder), index.Index, start, TimeProvider.System), start, o.K);
            await fitter.GatherAsync(devTask.Queries, EvalData.Spread(composedQueries, o.Limit), EvalData.Spread(FusionFitter.Typos(products), o.Limit), _ => { }, ct);
            fit = fitter.Fit(5).Figures;
        }
        else if (o.NoFit)
        {
            skipped.Add("fusion cross-validation: --no-fit");
        }

        var report = new EvalReport(
            o.Server is null ? "in-process" : "server",
            o.Server?.ToString(),
            encoder is null ? null : new ModelSummary(encoder.Package.Name, encoder.Package.Directory, encoder.Dimension, encoder.Package.ImageSize, encoder.Device),
            new CatalogSummary(catalogPath, products.Count, indexed,
                conceptById is null ? 0 : products.Count(p => conceptById.ContainsKey(p.Product.Id)),
                conceptById is null ? 0 : products.Count(p => conceptById.TryGetValue(p.Product.Id, out var c) && c.Noto is not null && File.Exists(c.Noto))),
            conceptsPath, devsetPath, o.K, depth, o.Limit,
            SystemOrder.Where(name => systems.Any(s => s.Name == name)).ToList(),
            taskResults, classification, skipped, problems,
            new RunTimings(loadSeconds, indexSeconds, indexSeconds > 0 ? products.Count / indexSeconds : 0, classificationSeconds,
                total.Elapsed.TotalSeconds, runner.Timings)) { Recommendation = recommendation, Fit = fit, SamePhoto = samePhoto };

        await File.WriteAllTextAsync(Path.Combine(o.Out.FullName, "report.json"), ReportWriter.ToJson(report), ct);
        await File.WriteAllTextAsync(Path.Combine(o.Out.FullName, "report.md"), ReportWriter.ToMarkdown(report), ct);
        await File.WriteAllTextAsync(Path.Combine(o.Out.FullName, "report.svg"), ReportWriter.ToSvg(report), ct);
        ReportWriter.WriteConsole(report);
        AnsiConsole.MarkupLineInterpolated($"wrote {Path.Combine(o.Out.FullName, "report.md")} (+ report.json, report.svg, queries.jsonl) in {total.Elapsed.TotalSeconds:F1} s");
        return 0;
    }

    private static async Task<List<ClassificationResult>> ClassifyAsync(ClipEncoder encoder, QueryEmbeddings embeddings, EvalIndex index,
        IReadOnlyList<CatalogProduct> products, IReadOnlyDictionary<string, Concept>? concepts, int? limit, List<string> skipped, CancellationToken ct)
    {
        var labelled = products.Where(p => !string.IsNullOrWhiteSpace(p.Product.Category))
            .OrderBy(p => p.Product.Id, StringComparer.Ordinal).ToList();
        if (labelled.Count == 0)
        {
            skipped.Add("classification: no catalog product has a category");
            return [];
        }
        var classifier = new ZeroShotClassifier(encoder, labelled.Select(p => p.Product.Category!));
        var results = new List<ClassificationResult>();

        if (concepts is not null)
        {
            var withNoto = EvalData.Spread(labelled.Where(p => concepts.TryGetValue(p.Product.Id, out var c) && c.Noto is not null && File.Exists(c.Noto)).ToList(), limit);
            embeddings.PrepareImages(withNoto.ConvertAll(p => concepts[p.Product.Id].Noto!));
            var items = withNoto.Select(p => (p.Product.Category!, embeddings.TryImage(concepts[p.Product.Id].Noto!)))
                .Where(x => x.Item2 is not null).Select(x => (x.Item1, x.Item2!)).ToList();
            results.Add(classifier.Evaluate("noto", "each catalog product's Noto emoji art → its category", items));
        }

        var catalogItems = new List<(string, float[])>();
        foreach (var p in EvalData.Spread(labelled, limit))
        {
            if (await index.ImageEmbeddingAsync(p.Product.Id, ct) is { } vector)
                catalogItems.Add((p.Product.Category!, vector));
        }
        results.Add(classifier.Evaluate("catalog", "each catalog product's own image → its category", catalogItems));
        return results;
    }

    /// <summary>The server must be up and hold the catalog; a sample of its products is checked.</summary>
    private static async Task CheckServerAsync(PlatformClient client, Uri server, IReadOnlyList<CatalogProduct> products, CancellationToken ct)
    {
        var sample = EvalData.Spread(products, 20);
        var statuses = new List<string?>();
        foreach (var product in sample)
            statuses.Add(await client.StatusAsync(product.Product.Id, ct));
        var indexed = statuses.Count(s => s == "indexed");
        if (indexed < sample.Count)
            throw new EvalSetupException($"{server} has {indexed} of {sample.Count} sampled catalog products indexed; " +
                "load the catalog first (platform ingest CATALOG --wait) and wait for indexing to finish");
    }

    internal static string Required(FileInfo? given, string relative, string option, string what)
    {
        if (given is not null)
            return given.Exists ? given.FullName : throw new EvalSetupException($"{option} {given.FullName} does not exist");
        return EvalData.FindUpwards(relative) ?? throw new EvalSetupException($"{what} ({relative}) was not found above {AppContext.BaseDirectory} or {Environment.CurrentDirectory}; pass {option} FILE");
    }

    internal static string? Optional(FileInfo? given, string option, IEnumerable<string> candidates)
    {
        if (given is not null)
            return given.Exists ? given.FullName : throw new EvalSetupException($"{option} {given.FullName} does not exist");
        foreach (var candidate in candidates)
        {
            if (Path.IsPathRooted(candidate))
            {
                if (File.Exists(candidate))
                    return candidate;
            }
            else if (EvalData.FindUpwards(candidate) is { } found)
            {
                return found;
            }
        }
        return null;
    }

    private static IEnumerable<string> ConceptsCandidates()
    {
        if (Environment.GetEnvironmentVariable(DataCacheVariable) is { Length: > 0 } cache)
            yield return Path.GetFullPath(Path.Combine(cache, "dataset", "concepts.jsonl"));
        yield return DefaultConcepts;
    }
}
