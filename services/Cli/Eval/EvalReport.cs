using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Spectre.Console;

namespace Platform.Cli.Eval;

public sealed record ModelSummary(string Name, string Directory, int EmbeddingDim, int ImageSize, string Device);

public sealed record CatalogSummary(string Path, int Products, int Indexed, int WithConcept, int WithNoto);

public sealed record RunTimings(double LoadSeconds, double IndexSeconds, double IndexProductsPerSecond, double ClassificationSeconds,
    double TotalSeconds, IReadOnlyList<TaskTiming> Tasks);

/// <summary>Everything one evaluation run found; written as report.json, report.md, report.svg and a console table.</summary>
public sealed record EvalReport(
    string Mode,
    string? Server,
    ModelSummary? Model,
    CatalogSummary Catalog,
    string? Concepts,
    string? Devset,
    int K,
    int Depth,
    int? Limit,
    IReadOnlyList<string> Systems,
    IReadOnlyList<TaskResult> Tasks,
    IReadOnlyList<ClassificationResult> Classification,
    IReadOnlyList<string> Skipped,
    IReadOnlyList<string> Warnings,
    RunTimings Timings)
{
    /// <summary>The recommendation report, when it ran (it needs a model).</summary>
    public RecommendationReport? Recommendation { get; init; }

    /// <summary>The fusion's cross-validated figures on the dev and composed sets, when they ran.</summary>
    public FitFigures? Fit { get; init; }

    /// <summary>What the same-photo threshold separates, when it ran (in process, with a model).</summary>
    public SamePhotoReport? SamePhoto { get; init; }

    /// <summary>The metric columns, in table order: (short label, JSON key, value).</summary>
    public IReadOnlyList<(string Label, string Key, Func<MetricSummary, double> Value)> Metrics =>
    [
        ("R@1", "recall@1", m => m.RecallAt1),
        ("R@5", "recall@5", m => m.RecallAt5),
        ($"R@{K}", $"recall@{K}", m => m.RecallAtK),
        ("MRR", "mrr", m => m.Mrr),
        ($"nDCG@{K}", $"ndcg@{K}", m => m.NdcgAtK),
    ];
}

public static class ReportWriter
{
    private const int MaxWarningsShown = 40;

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string ToJson(EvalReport r)
    {
        static double Round(double x) => Math.Round(x, 6);
        var document = new
        {
            mode = r.Mode,
            server = r.Server,
            model = r.Model,
            catalog = r.Catalog,
            concepts = r.Concepts,
            devset = r.Devset,
            k = r.K,
            depth = r.Depth,
            limit = r.Limit,
            systems = r.Systems,
            tasks = r.Tasks.Select(t => new
            {
                name = t.Name,
                description = t.Description,
                kind = t.Kind.ToString().ToLowerInvariant(),
                queries = t.Queries,
                available = t.Available,
                systems = t.Systems.ToDictionary(s => s.System, s => new
                {
                    queries = s.Metrics.Queries,
                    errors = s.Errors,
                    metrics = r.Metrics.ToDictionary(m => m.Key, m => Round(m.Value(s.Metrics))),
                }),
            }),
            classification = r.Classification.Select(c => new
            {
                name = c.Name,
                description = c.Description,
                images = c.Images,
                accuracy = Round(c.Accuracy),
                macro_accuracy = Round(c.MacroAccuracy),
                majority_baseline = Round(c.MajorityBaseline),
                prompts = ZeroShotClassifier.Templates,
                per_class = c.PerClass.Select(p => new { @class = p.Class, images = p.Images, correct = p.Correct, accuracy = Round(p.Accuracy) }),
                classes = c.Classes,
                confusion = c.Confusion,
            }),
            fusion_cross_validation = r.Fit is not { } fit ? null : new
            {
                folds = fit.Folds,
                sets = fit.Sets.Select(s => new { name = s.Name, metric = s.Metric, queries = s.Queries, current = Round(s.Current), held_out = Round(s.HeldOut), in_sample = Round(s.InSample) }),
            },
            same_photo = r.SamePhoto is not { } same ? null : new
            {
                threshold = same.Threshold,
                recognised = Round(same.Recognised),
                re_encoded = same.ReEncoded.Select(v => new { variant = v.Name, photos = v.Photos, min = Round(v.Min), p5 = Round(v.P5), median = Round(v.Median) }),
                products = same.Products,
                nearest_other_max = Round(same.NearestOtherMax),
                nearest_other_p99 = Round(same.NearestOtherP99),
                nearest_other_at_threshold = same.NearestOtherAtThreshold,
                curve = same.Curve.Select(c => new { threshold = c.Threshold, recognised = Round(c.Recognised), products_with_twin = c.ProductsWithTwin }),
                closest_pairs = same.ClosestPairs.Select(p => new { a = p.A, b = p.B, score = Round(p.Score) }),
            },
            recommendation = r.Recommendation is not { } reco ? null : new
            {
                shoppers = reco.Shoppers,
                seed = reco.Seed,
                interactions = reco.Interactions,
                k = reco.K,
                simulator = reco.Simulator,
                rows = reco.Rows.Select(row => new { task = row.Task, system = row.System, cases = row.Cases,
                    hit_rate = Round(row.HitRate), ndcg = Round(row.Ndcg), coverage = Round(row.Coverage) }),
            },
            skipped = r.Skipped,
            warnings = r.Warnings,
            // Timings last and apart: everything above is the same on every run of the same inputs.
            timings = new
            {
                load_s = Round(r.Timings.LoadSeconds),
                index_s = Round(r.Timings.IndexSeconds),
                index_products_per_s = Round(r.Timings.IndexProductsPerSecond),
                classification_s = Round(r.Timings.ClassificationSeconds),
                total_s = Round(r.Timings.TotalSeconds),
                tasks = r.Timings.Tasks.Select(t => new { task = t.Task, system = t.System, seconds = Round(t.Seconds), ms_per_query = Round(t.MillisecondsPerQuery) }),
            },
        };
        return JsonSerializer.Serialize(document, Json) + "\n";
    }

    public static string ToMarkdown(EvalReport r)
    {
        var md = new StringBuilder();
        md.AppendLine("# Search evaluation").AppendLine();
        md.AppendLine($"- model: {(r.Model is { } m ? $"`{m.Name}` ({m.EmbeddingDim}-d, {m.ImageSize} px, {m.Device})" : "none")}");
        md.AppendLine($"- mode: {r.Mode}{(r.Server is null ? "" : $" (`fused` from {r.Server}; `vector` and `lexical` computed locally)")}");
        md.AppendLine($"- catalog: {r.Catalog.Indexed} products indexed of {r.Catalog.Products} ({r.Catalog.WithConcept} with a concept, {r.Catalog.WithNoto} with Noto art)");
        md.AppendLine($"- k = {r.K}; MRR over the top {r.Depth}{(r.Limit is { } l ? $"; at most {l} queries per task (--limit)" : "")}");
        md.AppendLine();
        md.AppendLine("## Retrieval").AppendLine();
        md.AppendLine(RetrievalTable(r, (cells) => "| " + string.Join(" | ", cells) + " |", markdown: true));
        md.AppendLine("R@k: fraction of a query's relevant products in the top k (for one relevant product: hit or miss), averaged over queries. " +
            "MRR: 1 / rank of the first relevant product (0 if not in the top " + r.Depth + "). nDCG: binary gains. — : the system cannot answer that kind of query.");
        md.AppendLine();
        md.AppendLine("| task | what it asks |").AppendLine("|---|---|");
        foreach (var t in r.Tasks)
            md.AppendLine($"| {t.Name} | {Escape(t.Description)} ({t.Queries} of {t.Available} queries) |");
        md.AppendLine();

        if (r.Classification.Count > 0)
        {
            md.AppendLine("## Zero-shot category classification").AppendLine();
            var classes = r.Classification[0].Classes;
            md.AppendLine("| images | n | accuracy | macro | majority class | " + string.Join(" | ", classes.Select(Escape)) + " |");
            md.AppendLine("|---|---:|---:|---:|---:|" + string.Concat(classes.Select(_ => "---:|")));
            foreach (var c in r.Classification)
                md.AppendLine($"| {c.Name} | {c.Images} | {F(c.Accuracy)} | {F(c.MacroAccuracy)} | {F(c.MajorityBaseline)} | " +
                    string.Join(" | ", c.PerClass.Select(p => $"{F(p.Accuracy)} ({p.Images})")) + " |");
            md.AppendLine();
            md.AppendLine("Each image gets the category whose prompt embedding is nearest (prompts: " +
                string.Join(", ", ZeroShotClassifier.Templates.Select(t => $"\"{t}\"")) + ", averaged). " +
                "Macro: the mean of per-class accuracies. Majority class: what always guessing the largest class scores.");
            md.AppendLine();
        }

        if (r.Fit is { } fitted)
        {
            md.AppendLine("## Fusion, cross-validated").AppendLine();
            md.AppendLine($"The package's fusion as it is, against a fusion fitted to the judged queries ({fitted.Folds}-fold: each fold ranked by a fit to the others).").AppendLine();
            md.AppendLine("| set | metric | current fusion | fitted, held out | fitted, in sample |");
            md.AppendLine("|---|---|---:|---:|---:|");
            foreach (var set in fitted.Sets)
                md.AppendLine($"| {set.Name} ({set.Queries}) | {set.Metric} | {F(set.Current)} | {F(set.HeldOut)} | {F(set.InSample)} |");
            md.AppendLine();
        }

        if (r.SamePhoto is { } same)
        {
            md.AppendLine("## Same photo").AppendLine();
            md.AppendLine($"A photo with words never returns the photo's own product: products whose image scores at least {same.Threshold} against the photo. " +
                $"Catalog pictures sent back re-encoded, against their own product (the threshold recognises {F(same.Recognised)} of them):").AppendLine();
            md.AppendLine("| re-encoded as | photos | min | 5th percentile | median |").AppendLine("|---|---:|---:|---:|---:|");
            foreach (var v in same.ReEncoded)
                md.AppendLine($"| {Escape(v.Name)} | {v.Photos} | {F(v.Min)} | {F(v.P5)} | {F(v.Median)} |");
            md.AppendLine().AppendLine($"Each of {same.Products} products against its nearest other product: max {F(same.NearestOtherMax)}, 99th percentile " +
                $"{F(same.NearestOtherP99)}; {same.NearestOtherAtThreshold} at or above the threshold (they would hide each other).").AppendLine();
            md.AppendLine("| threshold | re-encodes recognised | products with another at or above |").AppendLine("|---:|---:|---:|");
            foreach (var c in same.Curve)
                md.AppendLine($"| {c.Threshold} | {F(c.Recognised)} | {c.ProductsWithTwin} |");
            md.AppendLine().AppendLine("Closest pairs of distinct products: " + string.Join("; ", same.ClosestPairs.Select(p => $"{Escape(p.A)} ~ {Escape(p.B)} {F(p.Score)}")) + ".").AppendLine();
        }

        if (r.Recommendation is { } recommendation)
        {
            md.AppendLine("## Recommendation").AppendLine();
            md.AppendLine($"Simulated: {Escape(recommendation.Simulator)}; seed {recommendation.Seed}; {recommendation.Interactions:N0} interactions logged.").AppendLine();
            md.AppendLine($"| task | system | cases | HitRate@{recommendation.K} | nDCG@{recommendation.K} | coverage |");
            md.AppendLine("|---|---|---:|---:|---:|---:|");
            foreach (var row in recommendation.Rows)
                md.AppendLine($"| {Escape(row.Task)} | {row.System} | {row.Cases} | {F(row.HitRate)} | {F(row.Ndcg)} | {F(row.Coverage)} |");
            md.AppendLine();
        }

        if (r.Skipped.Count > 0)
        {
            md.AppendLine("## Skipped").AppendLine();
            foreach (var s in r.Skipped)
                md.AppendLine($"- {Escape(s)}");
            md.AppendLine();
        }
        if (r.Warnings.Count > 0)
        {
            md.AppendLine("## Warnings").AppendLine();
            foreach (var w in r.Warnings.Take(MaxWarningsShown))
                md.AppendLine($"- {Escape(w)}");
            if (r.Warnings.Count > MaxWarningsShown)
                md.AppendLine($"- … and {r.Warnings.Count - MaxWarningsShown} more (report.json has them all)");
            md.AppendLine();
        }

        md.AppendLine("## Timings").AppendLine();
        md.AppendLine($"Loading {r.Timings.LoadSeconds:F1} s; indexing {r.Timings.IndexSeconds:F1} s ({r.Timings.IndexProductsPerSecond:F1} products/s); " +
            $"classification {r.Timings.ClassificationSeconds:F1} s; total {r.Timings.TotalSeconds:F1} s.");
        md.AppendLine();
        md.AppendLine("| task | system | seconds | ms/query |").AppendLine("|---|---|---:|---:|");
        foreach (var t in r.Timings.Tasks)
            md.AppendLine($"| {t.Task} | {t.System} | {t.Seconds:F2} | {t.MillisecondsPerQuery:F1} |");
        return md.ToString();
    }

    /// <summary>The retrieval table (rows: tasks; columns: system × metric), as lines built by <paramref name="row"/>.</summary>
    private static string RetrievalTable(EvalReport r, Func<IEnumerable<string>, string> row, bool markdown)
    {
        var lines = new List<string>();
        var header = new List<string> { "task", "n" };
        foreach (var system in r.Systems)
            header.AddRange(r.Metrics.Select(m => $"{system} {m.Label}"));
        lines.Add(row(header));
        if (markdown)
            lines.Add("|---|---:|" + string.Concat(Enumerable.Repeat("---:|", header.Count - 2)));
        foreach (var cells in RetrievalRows(r))
            lines.Add(row(cells));
        return string.Join("\n", lines) + "\n";
    }

    private static IEnumerable<List<string>> RetrievalRows(EvalReport r)
    {
        foreach (var task in r.Tasks)
        {
            var cells = new List<string> { task.Name, task.Queries.ToString(CultureInfo.InvariantCulture) };
            foreach (var system in r.Systems)
            {
                var result = task.Systems.FirstOrDefault(s => s.System == system);
                cells.AddRange(r.Metrics.Select(m => result is null ? "—" : F(m.Value(result.Metrics))));
            }
            yield return cells;
        }
    }

    public static void WriteConsole(EvalReport r)
    {
        // Redirected output gets Spectre's 80 columns, too narrow for system × metric; a log file can be wide.
        if (Console.IsOutputRedirected)
            AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 200);
        var table = new Table().Border(TableBorder.Simple).Title($"retrieval — model {Markup.Escape(r.Model?.Name ?? "none")}, {r.Catalog.Indexed} products, k={r.K}");
        table.AddColumn("task");
        table.AddColumn(new TableColumn("n").RightAligned());
        foreach (var system in r.Systems)
        {
            foreach (var m in r.Metrics)
                table.AddColumn(new TableColumn($"{system}\n{m.Label}").RightAligned());
        }
        foreach (var cells in RetrievalRows(r))
            table.AddRow(cells.Select(Markup.Escape).ToArray());
        AnsiConsole.Write(table);

        if (r.Classification.Count > 0)
        {
            var classes = r.Classification[0].Classes;
            var cls = new Table().Border(TableBorder.Simple).Title("zero-shot category classification");
            cls.AddColumns("images", "n", "accuracy", "macro", "majority");
            foreach (var c in classes)
                cls.AddColumn(new TableColumn(Markup.Escape(c)).RightAligned());
            foreach (var c in r.Classification)
                cls.AddRow([c.Name, c.Images.ToString(CultureInfo.InvariantCulture), F(c.Accuracy), F(c.MacroAccuracy), F(c.MajorityBaseline),
                    .. c.PerClass.Select(p => F(p.Accuracy))]);
            AnsiConsole.Write(cls);
        }
        if (r.Fit is { } fit)
        {
            var table2 = new Table().Border(TableBorder.Simple).Title($"fusion, {fit.Folds}-fold cross-validated");
            table2.AddColumns("set", "metric", "current", "fitted, held out", "fitted, in sample");
            foreach (var set in fit.Sets)
                table2.AddRow($"{set.Name} ({set.Queries})", set.Metric, F(set.Current), F(set.HeldOut), F(set.InSample));
            AnsiConsole.Write(table2);
        }
        if (r.SamePhoto is { } same)
        {
            var table3 = new Table().Border(TableBorder.Simple).Title($"same photo (threshold {same.Threshold}: recognises {F(same.Recognised)} of re-encodes; " +
                $"nearest other product max {F(same.NearestOtherMax)}, p99 {F(same.NearestOtherP99)}, {same.NearestOtherAtThreshold} at or above)");
            table3.AddColumns("re-encoded as", "photos", "min", "p5", "median");
            foreach (var v in same.ReEncoded)
                table3.AddRow(Markup.Escape(v.Name), v.Photos.ToString(CultureInfo.InvariantCulture), F(v.Min), F(v.P5), F(v.Median));
            AnsiConsole.Write(table3);
            var curve = new Table().Border(TableBorder.Simple).Title("same-photo threshold: both sides");
            curve.AddColumns("threshold", "re-encodes recognised", "products with another at or above");
            foreach (var c in same.Curve)
                curve.AddRow(c.Threshold.ToString(CultureInfo.InvariantCulture), F(c.Recognised), c.ProductsWithTwin.ToString(CultureInfo.InvariantCulture));
            AnsiConsole.Write(curve);
            AnsiConsole.MarkupLineInterpolated($"closest pairs of distinct products: {string.Join("; ", same.ClosestPairs.Select(p => $"{p.A} ~ {p.B} {F(p.Score)}"))}");
        }
        if (r.Recommendation is { } recommendation)
        {
            var reco = new Table().Border(TableBorder.Simple).Title($"recommendation — {recommendation.Shoppers} simulated shoppers, k={recommendation.K}");
            reco.AddColumns("task", "system", "cases", $"HitRate@{recommendation.K}", $"nDCG@{recommendation.K}", "coverage");
            foreach (var row in recommendation.Rows)
                reco.AddRow(Markup.Escape(row.Task), row.System, row.Cases.ToString(CultureInfo.InvariantCulture), F(row.HitRate), F(row.Ndcg), F(row.Coverage));
            AnsiConsole.Write(reco);
        }
        foreach (var s in r.Skipped)
            AnsiConsole.MarkupLineInterpolated($"[yellow]skipped:[/] {s}");
        if (r.Warnings.Count > 0)
            AnsiConsole.MarkupLineInterpolated($"[yellow]{r.Warnings.Count} warning(s)[/], e.g. {r.Warnings[0]}");
    }

    /// <summary>A grouped bar chart of recall@k: one group per task, one bar per system.</summary>
    public static string ToSvg(EvalReport r)
    {
        var chart = new SvgBarChart($"Recall@{r.K} by task and system — {r.Model?.Name ?? "no model"}, {r.Catalog.Indexed} products", $"Recall@{r.K} (%)", r.Systems);
        foreach (var task in r.Tasks)
        {
            chart.AddGroup($"{task.Name} ({task.Queries})", r.Systems.Select(system =>
                task.Systems.FirstOrDefault(s => s.System == system) is { } result ? (double?)result.Metrics.RecallAtK : null).ToList());
        }
        return chart.Render();
    }

    private static string F(double x) => x.ToString("0.000", CultureInfo.InvariantCulture);

    private static string Escape(string text) => text.Replace("|", "\\|", StringComparison.Ordinal);
}
