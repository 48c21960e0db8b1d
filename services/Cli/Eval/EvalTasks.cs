namespace Platform.Cli.Eval;

public enum QueryKind
{
    Text,
    Image,
}

/// <summary>One query: words, or the path of an image; and the product ids that answer it.</summary>
public sealed record EvalQuery(string Query, IReadOnlySet<string> Relevant, string? Note = null);

/// <summary>A retrieval task: a named list of queries of one kind. <c>Available</c> is how many before --limit.</summary>
public sealed record EvalTask(string Name, string Description, QueryKind Kind, IReadOnlyList<EvalQuery> Queries, int Available);

/// <summary>Builds the retrieval tasks from the catalog, the concepts behind it and the dev set.</summary>
public static class EvalTasks
{
    public const int MaxProductsPerTag = 10;

    /// <summary>Tasks built from concepts.jsonl: names (EN, ZH), tags (EN, ZH), Noto images.</summary>
    public static List<EvalTask> FromConcepts(IReadOnlyList<CatalogProduct> catalog, IReadOnlyDictionary<string, Concept> concepts, int? limit)
    {
        var inCatalog = catalog.Select(p => p.Product.Id).Where(concepts.ContainsKey).Order(StringComparer.Ordinal)
            .Select(id => concepts[id]).ToList();

        var tasks = new List<EvalTask>
        {
            ByName("names-en", "English name of each catalog product's emoji (Unicode CLDR name) → that product", inCatalog, c => c.NameEn, limit),
            ByName("names-zh", "Chinese name of each catalog product's emoji → that product", inCatalog, c => c.NameZh, limit),
            ByTag("tags-en", "each English tag found on 1–10 catalog products → all of those products", inCatalog, c => c.TagsEn, limit),
            ByTag("tags-zh", "each Chinese tag found on 1–10 catalog products → all of those products", inCatalog, c => c.TagsZh, limit),
        };

        var noto = inCatalog.Where(c => c.Noto is not null && File.Exists(c.Noto))
            .Select(c => new EvalQuery(c.Noto!, new HashSet<string>(StringComparer.Ordinal) { c.ProductId })).ToList();
        tasks.Add(new EvalTask("image-noto", "Noto emoji art (flat 2D, another style than the catalog's 3D renders) → that product",
            QueryKind.Image, EvalData.Spread(noto, limit), noto.Count));
        return tasks;
    }

    /// <summary>The dev set as three tasks: all queries, English only, Chinese only.</summary>
    public static List<EvalTask> FromDevset(IReadOnlyList<DevQuery> devset, IReadOnlySet<string> catalogIds, int? limit, List<string> problems)
    {
        var queries = new List<(string Lang, EvalQuery Query)>();
        foreach (var line in devset)
        {
            var missing = line.Relevant.Where(id => !catalogIds.Contains(id)).ToList();
            if (missing.Count > 0)
                problems.Add($"dev set query '{line.Query}': {string.Join(", ", missing)} not in the catalog; left out of its relevant set");
            var relevant = line.Relevant.Where(catalogIds.Contains).ToHashSet(StringComparer.Ordinal);
            if (relevant.Count == 0)
            {
                problems.Add($"dev set query '{line.Query}': none of its relevant products is in the catalog; query skipped");
                continue;
            }
            queries.Add((line.Lang, new EvalQuery(line.Query, relevant, line.Note)));
        }
        EvalTask Make(string name, string description, Func<string, bool> lang)
        {
            var selected = queries.Where(q => lang(q.Lang)).Select(q => q.Query).ToList();
            return new EvalTask(name, description, QueryKind.Text, EvalData.Spread(selected, limit), selected.Count);
        }
        return
        [
            Make("devset", "natural-language shopping queries (EN + ZH) → every product that satisfies them", _ => true),
            Make("devset-en", "the dev set's English queries", l => l == "en"),
            Make("devset-zh", "the dev set's Chinese queries", l => l == "zh"),
        ];
    }

    private static EvalTask ByName(string name, string description, IReadOnlyList<Concept> concepts, Func<Concept, string?> text, int? limit)
    {
        // Concepts sharing a name (rare) are all relevant to it.
        var byName = new Dictionary<string, SortedSet<string>>(StringComparer.OrdinalIgnoreCase);
        var order = new List<string>();
        foreach (var concept in concepts)
        {
            var value = text(concept)?.Trim();
            if (string.IsNullOrEmpty(value))
                continue;
            if (!byName.TryGetValue(value, out var ids))
            {
                byName[value] = ids = new SortedSet<string>(StringComparer.Ordinal);
                order.Add(value);
            }
            ids.Add(concept.ProductId);
        }
        var queries = order.Select(q => new EvalQuery(q, byName[q].ToHashSet(StringComparer.Ordinal))).ToList();
        return new EvalTask(name, description, QueryKind.Text, EvalData.Spread(queries, limit), queries.Count);
    }

    private static EvalTask ByTag(string name, string description, IReadOnlyList<Concept> concepts, Func<Concept, IReadOnlyList<string>?> tags, int? limit)
    {
        var byTag = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (var concept in concepts)
        {
            foreach (var raw in tags(concept) ?? [])
            {
                var tag = raw.Trim().ToLowerInvariant();
                if (tag.Length == 0)
                    continue;
                if (!byTag.TryGetValue(tag, out var ids))
                    byTag[tag] = ids = new SortedSet<string>(StringComparer.Ordinal);
                ids.Add(concept.ProductId);
            }
        }
        var queries = byTag.Where(p => p.Value.Count is >= 1 and <= MaxProductsPerTag)
            .Select(p => new EvalQuery(p.Key, p.Value.ToHashSet(StringComparer.Ordinal))).ToList();
        return new EvalTask(name, description, QueryKind.Text, EvalData.Spread(queries, limit), queries.Count);
    }
}
