using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.OpenApi;
using Platform.Catalog;
using Platform.Contracts;
using Platform.Contracts.Grains;
using Platform.Inference.Imaging;

namespace Platform.Gateway;

/// <summary>The body of <c>POST /v1/products</c> as JSON: the product and its image in base64.</summary>
public sealed record ProductRequest(string? Id, string? Title, string? Description, string? Category, decimal? Price,
    Dictionary<string, string>? Attributes, string? Image);

/// <summary>A product as <c>GET /v1/products/{id}</c> shows it.</summary>
public sealed record ProductView(string Id, string Title, string? Description, string? Category, decimal? Price,
    IReadOnlyDictionary<string, string> Attributes, ProductStatus Status, string? Reason, string ContentHash, DateTimeOffset UpdatedAt);

public sealed record SearchResponse(IReadOnlyList<SearchHit> Results);

/// <summary>The body of <c>POST /v1/recommend</c>: example products to be like (<see cref="Positive"/>) and unlike
/// (<see cref="Negative"/>), and optionally words (<see cref="Q"/>). <see cref="Strategy"/> is <c>average</c> (search
/// from the examples' mean; needs a positive example or words) or <c>best</c> (score each product against its
/// nearest positive and negative example; works with negatives alone).</summary>
public sealed record RecommendRequestBody(IReadOnlyList<string>? Positive, IReadOnlyList<string>? Negative, string? Q, int? K, string? Strategy,
    JsonElement? Filter = null);

/// <summary>The public HTTP API, version 1.</summary>
public static class GatewayEndpoints
{
    public const int DefaultK = 10;

    /// <summary>The most results one search returns.</summary>
    public const int MaxK = 100;

    public static IEndpointRouteBuilder MapGatewayApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1");

        v1.MapPost("/products", async (HttpRequest request, IngestService ingest, CancellationToken ct) =>
            {
                var (product, image) = await ReadProductAsync(request, ct);
                var receipt = await ingest.IngestAsync(product, image, ct);
                return Results.Accepted($"/v1/products/{Uri.EscapeDataString(receipt.Id)}", receipt);
            })
            .WithName("IngestProduct")
            .WithSummary("Ingest a product: JSON with a base64 image, or a multipart form with an 'image' file part")
            .DescribeBody("the product as JSON (image in base64), or a multipart form with an 'image' file part", "application/json", "multipart/form-data")
            .Produces<IngestReceipt>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

        v1.MapGet("/products/{id}", async (string id, IProductCatalog catalog, CancellationToken ct) =>
            {
                var record = await catalog.GetAsync(id, ct) ?? throw ApiProblem.NotFound($"no product with id '{id}'");
                var p = record.Product;
                return Results.Ok(new ProductView(p.Id, p.Title, p.Description, p.Category, p.Price,
                    p.Attributes ?? new Dictionary<string, string>(), record.Status, record.FailureReason, record.ContentHash, record.UpdatedAt));
            })
            .WithName("GetProduct")
            .WithSummary("A product and its status: pending, indexed, or failed with a reason")
            .Produces<ProductView>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        v1.MapGet("/products/{id}/similar", async (string id, string? k, string? sameCategory, string? filter, IProductCatalog catalog, IGrainFactory grains, CancellationToken ct) =>
            {
                var limit = ParseK(k);
                var parsed = FilterParser.FromQuery(filter);
                var within = sameCategory switch
                {
                    null or "" or "false" => false,
                    "true" => true,
                    _ => throw ApiProblem.BadRequest($"'sameCategory' must be true or false, got '{sameCategory}'"),
                };
                await RequireIndexedAsync(catalog, [id], ct);
                var hits = await RetrieveAsync(grains, r => r.Similar(id, limit, within, parsed), ct)
                    ?? throw ApiProblem.NotFound($"product '{id}' is not in the search index");
                return Results.Ok(new SearchResponse(hits));
            })
            .WithName("SimilarProducts")
            .WithSummary("Products like this one, by image and text neighbours and what shoppers take together; never the product itself; sameCategory=true keeps to its category; filter=<JSON filter>")
            .Produces<SearchResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        v1.MapPost("/recommend", async (HttpRequest request, IProductCatalog catalog, IGrainFactory grains, CancellationToken ct) =>
            {
                var query = await ReadRecommendAsync(request, ct);
                await RequireIndexedAsync(catalog, query.Positive.Concat(query.Negative).Distinct(StringComparer.Ordinal).ToList(), ct);
                var result = await RetrieveAsync(grains, r => r.Recommend(query), ct);
                if (result.NotIndexed.Length > 0)
                    throw ApiProblem.NotFound($"not in the search index: {string.Join(", ", result.NotIndexed.Select(id => $"'{id}'"))}");
                return Results.Ok(new SearchResponse(result.Hits));
            })
            .WithName("Recommend")
            .WithSummary("Products like the positive examples (and the words of q), unlike the negative ones; the examples are never returned")
            .DescribeBody("{\"positive\": [product ids], \"negative\": [product ids], \"q\": \"words\", \"k\": 10, \"strategy\": \"average\" | \"best\", \"filter\": {...}}", "application/json")
            .Produces<SearchResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        v1.MapGet("/search", async (string? q, string? k, IGrainFactory grains, CancellationToken ct) =>
            {
                if (string.IsNullOrWhiteSpace(q))
                    throw ApiProblem.BadRequest("'q' (the words to search for) is required and must not be empty");
                if (q.Length > 1000)
                    throw ApiProblem.BadRequest($"'q' is {q.Length} characters; at most 1000 are accepted");
                var limit = ParseK(k);
                return Results.Ok(new SearchResponse(await RetrieveAsync(grains, r => r.SearchText(q, limit), ct)));
            })
            .WithName("SearchByText")
            .WithSummary("Search products by words (English or Chinese)")
            .Produces<SearchResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest);

        v1.MapPost("/search", async (HttpRequest request, ImagePreprocessor images, IGrainFactory grains, CancellationToken ct) =>
            {
                var query = await SearchRequestParser.ReadAsync(request, images, ct);
                return Results.Ok(await RetrieveAsync(grains, r => r.Search(query), ct));
            })
            .WithName("Search")
            .WithSummary("One search for everything: words, a photo or both (\"like this, but red\"), with a filter, facets, a shopper's or session's taste, boosts, diversity and explanations")
            .DescribeBody("{\"q\": \"words\", \"image\": \"base64\", \"k\": 10, \"filter\": {...}, \"shopper\": \"id\", \"session\": \"id\", \"explain\": true, \"weights\": {...}, \"fusion\": \"early\" | \"late\", \"minScore\": 0.1, \"diversity\": 0.3, \"boosts\": {\"inStock\": 0.2, \"margin\": 0.1, \"new\": 0.1}, \"personalisation\": 0.2}, or the same fields as a multipart form with an 'image' file part",
                "application/json", "multipart/form-data")
            .Produces<Platform.Contracts.Grains.SearchResult>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

        v1.MapPost("/search/image", async (HttpRequest request, string? k, ImagePreprocessor images, IGrainFactory grains, CancellationToken ct) =>
            {
                var limit = ParseK(k);
                var image = await ReadImageBodyAsync(request, ct);
                // Decoded and checked here, so a bad photo is refused at once; the encoder gets the tensor, not the bytes.
                var tensor = images.PreprocessWithInfo(image).Tensor;
                return Results.Ok(new SearchResponse(await RetrieveAsync(grains, r => r.SearchImage(ImageInput.FromTensor(tensor), limit), ct)));
            })
            .WithName("SearchByImage")
            .WithSummary("Search products by a photo: the body is the image (image/* content type) or a multipart 'image' part")
            .DescribeBody("the photo (JPEG, PNG, WebP or GIF)", "image/jpeg", "image/png", "image/webp", "image/gif", "multipart/form-data")
            .Produces<SearchResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

        v1.MapBehaviourApi();
        return app;
    }

    /// <summary>
    /// Documents the request body in OpenAPI only. <c>Accepts</c> would also make routing refuse other content types
    /// with a bare 415; the handlers refuse them themselves, saying what to send instead.
    /// </summary>
    private static RouteHandlerBuilder DescribeBody(this RouteHandlerBuilder builder, string description, params string[] contentTypes) =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Description = description,
                Content = contentTypes.ToDictionary(c => c, _ => new OpenApiMediaType()),
            };
            return Task.CompletedTask;
        });

    /// <summary>A call to the retrieval grain; a cluster with no silo that hosts it is a 503 that says so, not a 500.</summary>
    internal static Task<T> RetrieveAsync<T>(IGrainFactory grains, Func<IRetrievalGrain, Task<T>> call, CancellationToken ct) =>
        CallAsync(() => call(grains.GetGrain<IRetrievalGrain>(0)), ct);

    /// <summary>A call to a grain of the retrieval silos (retrieval, shoppers); a cluster with none is a 503 that says so, not a 500.</summary>
    internal static async Task<T> CallAsync<T>(Func<Task<T>> call, CancellationToken ct)
    {
        try
        {
            return await call().WaitAsync(ct);
        }
        catch (ArgumentException e) when (e.Message.StartsWith("Could not find an implementation", StringComparison.Ordinal))
        {
            throw new ApiProblem(StatusCodes.Status503ServiceUnavailable, "Service unavailable",
                "no silo in the cluster hosts the retrieval service; start a retrieval silo");
        }
    }

    internal static int ParseK(string? k)
    {
        if (k is null)
            return DefaultK;
        if (!int.TryParse(k, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < 1 || value > MaxK)
            throw ApiProblem.BadRequest($"'k' must be an integer from 1 to {MaxK}, got '{k}'");
        return value;
    }

    private static async Task<(ProductInfo, byte[])> ReadProductAsync(HttpRequest request, CancellationToken ct)
    {
        if (request.HasJsonContentType())
        {
            ProductRequest? body;
            try
            {
                body = await JsonSerializer.DeserializeAsync<ProductRequest>(request.Body, JsonSerializerOptions.Web, ct);
            }
            catch (JsonException e)
            {
                throw ApiProblem.BadRequest($"the body is not a valid product JSON object: {e.Message}");
            }
            if (body is null)
                throw ApiProblem.BadRequest("the body is empty; send a product JSON object");
            if (string.IsNullOrEmpty(body.Image))
                throw ApiProblem.BadRequest("'image' is required: the product image as base64");
            byte[] image;
            try
            {
                image = Convert.FromBase64String(body.Image);
            }
            catch (FormatException)
            {
                throw ApiProblem.BadRequest("'image' is not valid base64");
            }
            return (new ProductInfo(body.Id ?? "", body.Title ?? "", body.Description, body.Category, body.Price, body.Attributes), image);
        }

        if (request.HasFormContentType)
        {
            var form = await ReadFormAsync(request, ct);
            var file = form.Files.GetFile("image") ?? throw ApiProblem.BadRequest("the form has no 'image' file part");
            decimal? price = null;
            if (form.TryGetValue("price", out var priceText) && !string.IsNullOrWhiteSpace(priceText))
            {
                if (!decimal.TryParse(priceText, NumberStyles.Number, CultureInfo.InvariantCulture, out var parsed))
                    throw ApiProblem.BadRequest($"'price' must be a number, got '{priceText}'");
                price = parsed;
            }
            Dictionary<string, string>? attributes = null;
            if (form.TryGetValue("attributes", out var attributesText) && !string.IsNullOrWhiteSpace(attributesText))
            {
                try
                {
                    attributes = JsonSerializer.Deserialize<Dictionary<string, string>>(attributesText.ToString());
                }
                catch (JsonException)
                {
                    throw ApiProblem.BadRequest("'attributes' must be a JSON object of string values");
                }
            }
            using var stream = new MemoryStream();
            await file.CopyToAsync(stream, ct);
            return (new ProductInfo(form["id"].ToString(), form["title"].ToString(), NullIfEmpty(form["description"]),
                NullIfEmpty(form["category"]), price, attributes), stream.ToArray());
        }

        throw ApiProblem.UnsupportedMediaType($"send the product as application/json or multipart/form-data, not '{request.ContentType ?? "no content type"}'");
    }

    private static async Task<byte[]> ReadImageBodyAsync(HttpRequest request, CancellationToken ct)
    {
        if (request.HasFormContentType)
        {
            var form = await ReadFormAsync(request, ct);
            var file = form.Files.GetFile("image") ?? throw ApiProblem.BadRequest("the form has no 'image' file part");
            using var part = new MemoryStream();
            await file.CopyToAsync(part, ct);
            return part.ToArray();
        }
        if (request.ContentType?.StartsWith("image/", StringComparison.OrdinalIgnoreCase) != true)
            throw ApiProblem.UnsupportedMediaType($"send the image as the body with an image/* content type, or as a multipart 'image' part, not '{request.ContentType ?? "no content type"}'");
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, ct);
        return body.ToArray();
    }

    /// <summary>The most example products one recommendation takes.</summary>
    public const int MaxExamples = 32;

    private static readonly JsonSerializerOptions StrictJson = new(JsonSerializerDefaults.Web)
    {
        // A misspelt field ("positives") is an error that says so, not a request quietly missing its examples.
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };

    private static async Task<RecommendQuery> ReadRecommendAsync(HttpRequest request, CancellationToken ct)
    {
        if (!request.HasJsonContentType())
            throw ApiProblem.UnsupportedMediaType($"send the recommendation request as application/json, not '{request.ContentType ?? "no content type"}'");
        RecommendRequestBody? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<RecommendRequestBody>(request.Body, StrictJson, ct);
        }
        catch (JsonException e)
        {
            throw ApiProblem.BadRequest($"the body is not a valid recommendation request: {e.Message}");
        }
        if (body is null)
            throw ApiProblem.BadRequest("the body is empty; send {\"positive\": [product ids], \"negative\": [...], \"q\": \"words\", \"k\": 10}");
        var positive = body.Positive ?? [];
        var negative = body.Negative ?? [];
        var bestScore = body.Strategy switch
        {
            null or "average" => false,
            "best" => true,
            var other => throw ApiProblem.BadRequest($"'strategy' must be 'average' or 'best', got '{other}'"),
        };
        if (positive.Concat(negative).Any(string.IsNullOrWhiteSpace))
            throw ApiProblem.BadRequest("'positive' and 'negative' hold product ids, and an id must not be empty");
        if (positive.Count + negative.Count > MaxExamples)
            throw ApiProblem.BadRequest($"{positive.Count + negative.Count} example products; at most {MaxExamples} are accepted");
        if (positive.Intersect(negative, StringComparer.Ordinal).FirstOrDefault() is { } both)
            throw ApiProblem.BadRequest($"'{both}' is both a positive and a negative example");
        if (body.Q is { Length: > 1000 })
            throw ApiProblem.BadRequest($"'q' is {body.Q.Length} characters; at most 1000 are accepted");
        var hasText = !string.IsNullOrWhiteSpace(body.Q);
        if (positive.Count == 0 && !hasText && !(bestScore && negative.Count > 0))
            throw ApiProblem.BadRequest(negative.Count > 0
                ? "with negative examples only, use \"strategy\": \"best\" (the average strategy needs a positive example or 'q')"
                : "give at least one example product in 'positive' (or 'negative' with \"strategy\": \"best\"), or words in 'q'");
        var k = body.K ?? DefaultK;
        if (k is < 1 or > MaxK)
            throw ApiProblem.BadRequest($"'k' must be an integer from 1 to {MaxK}, got {k}");
        var filter = body.Filter is { } f ? FilterParser.Parse(f) : null;
        return new RecommendQuery([.. positive.Distinct(StringComparer.Ordinal)], [.. negative.Distinct(StringComparer.Ordinal)], hasText ? body.Q : null, k, bestScore)
        {
            Filter = filter,
        };
    }

    /// <summary>Every product is in the catalog (404 naming those that are not) and indexed (409 naming those that are not yet).</summary>
    private static async Task RequireIndexedAsync(IProductCatalog catalog, IReadOnlyList<string> ids, CancellationToken ct)
    {
        var unknown = new List<string>();
        var notIndexed = new List<string>();
        foreach (var id in ids)
        {
            var record = await catalog.GetAsync(id, ct);
            if (record is null)
                unknown.Add(id);
            else if (record.Status != ProductStatus.Indexed)
                notIndexed.Add($"'{id}' ({record.Status.ToString().ToLowerInvariant()})");
        }
        if (unknown.Count > 0)
            throw ApiProblem.NotFound($"no product with id {string.Join(", ", unknown.Select(id => $"'{id}'"))}");
        if (notIndexed.Count > 0)
            throw new ApiProblem(StatusCodes.Status409Conflict, "Not indexed", $"not indexed yet: {string.Join(", ", notIndexed)}");
    }

    /// <summary>
    /// The request's form. A body that does not parse is the client's fault and answers 400, saying why: no boundary
    /// in the content type, a body cut short, a malformed part header, too many parts or too long a value. ASP.NET Core
    /// reports these as <see cref="InvalidDataException"/> or <see cref="IOException"/>, which would otherwise be a 500.
    /// A body over the server's size limit stays a 413 (<see cref="BadHttpRequestException"/>, mapped by ApiProblemHandler).
    /// </summary>
    internal static async Task<IFormCollection> ReadFormAsync(HttpRequest request, CancellationToken ct)
    {
        try
        {
            return await request.ReadFormAsync(ct);
        }
        catch (Exception e) when (e is InvalidDataException or IOException && e is not BadHttpRequestException && !ct.IsCancellationRequested)
        {
            throw ApiProblem.BadRequest($"the multipart/form-data body is malformed: {e.Message}");
        }
    }

    private static string? NullIfEmpty(Microsoft.Extensions.Primitives.StringValues value) =>
        string.IsNullOrWhiteSpace(value) ? null : value.ToString();
}
