using System.Text.Json;
using System.Text.RegularExpressions;
using Platform.Contracts.Grains;

namespace Platform.Gateway;

/// <summary>
/// The filter language every search and recommendation endpoint takes, as a JSON object:
/// <c>{"category": "shoes" | ["shoes", "boots"], "subcategory": ..., "price": {"min": 10, "max": 50},
/// "attributes": {"color": "red" | ["red", "blue"]}}</c>. Every field is optional; a list means any of its values.
/// GET endpoints take the same object in a <c>filter</c> query parameter. Anything else is a 400 saying what is wrong.
/// </summary>
public static partial class FilterParser
{
    public const int MaxValues = 100;
    private static readonly string[] Fields = ["category", "subcategory", "price", "attributes"];

    /// <summary>The filter in a query parameter's text (JSON), or null when absent or empty.</summary>
    public static ProductFilter? FromQuery(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
            return null;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            throw ApiProblem.BadRequest($"'filter' is not valid JSON: {e.Message}");
        }
        using (document)
            return Parse(document.RootElement);
    }

    /// <summary>The filter in a JSON element (a body's <c>filter</c> field); null for JSON null.</summary>
    public static ProductFilter? Parse(JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Null)
            return null;
        if (element.ValueKind != JsonValueKind.Object)
            throw ApiProblem.BadRequest($"'filter' must be a JSON object such as {{\"category\": \"shoes\", \"price\": {{\"max\": 50}}}}, not {Describe(element)}");
        var filter = new ProductFilter();
        foreach (var field in element.EnumerateObject())
        {
            filter = field.Name switch
            {
                "category" => filter with { Category = Values(field.Value, "filter.category") },
                "subcategory" => filter with { Subcategory = Values(field.Value, "filter.subcategory") },
                "price" => ParsePrice(field.Value, filter),
                "attributes" => filter with { Attributes = ParseAttributes(field.Value) },
                _ => throw ApiProblem.BadRequest($"'filter.{field.Name}' is not a filter field; the fields are {string.Join(", ", Fields)}"),
            };
        }
        return filter.IsEmpty ? null : filter;
    }

    private static ProductFilter ParsePrice(JsonElement price, ProductFilter filter)
    {
        if (price.ValueKind != JsonValueKind.Object)
            throw ApiProblem.BadRequest($"'filter.price' must be an object such as {{\"min\": 10, \"max\": 50}}, not {Describe(price)}");
        foreach (var bound in price.EnumerateObject())
        {
            if (bound.Name is not ("min" or "max"))
                throw ApiProblem.BadRequest($"'filter.price.{bound.Name}' is not a price bound; use 'min' and 'max'");
            if (bound.Value.ValueKind != JsonValueKind.Number || !bound.Value.TryGetDecimal(out var value))
                throw ApiProblem.BadRequest($"'filter.price.{bound.Name}' must be a number, not {Describe(bound.Value)}");
            if (value < 0)
                throw ApiProblem.BadRequest($"'filter.price.{bound.Name}' must not be negative, got {value}");
            filter = bound.Name == "min" ? filter with { MinPrice = value } : filter with { MaxPrice = value };
        }
        if (filter.MinPrice > filter.MaxPrice)
            throw ApiProblem.BadRequest($"'filter.price.min' ({filter.MinPrice}) is more than 'filter.price.max' ({filter.MaxPrice})");
        return filter;
    }

    private static Dictionary<string, IReadOnlyList<string>> ParseAttributes(JsonElement attributes)
    {
        if (attributes.ValueKind != JsonValueKind.Object)
            throw ApiProblem.BadRequest($"'filter.attributes' must be an object of attribute names to values, such as {{\"color\": \"red\"}}, not {Describe(attributes)}");
        var parsed = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var attribute in attributes.EnumerateObject())
        {
            if (!AttributeName().IsMatch(attribute.Name))
                throw ApiProblem.BadRequest($"'{attribute.Name}' is not an attribute name: use letters, digits, '_' and '-' (at most 64)");
            parsed[attribute.Name] = Values(attribute.Value, $"filter.attributes.{attribute.Name}");
        }
        return parsed;
    }

    private static IReadOnlyList<string> Values(JsonElement value, string name)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                return [value.GetString()!];
            case JsonValueKind.Array:
                var values = new List<string>();
                foreach (var item in value.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String)
                        throw ApiProblem.BadRequest($"'{name}' must hold strings, not {Describe(item)}");
                    values.Add(item.GetString()!);
                }
                if (values.Count == 0)
                    throw ApiProblem.BadRequest($"'{name}' is an empty list, which no product matches; leave it out to match any");
                if (values.Count > MaxValues)
                    throw ApiProblem.BadRequest($"'{name}' has {values.Count} values; at most {MaxValues} are accepted");
                return values;
            default:
                throw ApiProblem.BadRequest($"'{name}' must be a string or a list of strings, not {Describe(value)}");
        }
    }

    internal static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        JsonValueKind.String => $"the string \"{Clip(value.GetString()!)}\"",
        JsonValueKind.Number => $"the number {value.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
        _ => "null",
    };

    private static string Clip(string text) => text.Length <= 40 ? text : text[..40] + "…";

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex AttributeName();
}
