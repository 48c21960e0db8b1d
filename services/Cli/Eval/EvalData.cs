using System.Text.Json;
using System.Text.Json.Serialization;
using Platform.Catalog;
using Platform.Contracts;
using Platform.Gateway;

namespace Platform.Cli.Eval;

/// <summary>One line of the emoji dataset's <c>concepts.jsonl</c> (the ground truth the tasks are built from).</summary>
public sealed record Concept(
    string Unified,
    string? Emoji,
    string? Category,
    string? Subcategory,
    string? NameEn,
    string? NameZh,
    IReadOnlyList<string>? TagsEn,
    IReadOnlyList<string>? TagsZh,
    string? Fluent,
    string? Noto)
{
    /// <summary>The demo catalog's id for this concept.</summary>
    public string ProductId => "emoji-" + Unified.ToLowerInvariant();
}

/// <summary>A catalog product as the platform would accept it, with its image file.</summary>
public sealed record CatalogProduct(ProductInfo Product, string ImagePath);

/// <summary>One line of the composed set: a product's photo (its id), the words added to it, and the products that answer both.</summary>
public sealed record ComposedLine(string Image, string Modifier, string Lang, IReadOnlyList<string> Relevant, string? Note);

/// <summary>A composed query ready to run: the photo's file, the words, the answers.</summary>
public sealed record ComposedQuery(string Image, string ImagePath, string Modifier, string Lang, IReadOnlySet<string> Relevant, string? Note);

/// <summary>One line of the dev set.</summary>
public sealed record DevQuery(string Query, string Lang, IReadOnlyList<string> Relevant, string? Note);

public static class EvalData
{
    private static readonly JsonSerializerOptions SnakeCase = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        PropertyNameCaseInsensitive = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
    };

    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web) { NumberHandling = JsonNumberHandling.AllowReadingFromString };

    /// <summary>
    /// The catalog's products, validated and normalised as the gateway does on ingest; lines the platform would
    /// refuse are left out and described in <paramref name="problems"/>. Order: as in the file.
    /// </summary>
    public static List<CatalogProduct> ReadCatalog(string path, List<string> problems)
    {
        var products = new List<CatalogProduct>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in CatalogFile.Read(path))
        {
            if (line.Error is not null)
            {
                problems.Add($"{path}:{line.LineNumber}: {line.Error}");
                continue;
            }
            ProductInfo product;
            try
            {
                product = ProductValidation.Validate(line.Product!);
            }
            catch (ApiProblem e)
            {
                problems.Add($"{path}:{line.LineNumber}: {e.Message}");
                continue;
            }
            if (!File.Exists(line.ImagePath))
            {
                problems.Add($"{path}:{line.LineNumber}: image {line.ImagePath} does not exist");
                continue;
            }
            if (!ids.Add(product.Id))
            {
                // A later line replaces an earlier one on ingest; keep the later one.
                products.RemoveAll(p => p.Product.Id == product.Id);
            }
            products.Add(new CatalogProduct(product, line.ImagePath!));
        }
        return products;
    }

    /// <summary>Concepts by product id; relative image paths are resolved against the file's folder.</summary>
    public static Dictionary<string, Concept> ReadConcepts(string path, List<string> problems)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var concepts = new Dictionary<string, Concept>(StringComparer.Ordinal);
        var number = 0;
        foreach (var text in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(text))
                continue;
            Concept? concept;
            try
            {
                concept = JsonSerializer.Deserialize<Concept>(text, SnakeCase);
            }
            catch (JsonException e)
            {
                problems.Add($"{path}:{number}: not valid JSON: {e.Message}");
                continue;
            }
            if (concept is null || string.IsNullOrWhiteSpace(concept.Unified))
            {
                problems.Add($"{path}:{number}: no 'unified' code");
                continue;
            }
            concept = concept with
            {
                Noto = Resolve(directory, concept.Noto),
                Fluent = Resolve(directory, concept.Fluent),
            };
            concepts[concept.ProductId] = concept;
        }
        return concepts;
    }

    /// <summary>The composed set, its photos resolved to the catalog's image files; lines naming products the catalog lacks are reported and left out.</summary>
    public static List<ComposedQuery> ReadComposed(string path, IReadOnlyList<CatalogProduct> catalog, List<string> problems)
    {
        var images = catalog.ToDictionary(p => p.Product.Id, p => p.ImagePath, StringComparer.Ordinal);
        var queries = new List<ComposedQuery>();
        foreach (var (number, line) in JsonLines<ComposedLine>(path))
        {
            if (line is null || string.IsNullOrWhiteSpace(line.Image) || string.IsNullOrWhiteSpace(line.Modifier) || line.Relevant is not { Count: > 0 })
                throw new InvalidDataException($"{path}:{number}: 'image', 'modifier' and 'relevant' (at least one id) are required");
            if (!images.TryGetValue(line.Image, out var imagePath))
            {
                problems.Add($"composed set line {number}: photo product '{line.Image}' is not in the catalog; skipped");
                continue;
            }
            var relevant = line.Relevant.Where(images.ContainsKey).ToHashSet(StringComparer.Ordinal);
            if (relevant.Count == 0)
            {
                problems.Add($"composed set line {number}: none of its targets is in the catalog; skipped");
                continue;
            }
            queries.Add(new ComposedQuery(line.Image, imagePath, line.Modifier, line.Lang ?? "en", relevant, line.Note));
        }
        return queries;
    }

    /// <summary>The non-blank lines of a JSON-lines file of ours, parsed, with their numbers; a line that does not parse throws naming it.</summary>
    private static IEnumerable<(int Number, T? Value)> JsonLines<T>(string path)
    {
        var number = 0;
        foreach (var text in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(text))
                continue;
            T? value;
            try
            {
                value = JsonSerializer.Deserialize<T>(text, Web);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{path}:{number}: not valid JSON: {e.Message}");
            }
            yield return (number, value);
        }
    }

    /// <summary>The dev set; a malformed line throws with its number (the file is ours, so it must be right).</summary>
    public static List<DevQuery> ReadDevset(string path)
    {
        var queries = new List<DevQuery>();
        foreach (var (number, query) in JsonLines<DevQuery>(path))
        {
            if (query is null || string.IsNullOrWhiteSpace(query.Query))
                throw new InvalidDataException($"{path}:{number}: 'query' is missing");
            if (query.Lang is not ("en" or "zh"))
                throw new InvalidDataException($"{path}:{number}: 'lang' must be \"en\" or \"zh\", got '{query.Lang}'");
            if (query.Relevant is not { Count: > 0 })
                throw new InvalidDataException($"{path}:{number}: 'relevant' must list at least one product id");
            queries.Add(query);
        }
        return queries;
    }

    /// <summary>
    /// A file found by walking up from the binary (then from the working directory): the first
    /// <c>ancestor/relative</c> that exists, or null.
    /// </summary>
    public static string? FindUpwards(string relative)
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, relative);
                if (File.Exists(candidate))
                    return candidate;
            }
        }
        return null;
    }

    /// <summary>
    /// <paramref name="count"/> items spread evenly over <paramref name="items"/> (all of them when count is null or
    /// not smaller): a quick run still samples every part of a list sorted by id, and is the same every time.
    /// </summary>
    public static List<T> Spread<T>(IReadOnlyList<T> items, int? count)
    {
        if (count is not { } n || n >= items.Count)
            return [.. items];
        var picked = new List<T>(n);
        for (var i = 0; i < n; i++)
            picked.Add(items[(int)((long)i * items.Count / n)]);
        return picked;
    }

    private static string? Resolve(string directory, string? path) =>
        string.IsNullOrWhiteSpace(path) ? null : Path.GetFullPath(Path.Combine(directory, path));
}
