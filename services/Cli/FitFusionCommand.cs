using System.CommandLine;
using System.Text;
using Platform.Cli.Eval;
using Platform.Inference;
using Platform.Retrieval;
using Spectre.Console;

namespace Platform.Cli;

/// <summary>
/// <c>platform fit-fusion</c>: fits the search's fusion to the judged queries (the dev set and the composed set) with
/// k-fold cross-validation, reports the held-out figures against the model package's current fusion, and with
/// <c>--write</c> stores the fit as the package's fusion.json, which the platform and <c>platform eval</c> then use.
/// </summary>
public static class FitFusionCommand
{
    public static Command Create()
    {
        var model = new Option<DirectoryInfo?>("--model") { Description = $"Model package folder (default: ${ModelLocator.EnvironmentVariable} or the bundled {ModelLocator.BundledName})" };
        var catalog = new Option<FileInfo?>("--catalog") { Description = $"Catalog to index (default: {EvalCommand.DefaultCatalog})" };
        var devset = new Option<FileInfo?>("--devset") { Description = $"Natural-language dev set (default: {EvalCommand.DefaultDevset})" };
        var composed = new Option<FileInfo?>("--composed") { Description = $"Composed set (default: {EvalCommand.DefaultComposed})" };
        var folds = new Option<int>("--folds") { Description = "Cross-validation folds (2-20)", DefaultValueFactory = _ => 5 };
        var write = new Option<bool>("--write") { Description = $"Store the fit in the model package as {FusionOptions.FileName}" };
        var output = new Option<FileInfo?>("--out") { Description = "Also write the report (markdown) here" };
        var command = new Command("fit-fusion", "Fit the search's fusion weights to the judged queries, with k-fold cross-validation")
        {
            model, catalog, devset, composed, folds, write, output,
        };
        command.SetAction(async (result, ct) =>
        {
            try
            {
                return await RunAsync(result.GetValue(model), result.GetValue(catalog), result.GetValue(devset), result.GetValue(composed),
                    result.GetValue(folds), result.GetValue(write), result.GetValue(output), ct);
            }
            catch (Exception e) when (e is EvalCommand.EvalSetupException or ModelPackageException or InvalidDataException or DirectoryNotFoundException)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]fit-fusion:[/] {e.Message}");
                return 2;
            }
        });
        return command;
    }

    private static async Task<int> RunAsync(DirectoryInfo? modelOption, FileInfo? catalogOption, FileInfo? devsetOption, FileInfo? composedOption,
        int folds, bool write, FileInfo? output, CancellationToken ct)
    {
        if (folds is < 2 or > 20)
            throw new EvalCommand.EvalSetupException($"--folds must be from 2 to 20, got {folds}");
        var problems = new List<string>();
        var catalogPath = EvalCommand.Required(catalogOption, EvalCommand.DefaultCatalog, "--catalog", "the demo catalog");
        var devsetPath = EvalCommand.Required(devsetOption, EvalCommand.DefaultDevset, "--devset", "the dev set");
        var composedPath = EvalCommand.Required(composedOption, EvalCommand.DefaultComposed, "--composed", "the composed set");
        var modelDirectory = modelOption?.FullName ?? ModelLocator.Default();
        var products = EvalData.ReadCatalog(catalogPath, problems);
        var ids = products.Select(p => p.Product.Id).ToHashSet(StringComparer.Ordinal);
        var dev = EvalTasks.FromDevset(EvalData.ReadDevset(devsetPath), ids, null, problems)[0].Queries;
        var composed = EvalData.ReadComposed(composedPath, products, problems);

        using var host = new EncoderHost(modelDirectory, "cpu");
        var encoder = await host.GetAsync(ct);
        var start = FusionOptions.ForModel(modelDirectory);
        AnsiConsole.MarkupLineInterpolated($"fit-fusion: {products.Count} products, {dev.Count} dev queries, {composed.Count} composed queries; model {encoder.Package.Name}; {folds} folds");
        using var index = await EvalIndex.BuildAsync(products, encoder, _ => { }, problems, ct);
        var fitter = new FusionFitter(new SearchService(new DirectQueryEncoder(encoder), index.Index, start, TimeProvider.System), start, 10);
        await fitter.GatherAsync(dev, composed, FusionFitter.Typos(products), _ => { }, ct);
        var (fitted, figures) = fitter.Fit(folds);

        var report = Report(modelDirectory, start, fitted, figures);
        AnsiConsole.WriteLine(report);
        if (output is not null)
            await File.WriteAllTextAsync(output.FullName, report, new UTF8Encoding(false), ct);
        if (write)
        {
            var path = Path.Combine(modelDirectory, FusionOptions.FileName);
            await File.WriteAllTextAsync(path, fitted.ToJson() + "\n", new UTF8Encoding(false), ct);
            AnsiConsole.MarkupLineInterpolated($"wrote {path}");
        }
        foreach (var problem in problems.Take(10))
            AnsiConsole.MarkupLineInterpolated($"[yellow]warning:[/] {problem}");
        return 0;
    }

    private static string Report(string model, FusionOptions start, FusionOptions fitted, FitFigures f)
    {
        static string F(double x) => x.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture);
        var md = new StringBuilder();
        md.AppendLine($"# Fusion fit for {Path.GetFileName(model)}").AppendLine();
        md.AppendLine($"{string.Join(", ", f.Sets.Select(s => $"{s.Queries} {s.Name} queries ({s.Metric})"))}; {f.Folds}-fold cross-validation; the fit maximises the sum of the sets' means.").AppendLine();
        md.AppendLine("| set | metric | starting fusion | held out (cross-validated) | fitted, in sample |");
        md.AppendLine("|---|---|---:|---:|---:|");
        foreach (var set in f.Sets)
            md.AppendLine($"| {set.Name} | {set.Metric} | {F(set.Current)} | {F(set.HeldOut)} | {F(set.InSample)} |");
        md.AppendLine().AppendLine("| parameter | starting | fitted |").AppendLine("|---|---:|---:|");
        foreach (var (name, a, b) in new (string, object, object)[]
        {
            ("rank constant", start.RankConstant, fitted.RankConstant),
            ("lexical", start.LexicalWeight, fitted.LexicalWeight),
            ("title", start.TitleMatchWeight, fitted.TitleMatchWeight),
            ("fuzzy", start.FuzzyWeight, fitted.FuzzyWeight),
            ("text vector", start.TextVectorWeight, fitted.TextVectorWeight),
            ("image vector", start.ImageVectorWeight, fitted.ImageVectorWeight),
            ("text vector, words mostly CJK", start.CjkTextVectorWeight ?? start.TextVectorWeight, fitted.CjkTextVectorWeight ?? fitted.TextVectorWeight),
            ("image vector, words mostly CJK", start.CjkImageVectorWeight ?? start.ImageVectorWeight, fitted.CjkImageVectorWeight ?? fitted.ImageVectorWeight),
            ("words that make a sentence (0: none)", start.SentenceWords, fitted.SentenceWords),
            ("lexical, sentence", start.SentenceLexicalWeight ?? start.LexicalWeight, fitted.SentenceLexicalWeight ?? fitted.LexicalWeight),
            ("title, sentence", start.SentenceTitleMatchWeight ?? start.TitleMatchWeight, fitted.SentenceTitleMatchWeight ?? fitted.TitleMatchWeight),
            ("fuzzy, sentence", start.SentenceFuzzyWeight ?? start.FuzzyWeight, fitted.SentenceFuzzyWeight ?? fitted.FuzzyWeight),
            ("text vector, sentence", start.SentenceTextVectorWeight ?? start.TextVectorWeight, fitted.SentenceTextVectorWeight ?? fitted.TextVectorWeight),
            ("image vector, sentence", start.SentenceImageVectorWeight ?? start.ImageVectorWeight, fitted.SentenceImageVectorWeight ?? fitted.ImageVectorWeight),
            ("photo", start.PhotoWeight, fitted.PhotoWeight),
            ("photo text", start.PhotoTextWeight, fitted.PhotoTextWeight),
            ("caption", start.CaptionWeight, fitted.CaptionWeight),
            ("ruled-out penalty", start.RuledOutPenalty, fitted.RuledOutPenalty),
            ("text share (early)", start.TextShare, fitted.TextShare),
            ("photo neighbourhood", start.PhotoNeighbourhood, fitted.PhotoNeighbourhood),
            ("same photo (set by measurement, not fitted)", start.SamePhoto, fitted.SamePhoto),
            ("photo + words", start.ComposedFusion.ToString().ToLowerInvariant(), fitted.ComposedFusion.ToString().ToLowerInvariant()),
        })
            md.AppendLine($"| {name} | {a} | {b} |");
        return md.ToString();
    }
}
