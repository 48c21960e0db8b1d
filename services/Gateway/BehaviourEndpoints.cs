using System.Globalization;
using System.Text.Json;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Platform.Catalog;
using Platform.Contracts;
using Platform.Contracts.Grains;

namespace Platform.Gateway;

/// <summary>What <c>POST /v1/events</c> did: events new to the log, and events it held already (retries, recorded once).</summary>
public sealed record EventsResponse(int Recorded, int Duplicates);

/// <summary>The behaviour half of the API: shoppers' events in, recommendations for shoppers and sessions out.</summary>
public static class BehaviourEndpoints
{
    /// <summary>The most events one request takes.</summary>
    public const int MaxEvents = 1000;

    /// <summary>The longest id (event, shopper, session) accepted.</summary>
    public const int MaxIdLength = 128;

    /// <summary>How far ahead of the server's clock an event's time may be (clocks differ a little; the future does not happen).</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    private static readonly string[] EventFields = ["eventId", "shopperId", "sessionId", "productId", "type", "at"];

    public static RouteGroupBuilder MapBehaviourApi(this RouteGroupBuilder v1)
    {
        v1.MapPost("/events", async (HttpRequest request, IProductCatalog catalog, IGrainFactory grains, IPublishEndpoint bus, TimeProvider time, CancellationToken ct) =>
            {
                var events = await ReadEventsAsync(request, time.GetUtcNow(), ct);
                await RequireProductsAsync(catalog, events, ct);
                // Each shopper's grain logs its events (durably, skipping event ids it holds) before this answers.
                var outcomes = await Task.WhenAll(events.GroupBy(e => e.ShopperId, StringComparer.Ordinal)
                    .Select(g => GatewayEndpoints.CallAsync(() => grains.GetGrain<IShopperGrain>(g.Key).Record([.. g]), ct)));
                // Every event goes on the bus, duplicates too: a retry after a failure here must still reach the
                // aggregates, and their consumer folds each event once.
                await bus.PublishBatch(events.Select(e => new InteractionRecorded(e)), ct);
                return Results.Ok(new EventsResponse(outcomes.Sum(o => o.Recorded), outcomes.Sum(o => o.Duplicates)));
            })
            .WithName("RecordEvents")
            .WithSummary("Record shoppers' events (one object, or a list of up to 1000): view, click, cart, purchase, dislike; idempotent by eventId")
            .Produces<EventsResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        v1.MapGet("/shoppers/{id}", async (string id, IGrainFactory grains, CancellationToken ct) =>
            {
                RequireId(id, "shopper id");
                var summary = await GatewayEndpoints.CallAsync(() => grains.GetGrain<IShopperGrain>(id).Summary(), ct);
                return summary.Interactions == 0 ? throw ApiProblem.NotFound($"no events recorded for shopper '{id}'") : Results.Ok(summary);
            })
            .WithName("GetShopper")
            .WithSummary("What the platform knows of a shopper: recent events, category shares, price band, what is never recommended to them")
            .Produces<ShopperSummary>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        v1.MapDelete("/shoppers/{id}", async (string id, IGrainFactory grains, CancellationToken ct) =>
            {
                RequireId(id, "shopper id");
                await GatewayEndpoints.CallAsync(() => grains.GetGrain<IShopperGrain>(id).Forget(), ct);
                return Results.NoContent();
            })
            .WithName("ForgetShopper")
            .WithSummary("Forget a shopper: their events and profile are deleted (the anonymous aggregates keep their counts)")
            .Produces(StatusCodes.Status204NoContent);

        v1.MapGet("/shoppers/{id}/recommendations", async (string id, string? k, string? filter, IGrainFactory grains, CancellationToken ct) =>
            {
                RequireId(id, "shopper id");
                var limit = GatewayEndpoints.ParseK(k);
                var parsed = FilterParser.FromQuery(filter);
                return Results.Ok(new SearchResponse(await GatewayEndpoints.CallAsync(() => grains.GetGrain<IShopperGrain>(id).Recommend(limit, parsed), ct)));
            })
            .WithName("RecommendForShopper")
            .WithSummary("Products for a shopper, from their taste, what is bought together and what is popular; never what they bought or disliked")
            .Produces<SearchResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest);

        v1.MapGet("/sessions/{id}/next", async (string id, string? k, string? filter, IGrainFactory grains, CancellationToken ct) =>
            {
                RequireId(id, "session id");
                var limit = GatewayEndpoints.ParseK(k);
                var parsed = FilterParser.FromQuery(filter);
                return Results.Ok(new SearchResponse(await GatewayEndpoints.RetrieveAsync(grains, r => r.NextInSession(id, limit, parsed), ct)));
            })
            .WithName("NextInSession")
            .WithSummary("Next products for a session, from its latest products; never one it already holds")
            .Produces<SearchResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest);

        return v1;
    }

    private static void RequireId(string id, string what)
    {
        if (string.IsNullOrWhiteSpace(id) || id.Length > MaxIdLength || id.Any(char.IsControl))
            throw ApiProblem.BadRequest($"the {what} must be 1 to {MaxIdLength} characters without control characters");
    }

    /// <summary>Every event's product is in the catalog; otherwise a 422 naming the events and products, and nothing is recorded.</summary>
    private static async Task RequireProductsAsync(IProductCatalog catalog, IReadOnlyList<Interaction> events, CancellationToken ct)
    {
        var unknown = await catalog.MissingAsync(events.Select(e => e.ProductId), ct);
        if (unknown.Count == 0)
            return;
        var named = events.Where(e => unknown.Contains(e.ProductId)).Take(10).Select(e => $"'{e.EventId}' (product '{e.ProductId}')");
        throw new ApiProblem(StatusCodes.Status422UnprocessableEntity, "Unknown product",
            $"no product with id {string.Join(", ", unknown.Take(10).Select(p => $"'{p}'"))} in the catalog; events {string.Join(", ", named)}; nothing was recorded");
    }

    private static async Task<IReadOnlyList<Interaction>> ReadEventsAsync(HttpRequest request, DateTimeOffset now, CancellationToken ct)
    {
        if (!request.HasJsonContentType())
            throw ApiProblem.UnsupportedMediaType($"send events as application/json (one event object or a list of them), not '{request.ContentType ?? "no content type"}'");
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, cancellationToken: ct);
        }
        catch (JsonException e)
        {
            throw ApiProblem.BadRequest($"the body is not valid JSON: {e.Message}");
        }
        using (document)
        {
            var root = document.RootElement;
            var elements = root.ValueKind switch
            {
                JsonValueKind.Object => [root],
                JsonValueKind.Array => root.EnumerateArray().ToList(),
                _ => throw ApiProblem.BadRequest($"the body must be an event object or a list of them, not {FilterParser.Describe(root)}"),
            };
            if (elements.Count == 0)
                throw ApiProblem.BadRequest("the list of events is empty");
            if (elements.Count > MaxEvents)
                throw ApiProblem.BadRequest($"{elements.Count} events in one request; at most {MaxEvents} are accepted");
            var events = elements.Select((e, i) => ReadEvent(e, root.ValueKind == JsonValueKind.Array ? $"event {i}: " : "", now)).ToList();
            if (events.GroupBy(e => e.EventId, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1 && g.Distinct().Count() > 1) is { } clash)
                throw ApiProblem.BadRequest($"eventId '{clash.Key}' is used by different events in one request; an event id names one event");
            return events;
        }
    }

    private static Interaction ReadEvent(JsonElement element, string where, DateTimeOffset now)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw ApiProblem.BadRequest($"{where}an event must be an object, not {FilterParser.Describe(element)}");
        string? eventId = null, shopperId = null, sessionId = null, productId = null;
        InteractionType? type = null;
        DateTimeOffset? at = null;
        foreach (var field in element.EnumerateObject())
        {
            switch (field.Name)
            {
                case "eventId": eventId = Id(field.Value, where, "eventId"); break;
                case "shopperId": shopperId = Id(field.Value, where, "shopperId"); break;
                case "sessionId": sessionId = field.Value.ValueKind == JsonValueKind.Null ? null : Id(field.Value, where, "sessionId"); break;
                case "productId": productId = Id(field.Value, where, "productId"); break;
                case "type": type = Type(field.Value, where); break;
                case "at": at = field.Value.ValueKind == JsonValueKind.Null ? null : At(field.Value, where, now); break;
                default:
                    throw ApiProblem.BadRequest($"{where}'{field.Name}' is not an event field; the fields are {string.Join(", ", EventFields)}");
            }
        }
        return new Interaction(
            eventId ?? throw ApiProblem.BadRequest($"{where}'eventId' is required: an id of the client's that makes a retry harmless"),
            shopperId ?? throw ApiProblem.BadRequest($"{where}'shopperId' is required"),
            sessionId,
            productId ?? throw ApiProblem.BadRequest($"{where}'productId' is required"),
            type ?? throw ApiProblem.BadRequest($"{where}'type' is required: view, click, cart, purchase or dislike"),
            Milliseconds(at ?? now));
    }

    /// <summary>The log keeps milliseconds: an event reads back as it was recorded.</summary>
    private static DateTimeOffset Milliseconds(DateTimeOffset at) =>
        new(at.UtcTicks - at.UtcTicks % TimeSpan.TicksPerMillisecond, TimeSpan.Zero);

    private static string Id(JsonElement value, string where, string name)
    {
        if (value.ValueKind != JsonValueKind.String)
            throw ApiProblem.BadRequest($"{where}'{name}' must be a string, not {FilterParser.Describe(value)}");
        var text = value.GetString()!;
        if (string.IsNullOrWhiteSpace(text) || text.Length > MaxIdLength || text.Any(char.IsControl))
            throw ApiProblem.BadRequest($"{where}'{name}' must be 1 to {MaxIdLength} characters without control characters");
        return text;
    }

    private static InteractionType Type(JsonElement value, string where) => value.ValueKind == JsonValueKind.String
        ? value.GetString() switch
        {
            "view" => InteractionType.View,
            "click" => InteractionType.Click,
            "cart" => InteractionType.Cart,
            "purchase" => InteractionType.Purchase,
            "dislike" => InteractionType.Dislike,
            var other => throw ApiProblem.BadRequest($"{where}'type' is '{other}'; it must be view, click, cart, purchase or dislike"),
        }
        : throw ApiProblem.BadRequest($"{where}'type' must be a string (view, click, cart, purchase or dislike), not {FilterParser.Describe(value)}");

    private static DateTimeOffset At(JsonElement value, string where, DateTimeOffset now)
    {
        if (value.ValueKind != JsonValueKind.String
            || !DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            throw ApiProblem.BadRequest($"{where}'at' must be an ISO 8601 time such as \"2026-12-02T15:04:05Z\", not {FilterParser.Describe(value)}");
        if (at > now + ClockSkew)
            throw ApiProblem.BadRequest($"{where}'at' ({at:O}) is in the future");
        return at.ToUniversalTime();
    }
}
