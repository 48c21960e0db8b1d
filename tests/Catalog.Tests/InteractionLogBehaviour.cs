using Platform.Catalog.Behaviour;
using Platform.Contracts;

namespace Platform.Catalog.Tests;

/// <summary>What every <see cref="IInteractionLog"/> must do, run against each implementation on a fresh store per test.</summary>
public abstract class InteractionLogBehaviour : IAsyncLifetime
{
    private static readonly DateTimeOffset Noon = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    protected IInteractionLog Log { get; private set; } = null!;

    /// <summary>Makes the fresh store (skipping the test where it cannot be had) and opens a log on it.</summary>
    protected abstract Task<IInteractionLog> PrepareAsync();

    /// <summary>Another log on the same store: a restart, or a second process.</summary>
    protected abstract IInteractionLog Reopen();

    public virtual async ValueTask InitializeAsync() => Log = await PrepareAsync();

    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    private static Interaction Event(string id, string shopper, string product, InteractionType type = InteractionType.View,
        double minutes = 0, string? session = null) =>
        new(id, shopper, session, product, type, Noon.AddMinutes(minutes));

    [Fact]
    public async Task An_event_sent_again_is_logged_once_and_sequences_increase()
    {
        var first = await Log.AppendAsync([Event("e1", "s1", "p1"), Event("e2", "s1", "p2"), Event("e1", "s1", "p1")]);
        Assert.Equal(["e1", "e2"], first.Select(l => l.Interaction.EventId));
        Assert.True(first[1].Sequence > first[0].Sequence);

        var retry = await Log.AppendAsync([Event("e2", "s1", "p2"), Event("e3", "s1", "p3", InteractionType.Purchase)]);
        Assert.Equal(["e3"], retry.Select(l => l.Interaction.EventId));
        Assert.True(retry[0].Sequence > first[1].Sequence);
        Assert.Equal(3, (await Log.ShopperAsync("s1", 0, 100)).Count);
    }

    [Fact]
    public async Task A_shopper_reads_back_after_a_sequence_oldest_first_and_survives_a_reopen()
    {
        var logged = await Log.AppendAsync([
            Event("a", "s1", "p1", InteractionType.View, 0, "x"),
            Event("b", "s2", "p2"),
            Event("c", "s1", "p2", InteractionType.Cart, 1, "x"),
            Event("d", "s1", "p3", InteractionType.Dislike, 2),
        ]);
        var reopened = Reopen();
        var all = await reopened.ShopperAsync("s1", 0, 100);
        Assert.Equal(["a", "c", "d"], all.Select(l => l.Interaction.EventId));
        Assert.Equal(Event("c", "s1", "p2", InteractionType.Cart, 1, "x"), all[1].Interaction);
        Assert.Null(all[2].Interaction.SessionId);
        Assert.Equal(["d"], (await reopened.ShopperAsync("s1", logged[2].Sequence, 100)).Select(l => l.Interaction.EventId));
        Assert.Equal(["a", "c"], (await reopened.ShopperAsync("s1", 0, 2)).Select(l => l.Interaction.EventId));
        Assert.Empty(await reopened.ShopperAsync("nobody", 0, 100));
    }

    [Fact]
    public async Task A_session_gives_its_latest_interactions_oldest_first()
    {
        await Log.AppendAsync([.. Enumerable.Range(0, 6).Select(i => Event($"e{i}", "s1", $"p{i}", minutes: i, session: "x")), Event("other", "s1", "p9", session: "y")]);
        Assert.Equal(["p3", "p4", "p5"], (await Log.SessionAsync("x", 3)).Select(l => l.Interaction.ProductId));
        Assert.Empty(await Log.SessionAsync("z", 3));
    }

    [Fact]
    public async Task Forgetting_a_shopper_deletes_their_interactions_only()
    {
        await Log.AppendAsync([Event("a", "s1", "p1", session: "x"), Event("b", "s1", "p2"), Event("c", "s2", "p1")]);
        Assert.Equal(2, await Log.ForgetShopperAsync("s1"));
        Assert.Empty(await Log.ShopperAsync("s1", 0, 100));
        Assert.Empty(await Log.SessionAsync("x", 10));
        Assert.Single(await Log.ShopperAsync("s2", 0, 100));
        Assert.Equal(0, await Log.ForgetShopperAsync("s1"));
        // The same event id is free again once forgotten: it is a new event.
        Assert.Single(await Log.AppendAsync([Event("a", "s1", "p1")]));
    }

    [Fact]
    public async Task Popularity_weighs_by_type_per_day_and_ignores_dislikes()
    {
        await Log.AppendAsync([
            Event("a", "s1", "p1", InteractionType.View),
            Event("b", "s2", "p1", InteractionType.View),
            Event("c", "s3", "p2", InteractionType.Purchase),
            Event("d", "s4", "p3", InteractionType.Dislike),
            Event("e", "s5", "p4", InteractionType.Purchase, minutes: -3 * 24 * 60),
        ]);
        Assert.Equal(5, await Log.AggregateAsync(["a", "b", "c", "d", "e"]));
        var today = await Log.PopularAsync(Noon.Date, 10);
        Assert.Equal([new ProductScore("p2", 6), new ProductScore("p1", 2)], today);
        var week = await Log.PopularAsync(Noon.AddDays(-7), 10);
        Assert.Equal(["p2", "p4", "p1"], week.Select(s => s.ProductId));
        Assert.Single(await Log.PopularAsync(Noon.AddDays(-7), 1));
    }

    [Fact]
    public async Task An_event_aggregated_again_counts_once()
    {
        await Log.AppendAsync([Event("a", "s1", "p1", InteractionType.Cart), Event("b", "s1", "p2", InteractionType.Cart, 1)]);
        Assert.Equal(2, await Log.AggregateAsync(["a", "b"]));
        Assert.Equal(0, await Log.AggregateAsync(["a", "b", "unknown"]));
        Assert.Equal(0, await Reopen().AggregateAsync(["b"]));
        Assert.Equal([new ProductScore("p1", 4), new ProductScore("p2", 4)], await Log.PopularAsync(Noon.Date, 10));
        Assert.Equal([new ProductScore("p2", 4)], await Log.CoOccurringAsync("p1", 10));
    }

    [Fact]
    public async Task Products_pair_with_the_same_shoppers_recent_interactions_by_the_smaller_weight()
    {
        await Log.AppendAsync([
            Event("a", "s1", "boots", InteractionType.Purchase, 0),
            Event("b", "s1", "socks", InteractionType.View, 5),
            Event("c", "s1", "laces", InteractionType.Purchase, 10),
            Event("d", "s1", "hat", InteractionType.Dislike, 11),
            Event("e", "s2", "boots", InteractionType.Purchase, 0),
            Event("f", "s2", "laces", InteractionType.Cart, 3),
            Event("g", "s3", "boots", InteractionType.View, 0),
            Event("h", "s3", "tent", InteractionType.Purchase, 25 * 60), // more than a day later: not together
        ]);
        await Log.AggregateAsync(["a", "b", "c", "d", "e", "f", "g", "h"]);
        // boots–laces: min(6, 6) from s1 and min(6, 4) from s2; boots–socks: min(6, 1).
        Assert.Equal([new ProductScore("laces", 10), new ProductScore("socks", 1)], await Log.CoOccurringAsync("boots", 10));
        Assert.Equal([new ProductScore("boots", 10), new ProductScore("socks", 1)], await Log.CoOccurringAsync("laces", 10));
        Assert.Empty(await Log.CoOccurringAsync("hat", 10));
        Assert.Empty(await Log.CoOccurringAsync("tent", 10));
        Assert.Single(await Log.CoOccurringAsync("boots", 1));
    }

    [Fact]
    public async Task Interactions_never_aggregated_are_found_for_the_sweep_and_gone_once_folded()
    {
        await Log.AppendAsync([Event("a", "s1", "p1"), Event("b", "s1", "p2"), Event("c", "s2", "p3")]);
        await Log.AggregateAsync(["b"]);
        var later = DateTimeOffset.UtcNow.AddMinutes(1);
        Assert.Equal(["a", "c"], (await Log.UnaggregatedAsync(later, 10)).Order());
        Assert.Single(await Log.UnaggregatedAsync(later, 1));
        Assert.Empty(await Log.UnaggregatedAsync(DateTimeOffset.UtcNow.AddHours(-1), 10));
        Assert.Equal(2, await Log.AggregateAsync(await Log.UnaggregatedAsync(later, 10)));
        Assert.Empty(await Log.UnaggregatedAsync(later, 10));
    }
}
