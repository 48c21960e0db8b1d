using System.Text.Json;
using System.Text.Json.Serialization;
using Platform.Contracts;

namespace Platform.Catalog;

/// <summary>One line of a catalog file: a product and the path of its image (relative to the file).</summary>
public sealed record CatalogLine(int LineNumber, ProductInfo? Product, string? ImagePath, string? Error);

/// <summary>
/// Reads JSON-lines catalogs: <c>{"id","title","description","category","price","attributes":{...},"image":"path"}</c>
/// per line. A bad line is reported with its number and reason; it does not stop the rest.
/// </summary>
public static class CatalogFile
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { NumberHandling = JsonNumberHandling.AllowReadingFromString };

    public static IEnumerable<CatalogLine> Read(string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var number = 0;
        foreach (var text in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(text))
                continue;
            yield return Parse(number, text, directory);
        }
    }

    private static CatalogLine Parse(int number, string text, string directory)
    {
        Line? line;
        try
        {
            line = JsonSerializer.Deserialize<Line>(text, Json);
        }
        catch (JsonException e)
        {
            return new CatalogLine(number, null, null, $"not valid JSON: {e.Message}");
        }
        if (line is null)
            return new CatalogLine(number, null, null, "empty line");
        if (string.IsNullOrWhiteSpace(line.Image))
            return new CatalogLine(number, null, null, "'image' (a path to the product's image) is missing");
        var product = new ProductInfo(line.Id ?? "", line.Title ?? "", line.Description, line.Category, line.Price, line.Attributes);
        return new CatalogLine(number, product, Path.GetFullPath(Path.Combine(directory, line.Image)), null);
    }

    private sealed record Line(string? Id, string? Title, string? Description, string? Category, decimal? Price,
        Dictionary<string, string>? Attributes, string? Image);
}
