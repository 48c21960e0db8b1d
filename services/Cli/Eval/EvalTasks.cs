namespace Platform.Cli.Eval;

public enum QueryKind
{
    Text,
    Image,

    /// <summary>A photo and words: <see cref="EvalQuery.Query"/> is the photo's path, a newline, the words.</summary>
    Composed,
}

/// <summary>One query: words, or the path of an image; and the product ids that answer it.</summary>
public sealed record EvalQuery(string Query, IReadOnlySet<string> Relevant, string? Note = null);

/// <summary>A retrieval task: a named list of queries of one kind. <c>Available</c> is how many before --limit.</summary>
public sealed record EvalTask(string Name, string Description, QueryKind Kind, IReadOnlyList<EvalQuery> Queries, int Available);

/// <summary>Builds the retrieval tasks from the catalog, the concepts behind it and the dev set.</summary>
public static class EvalTasks
{
    public const int MaxProductsPerTag = 10;

    /// <summary>
    /// Tasks built from concepts.jsonl: names (EN, ZH), tags (EN, ZH), Noto images; and where the model names the
    /// concepts it never trained on (<paramref name="heldOut"/>, unified codes), the same names and Noto images for
    /// those concepts alone: the zero-shot figures.
    /// </summary>
    public static List<EvalTask> FromConcepts(IReadOnlyList<CatalogProduct> catalog, IReadOnlyDictionary<string, Concept> concepts, int? limit,
        IReadOnlySet<string>? heldOut = null)
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

        if (heldOut is { Count: > 0 })
        {
            var unseen = inCatalog.Where(c => heldOut.Contains(c.Unified)).ToList();
            tasks.Add(ByName("heldout-names-en", "English name of each catalog product whose concept the model never trained on → that product", unseen, c => c.NameEn, limit));
            tasks.Add(ByName("heldout-names-zh", "Chinese name of each held-out concept's product → that product", unseen, c => c.NameZh, limit));
            var unseenNoto = unseen.Where(c => c.Noto is not null && File.Exists(c.Noto))
                .Select(c => new EvalQuery(c.Noto!, new HashSet<string>(StringComparer.Ordinal) { c.ProductId })).ToList();
            tasks.Add(new EvalTask("heldout-image-noto", "Noto art of each held-out concept (unseen concept, unseen style) → that product",
                QueryKind.Image, EvalData.Spread(unseenNoto, limit), unseenNoto.Count));
        }
        return tasks;
    }

    /// <summary>
    /// Tasks built from the catalog's own titles, for the lexical signal's shopper-facing habits: each title with its
    /// last word in the plural ("running shoes" for "Running Shoe"), and each title misspelt (one edit in every word of
    /// five letters or more, the same edits every run). A title shared by several products is answered by all of them.
    /// </summary>
    public static List<EvalTask> FromTitles(IReadOnlyList<CatalogProduct> catalog, int? limit)
    {
        var byTitle = catalog.GroupBy(p => p.Product.Title.Trim(), StringComparer.OrdinalIgnoreCase)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => (Title: g.Key, Ids: g.Select(p => p.Product.Id).ToHashSet(StringComparer.Ordinal))).ToList();
        EvalTask Make(string name, string description, Func<string, string?> rewrite)
        {
            var queries = byTitle.Select(t => (Query: rewrite(t.Title), t.Ids)).Where(q => q.Query is not null)
                .Select(q => new EvalQuery(q.Query!, q.Ids)).ToList();
            return new EvalTask(name, description, QueryKind.Text, EvalData.Spread(queries, limit), queries.Count);
        }
        return
        [
            Make("titles-plural", "each product title, lower-cased with its last word in the plural → that product", Plural),
            Make("titles-typo", "each product title with one typo in every word of 5+ letters (swap, drop, double or replace a letter) → that product", Misspell),
        ];
    }

    /// <summary>The title lower-cased with its last word made plural; null when the last word is not an English word or a plural already.</summary>
    public static string? Plural(string title)
    {
        var words = title.ToLowerInvariant().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0)
            return null;
        var last = words[^1];
        if (last.Length < 3 || !last.All(char.IsAsciiLetterLower) || last.EndsWith('s'))
            return null;
        words[^1] = last switch
        {
            _ when last.EndsWith('x') || last.EndsWith("ch", StringComparison.Ordinal) || last.EndsWith("sh", StringComparison.Ordinal) => last + "es",
            _ when last.EndsWith('y') && !"aeiou".Contains(last[^2]) => last[..^1] + "ies",
            _ => last + "s",
        };
        return string.Join(' ', words);
    }

    /// <summary>The title with one edit in each word of five letters or more, chosen from a hash of the word (the same every run); null when no word is that long.</summary>
    public static string? Misspell(string title)
    {
        var changed = false;
        var words = title.Split(' ').Select(word =>
        {
            if (word.Length < 5 || !word.All(char.IsAsciiLetter))
                return word;
            changed = true;
            var hash = (uint)word.Aggregate(17, (h, c) => unchecked(h * 31 + c));
            var at = 1 + (int)(hash % (uint)(word.Length - 2)); // never the first letter: shoppers get that right
            return (hash / 7 % 4) switch
            {
                0 => word[..at] + word[at + 1] + word[at] + word[(at + 2)..],   // swap two letters
                1 => word[..at] + word[(at + 1)..],                             // drop one
                2 => word[..at] + word[at] + word[at..],                        // double one
                _ => word[..at] + (char)('a' + (char.ToLowerInvariant(word[at]) - 'a' + 1) % 26) + word[(at + 1)..], // replace one
            };
        }).ToArray();
        return changed ? string.Join(' ', words) : null;
    }

    /// <summary>The composed set as a task: a product's photo and a modifier ("blue") → the products that answer both.</summary>
    public static EvalTask FromComposed(IReadOnlyList<ComposedQuery> composed, int? limit)
    {
        var queries = composed.Select(c => new EvalQuery($"{c.ImagePath}\n{c.Modifier}", c.Relevant, c.Note)).ToList();
        return new EvalTask("composed", "a product's photo plus a modifier in words (\"like this, but blue\") → the products that answer both", QueryKind.Composed,
            EvalData.Spread(queries, limit), queries.Count);
    }

    /// <summary>
    /// The composed set again with each photo as a shopper would send it: the catalog picture flattened on white,
    /// scaled to 80 % and saved as a JPEG of quality 75 (written under <paramref name="folder"/>), so it is no longer
    /// the catalog's own file.
    /// </summary>
    public static EvalTask FromComposedAsShopperPhotos(IReadOnlyList<ComposedQuery> composed, string folder, int? limit)
    {
        Directory.CreateDirectory(folder);
        var queries = new List<EvalQuery>();
        foreach (var c in composed)
        {
            var path = Path.Combine(folder, c.Image + ".jpg");
            if (!File.Exists(path))
            {
                using var image = NetVips.Image.NewFromFile(c.ImagePath);
                using var flat = image.HasAlpha() ? image.Flatten([255, 255, 255]) : image.Copy();
                using var smaller = flat.Resize(0.8);
                smaller.Jpegsave(path, q: 75);
            }
            queries.Add(new EvalQuery($"{path}\n{c.Modifier}", c.Relevant, c.Note));
        }
        return new EvalTask("composed-jpeg", "the composed set with each photo re-encoded as a shopper's JPEG (80 % scale, quality 75): not the catalog's own file", QueryKind.Composed,
            EvalData.Spread(queries, limit), queries.Count);
    }

    /// <summary>The photo path and the words of a composed query.</summary>
    public static (string ImagePath, string Words) SplitComposed(string query)
    {
        var at = query.IndexOf('\n');
        return at < 0 ? (query, "") : (query[..at], query[(at + 1)..]);
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
