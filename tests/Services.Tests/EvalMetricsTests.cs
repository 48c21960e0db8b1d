using System.Text.Json;
using Platform.Cli.Eval;
using Platform.Tests;

namespace Platform.Services.Tests;

/// <summary>The metric functions of <c>platform eval</c> against hand-computed values, and the dev set against the committed demo catalog.</summary>
public sealed class EvalMetricsTests
{
    private const double Tolerance = 1e-6;

    private static HashSet<string> Set(params string[] ids) => new(ids, StringComparer.Ordinal);

    private static double Recall(string[] ranked, HashSet<string> relevant, int k) => EvalMetrics.RecallAt(ranked, relevant, k);

    private static double Ndcg(string[] ranked, HashSet<string> relevant, int k) => EvalMetrics.NdcgAt(ranked, relevant, k);

    private static double Rr(string[] ranked, HashSet<string> relevant) => EvalMetrics.ReciprocalRank(ranked, relevant);

    [Fact]
    public void Recall_with_one_relevant_product_is_a_hit_or_a_miss()
    {
        string[] ranked = ["x", "y", "a", "z"];
        Assert.Equal(0, Recall(ranked, Set("a"), 1));
        Assert.Equal(0, Recall(ranked, Set("a"), 2));
        Assert.Equal(1, Recall(ranked, Set("a"), 3));
        Assert.Equal(1, Recall(ranked, Set("a"), 10));
        Assert.Equal(0, Recall(ranked, Set("b"), 10));
    }

    [Fact]
    public void Recall_with_several_relevant_products_is_the_fraction_found()
    {
        // Relevant: a, b, c, d. Found at ranks 1, 3 and 6.
        string[] ranked = ["a", "x", "b", "y", "z", "c", "w"];
        var relevant = Set("a", "b", "c", "d");
        Assert.Equal(0.25, Recall(ranked, relevant, 1), Tolerance);
        Assert.Equal(0.5, Recall(ranked, relevant, 5), Tolerance);
        Assert.Equal(0.75, Recall(ranked, relevant, 10), Tolerance);
        // A repeated id counts once; nothing relevant scores 0.
        Assert.Equal(0.5, Recall(["a", "a"], Set("a", "b"), 2), Tolerance);
        Assert.Equal(0, Recall(["a"], Set(), 1));
    }

    [Fact]
    public void Reciprocal_rank_is_one_over_the_rank_of_the_first_relevant_product()
    {
        Assert.Equal(1, Rr(["a", "x"], Set("a")), Tolerance);
        Assert.Equal(1.0 / 3, Rr(["x", "y", "a"], Set("a")), Tolerance);
        Assert.Equal(0.5, Rr(["x", "b", "a"], Set("a", "b")), Tolerance);
        Assert.Equal(0, Rr(["x", "y"], Set("a")));
        Assert.Equal(0, Rr([], Set("a")));
    }

    [Fact]
    public void Ndcg_uses_binary_gains_and_the_ideal_ordering_of_the_relevant_set()
    {
        // Relevant a, b, c; a at rank 2 and b at rank 4:
        // DCG = 1/log2(3) + 1/log2(5) = 1.0616063; ideal = 1 + 1/log2(3) + 1/log2(4) = 2.1309298.
        Assert.Equal(0.4981893, Ndcg(["x", "a", "y", "b"], Set("a", "b", "c"), 10), Tolerance);
        // One relevant product at rank 3: 1/log2(4) = 0.5.
        Assert.Equal(0.5, Ndcg(["x", "y", "a"], Set("a"), 10), Tolerance);
        // All relevant first: 1. More relevant than k: the ideal list holds only k of them.
        Assert.Equal(1, Ndcg(["b", "a", "x"], Set("a", "b"), 10), Tolerance);
        Assert.Equal(1, Ndcg(["a", "b"], Set("a", "b", "c"), 2), Tolerance);
        // Below the cut-off counts for nothing.
        Assert.Equal(0, Ndcg(["x", "y", "a"], Set("a"), 2));
    }

    [Fact]
    public void The_accumulator_averages_each_metric_over_queries()
    {
        var accumulator = new MetricAccumulator(10);
        accumulator.Add(["a", "x"], Set("a"));        // hit at 1
        accumulator.Add(["x", "y", "b"], Set("b"));   // hit at 3
        var summary = accumulator.Summary();
        Assert.Equal(2, summary.Queries);
        Assert.Equal(0.5, summary.RecallAt1, Tolerance);
        Assert.Equal(1, summary.RecallAt5, Tolerance);
        Assert.Equal(1, summary.RecallAtK, Tolerance);
        Assert.Equal((1 + 1.0 / 3) / 2, summary.Mrr, Tolerance);
        Assert.Equal((1 + 0.5) / 2, summary.NdcgAtK, Tolerance);
    }

    [Fact]
    public void Every_dev_set_line_parses_and_names_products_of_the_demo_catalog()
    {
        var catalogPath = RepoPaths.InRepo("models", "demo-catalog", "catalog.jsonl");
        if (!File.Exists(catalogPath))
            Assert.Skip($"{catalogPath} is absent; the dev set is checked against the committed demo catalog.");
        var catalog = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(catalogPath).Where(l => !string.IsNullOrWhiteSpace(l)))
        {
            using var product = JsonDocument.Parse(line);
            catalog.Add(product.RootElement.GetProperty("id").GetString()!);
        }

        var devsetPath = RepoPaths.InRepo("models", "eval", "devset.jsonl");
        var languages = new Dictionary<string, int>(StringComparer.Ordinal);
        var queries = new HashSet<string>(StringComparer.Ordinal);
        var number = 0;
        foreach (var line in File.ReadLines(devsetPath))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
                continue;
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            var where = $"devset.jsonl line {number}";
            var query = root.GetProperty("query").GetString();
            Assert.False(string.IsNullOrWhiteSpace(query), $"{where}: empty query");
            Assert.True(queries.Add(query!), $"{where}: '{query}' appears twice");
            var lang = root.GetProperty("lang").GetString()!;
            Assert.True(lang is "en" or "zh", $"{where}: lang '{lang}'");
            languages[lang] = languages.GetValueOrDefault(lang) + 1;
            Assert.Equal(JsonValueKind.String, root.GetProperty("note").ValueKind);
            var relevant = root.GetProperty("relevant").EnumerateArray().Select(e => e.GetString()!).ToList();
            Assert.InRange(relevant.Count, 1, 20);
            Assert.Equal(relevant.Count, relevant.Distinct(StringComparer.Ordinal).Count());
            foreach (var id in relevant)
                Assert.True(catalog.Contains(id), $"{where} ('{query}'): {id} is not in the demo catalog");
        }
        Assert.True(queries.Count >= 150, $"the dev set has {queries.Count} queries; it should have at least 150");
        Assert.True(languages.GetValueOrDefault("en") >= queries.Count / 3 && languages.GetValueOrDefault("zh") >= queries.Count / 3,
            $"the dev set should be about half English, half Chinese: {string.Join(", ", languages)}");
    }

    [Fact]
    public void Every_composed_line_names_a_photo_and_targets_of_the_demo_catalog()
    {
        var catalogPath = RepoPaths.InRepo("models", "demo-catalog", "catalog.jsonl");
        if (!File.Exists(catalogPath))
            Assert.Skip($"{catalogPath} is absent; the composed set is checked against the committed demo catalog.");
        var catalog = File.ReadLines(catalogPath).Where(l => !string.IsNullOrWhiteSpace(l))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetString()!).ToHashSet(StringComparer.Ordinal);
        var lines = File.ReadLines(RepoPaths.InRepo("models", "eval", "composed.jsonl")).Where(l => !string.IsNullOrWhiteSpace(l)).ToList();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (line, number) in lines.Select((l, i) => (l, i + 1)))
        {
            var root = JsonDocument.Parse(line).RootElement;
            var where = $"composed.jsonl line {number}";
            var image = root.GetProperty("image").GetString()!;
            var modifier = root.GetProperty("modifier").GetString()!;
            Assert.True(catalog.Contains(image), $"{where}: photo {image} is not in the demo catalog");
            Assert.True(File.Exists(RepoPaths.InRepo("models", "demo-catalog", "images", $"{image}.webp")), $"{where}: no image file for {image}");
            Assert.False(string.IsNullOrWhiteSpace(modifier), $"{where}: empty modifier");
            Assert.True(seen.Add($"{image} {modifier}"), $"{where}: the same photo and words twice");
            var relevant = root.GetProperty("relevant").EnumerateArray().Select(e => e.GetString()!).ToList();
            Assert.InRange(relevant.Count, 1, 5);
            Assert.DoesNotContain(image, relevant);
            Assert.All(relevant, id => Assert.True(catalog.Contains(id), $"{where}: target {id} is not in the demo catalog"));
        }
        Assert.True(lines.Count >= 30, $"the composed set has {lines.Count} queries; it should have at least 30");
    }

    [Theory]
    [InlineData("Running Shoe", "running shoes")]
    [InlineData("Ballot Box", "ballot boxes")]
    [InlineData("Cherry", "cherries")]
    [InlineData("Peach", "peaches")]
    [InlineData("Chopsticks", null)]
    [InlineData("3D Glasses", null)]
    public void Title_plurals_make_the_last_word_plural(string title, string? plural) =>
        Assert.Equal(plural, Platform.Cli.Eval.EvalTasks.Plural(title));

    [Fact]
    public void Title_typos_change_every_long_word_once_and_the_same_way_every_run()
    {
        var typo = Platform.Cli.Eval.EvalTasks.Misspell("Stainless Steel Water Bottle")!;
        Assert.Equal(typo, Platform.Cli.Eval.EvalTasks.Misspell("Stainless Steel Water Bottle"));
        var words = typo.Split(' ');
        Assert.Equal(4, words.Length);
        Assert.All(words.Zip(new[] { "Stainless", "Steel", "Water", "Bottle" }), p =>
        {
            Assert.NotEqual(p.Second, p.First);
            Assert.Equal(p.Second[0], p.First[0]);
            Assert.InRange(p.First.Length, p.Second.Length - 1, p.Second.Length + 1);
        });
        Assert.Null(Platform.Cli.Eval.EvalTasks.Misspell("Red Mug"));
    }
}
