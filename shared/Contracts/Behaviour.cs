namespace Platform.Contracts;

/// <summary>What a shopper did with a product, from a glance to a purchase; a dislike is a "not for me".</summary>
[GenerateSerializer, Alias("platform.InteractionType")]
public enum InteractionType
{
    View = 0,
    Click = 1,
    Cart = 2,
    Purchase = 3,
    Dislike = 4,
}

/// <summary>
/// One behaviour event. <see cref="EventId"/> is the client's: an event sent twice (a retry) is recorded once.
/// <see cref="SessionId"/> groups a visit's events, for "next in this session".
/// </summary>
[GenerateSerializer, Immutable, Alias("platform.Interaction")]
public sealed record Interaction(
    [property: Id(0)] string EventId,
    [property: Id(1)] string ShopperId,
    [property: Id(2)] string? SessionId,
    [property: Id(3)] string ProductId,
    [property: Id(4)] InteractionType Type,
    [property: Id(5)] DateTimeOffset At);

/// <summary>An interaction as the log holds it: its place in the log (increasing, unique) and the event.</summary>
[GenerateSerializer, Immutable, Alias("platform.LoggedInteraction")]
public sealed record LoggedInteraction([property: Id(0)] long Sequence, [property: Id(1)] Interaction Interaction);

/// <summary>A product and a score (popularity, co-occurrence weight).</summary>
[GenerateSerializer, Immutable, Alias("platform.ProductScore")]
public sealed record ProductScore([property: Id(0)] string ProductId, [property: Id(1)] double Score);

/// <summary>How much each kind of interaction says about a shopper's taste (a purchase most, a dislike against).</summary>
public static class InteractionWeights
{
    public static double Of(InteractionType type) => type switch
    {
        InteractionType.View => 1,
        InteractionType.Click => 2,
        InteractionType.Cart => 4,
        InteractionType.Purchase => 6,
        InteractionType.Dislike => -3,
        _ => 0,
    };
}

/// <summary>One of a shopper's recent interactions, as their profile keeps it.</summary>
[GenerateSerializer, Immutable, Alias("platform.RecentInteraction")]
public sealed record RecentInteraction(
    [property: Id(0)] string ProductId,
    [property: Id(1)] InteractionType Type,
    [property: Id(2)] DateTimeOffset At,
    [property: Id(3)] string? SessionId);
