using Platform.Contracts;

namespace Platform.Gateway;

/// <summary>The rules a product must meet to be accepted; each failure names the field and what is wrong.</summary>
public static class ProductValidation
{
    public const int MaxIdLength = 128;
    public const int MaxTitleLength = 500;
    public const int MaxDescriptionLength = 10_000;
    public const int MaxAttributes = 64;

    public static ProductInfo Validate(ProductInfo product)
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(product.Id))
            problems.Add("'id' is required");
        else if (product.Id.Length > MaxIdLength || !product.Id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':'))
            problems.Add($"'id' must be 1-{MaxIdLength} characters of letters, digits, '-', '_', '.' or ':'");
        if (string.IsNullOrWhiteSpace(product.Title))
            problems.Add("'title' must not be empty");
        else if (product.Title.Length > MaxTitleLength)
            problems.Add($"'title' is {product.Title.Length} characters; at most {MaxTitleLength} are accepted");
        if (product.Description?.Length > MaxDescriptionLength)
            problems.Add($"'description' is {product.Description.Length} characters; at most {MaxDescriptionLength} are accepted");
        if (product.Price is < 0)
            problems.Add("'price' must not be negative");
        if (product.Attributes is { } attributes)
        {
            if (attributes.Count > MaxAttributes)
                problems.Add($"{attributes.Count} attributes given; at most {MaxAttributes} are accepted");
            foreach (var (key, value) in attributes)
            {
                if (string.IsNullOrWhiteSpace(key) || key.Length > 64)
                    problems.Add("attribute names must be 1-64 characters");
                if (value is null || value.Length > 1000)
                    problems.Add($"attribute '{key}' must have a value of at most 1000 characters");
            }
        }
        if (problems.Count > 0)
            throw ApiProblem.BadRequest(string.Join("; ", problems.Distinct()));
        return product with { Title = product.Title.Trim() };
    }
}
