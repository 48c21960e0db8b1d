using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Platform.Contracts.Grains;
using Platform.Inference.Imaging;

namespace Platform.Gateway;

/// <summary>
/// The body of <c>POST /v1/search</c>: a JSON object, or a multipart form with the same fields (an <c>image</c> file
/// part for the photo; <c>filter</c>, <c>weights</c> and <c>boosts</c> as JSON text). Every field is checked, and a
/// field the API does not know is an error that names it.
/// </summary>
public static class SearchRequestParser
{
    public const int MaxQueryLength = 1000;

    private static readonly string[] Fields =
        ["q", "image", "k", "filter", "shopper", "session", "explain", "weights", "fusion", "minScore", "diversity", "boosts", "personalisation"];

    private static readonly string[] JsonFormFields = ["k", "filter", "explain", "weights", "minScore", "diversity", "boosts", "personalisation"];

    private static readonly string[] WeightFields = ["lexical", "title", "fuzzy", "textVector", "imageVector", "photo", "photoText", "caption", "textShare"];

    private static readonly string[] BoostFields = ["inStock", "margin", "new"];

    public static async Task<SearchQuery> ReadAsync(HttpRequest request, ImagePreprocessor images, CancellationToken ct)
    {
        JsonObject body;
        byte[]? image = null;
        if (request.HasJsonContentType())
        {
            try
            {
                body = await JsonNode.ParseAsync(request.Body, cancellationToken: ct) as JsonObject
                    ?? throw ApiProblem.BadRequest("the body must be a JSON object such as {\"q\": \"red shoes\", \"k\": 10}");
            }
            catch (JsonException e)
            {
                throw ApiProblem.BadRequest($"the body is not valid JSON: {e.Message}");
            }
        }
        else if (request.HasFormContentType)
        {
            var form = await GatewayEndpoints.ReadFormAsync(request, ct);
            body = [];
            foreach (var (key, value) in form)
            {
                if (!JsonFormFields.Contains(key))
                {
                    body[key] = value.ToString();
                    continue;
                }
                try
                {
                    body[key] = JsonNode.Parse(value.ToString());
                }
                catch (JsonException e)
                {
                    throw ApiProblem.BadRequest($"the form field '{key}' is not valid JSON: {e.Message}");
                }
            }
            if (form.Files.GetFile("image") is { } file)
            {
                using var stream = new MemoryStream();
                await file.CopyToAsync(stream, ct);
                image = stream.ToArray();
            }
        }
        else
        {
            throw ApiProblem.UnsupportedMediaType($"send the search as application/json or multipart/form-data, not '{request.ContentType ?? "no content type"}'");
        }
        return Parse(body, image, images);
    }

    private static SearchQuery Parse(JsonObject body, byte[]? imageFile, ImagePreprocessor images)
    {
        if (body.Select(p => p.Key).FirstOrDefault(k => !Fields.Contains(k)) is { } unknown)
            throw ApiProblem.BadRequest($"'{unknown}' is not a search field; the fields are {string.Join(", ", Fields)}");
        var query = new SearchQuery();
        var text = String(body, "q");
        if (text is { Length: > MaxQueryLength })
            throw ApiProblem.BadRequest($"'q' is {text.Length} characters; at most {MaxQueryLength} are accepted");
        query = query with { Text = string.IsNullOrWhiteSpace(text) ? null : text };

        var image = imageFile;
        if (String(body, "image") is { Length: > 0 } base64)
        {
            if (image is not null)
                throw ApiProblem.BadRequest("the photo came both as an 'image' file part and as an 'image' field; send one");
            try
            {
                image = Convert.FromBase64String(base64);
            }
            catch (FormatException)
            {
                throw ApiProblem.BadRequest("'image' is not valid base64");
            }
        }
        if (image is not null)
            query = query with { Image = ImageInput.FromTensor(images.PreprocessWithInfo(image).Tensor) };
        if (query.Text is null && query.Image is null)
            throw ApiProblem.BadRequest("give 'q' (words), 'image' (a photo), or both");

        if (body["k"] is { } k)
        {
            if (!TryInteger(k, out var value) || value is < 1 or > GatewayEndpoints.MaxK)
                throw ApiProblem.BadRequest($"'k' must be an integer from 1 to {GatewayEndpoints.MaxK}, got {k.ToJsonString()}");
            query = query with { K = value };
        }
        if (body["filter"] is { } filter)
        {
            using var document = JsonDocument.Parse(filter.ToJsonString());
            query = query with { Filter = FilterParser.Parse(document.RootElement) };
        }
        query = query with
        {
            Shopper = Id(body, "shopper"),
            Session = Id(body, "session"),
            Explain = body["explain"] switch
            {
                null => false,
                JsonValue v when v.TryGetValue<bool>(out var flag) => flag,
                var other => throw ApiProblem.BadRequest($"'explain' must be true or false, got {other.ToJsonString()}"),
            },
            Fusion = String(body, "fusion") switch
            {
                null => null,
                "early" => FusionMode.Early,
                "late" => FusionMode.Late,
                var other => throw ApiProblem.BadRequest($"'fusion' must be 'early' or 'late', got '{other}'"),
            },
            MinScore = Number(body, "minScore", 0, 1) ?? 0,
            Diversity = Number(body, "diversity", 0, 1) ?? 0,
            Personalisation = Number(body, "personalisation", 0, 0.5),
            Weights = Weights(body["weights"]),
            Boosts = Boosts(body["boosts"]),
        };
        return query;
    }

    private static SignalWeights? Weights(JsonNode? node)
    {
        if (node is null)
            return null;
        var weights = Object(node, "weights", WeightFields);
        return new SignalWeights
        {
            Lexical = Number(weights, "lexical", 0, SignalWeights.Max, "weights."),
            Title = Number(weights, "title", 0, SignalWeights.Max, "weights."),
            Fuzzy = Number(weights, "fuzzy", 0, SignalWeights.Max, "weights."),
            TextVector = Number(weights, "textVector", 0, SignalWeights.Max, "weights."),
            ImageVector = Number(weights, "imageVector", 0, SignalWeights.Max, "weights."),
            Photo = Number(weights, "photo", 0, SignalWeights.Max, "weights."),
            PhotoText = Number(weights, "photoText", 0, SignalWeights.Max, "weights."),
            Caption = Number(weights, "caption", 0, SignalWeights.Max, "weights."),
            TextShare = Number(weights, "textShare", 0, 1, "weights."),
        };
    }

    private static BusinessBoosts? Boosts(JsonNode? node)
    {
        if (node is null)
            return null;
        var boosts = Object(node, "boosts", BoostFields);
        return new BusinessBoosts
        {
            InStock = Number(boosts, "inStock", 0, BusinessBoosts.Max, "boosts.") ?? 0,
            Margin = Number(boosts, "margin", 0, BusinessBoosts.Max, "boosts.") ?? 0,
            New = Number(boosts, "new", 0, BusinessBoosts.Max, "boosts.") ?? 0,
        };
    }

    private static JsonObject Object(JsonNode node, string name, string[] fields)
    {
        if (node is not JsonObject obj)
            throw ApiProblem.BadRequest($"'{name}' must be an object with fields {string.Join(", ", fields)}, got {node.ToJsonString()}");
        if (obj.Select(p => p.Key).FirstOrDefault(k => !fields.Contains(k)) is { } unknown)
            throw ApiProblem.BadRequest($"'{name}.{unknown}' is not known; the fields are {string.Join(", ", fields)}");
        return obj;
    }

    private static string? String(JsonObject body, string name) => body[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        var other => throw ApiProblem.BadRequest($"'{name}' must be a string, got {other.ToJsonString()}"),
    };

    private static string? Id(JsonObject body, string name)
    {
        var id = String(body, name);
        if (id is null)
            return null;
        if (string.IsNullOrWhiteSpace(id) || id.Length > BehaviourEndpoints.MaxIdLength || id.Any(char.IsControl))
            throw ApiProblem.BadRequest($"'{name}' must be 1 to {BehaviourEndpoints.MaxIdLength} characters without control characters");
        return id;
    }

    private static double? Number(JsonObject body, string name, double min, double max, string prefix = "")
    {
        if (body[name] is not { } node)
            return null;
        if (node is not JsonValue value || !value.TryGetValue<double>(out var number) || double.IsNaN(number))
            throw ApiProblem.BadRequest($"'{prefix}{name}' must be a number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}, got {node.ToJsonString()}");
        if (number < min || number > max)
            throw ApiProblem.BadRequest($"'{prefix}{name}' must be from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}, got {number.ToString(CultureInfo.InvariantCulture)}");
        return number;
    }

    private static bool TryInteger(JsonNode node, out int value)
    {
        value = 0;
        return node is JsonValue v && v.TryGetValue<double>(out var number) && number == Math.Floor(number) && number is >= int.MinValue and <= int.MaxValue
            && (value = (int)number) == number;
    }
}
