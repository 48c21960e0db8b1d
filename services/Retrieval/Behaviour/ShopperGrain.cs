using Microsoft.Extensions.Logging;
using Platform.Catalog.Behaviour;
using Platform.Contracts;
using Platform.Contracts.Grains;
using Platform.Search;

namespace Platform.Retrieval.Behaviour;

/// <summary>
/// A shopper's profile. Every interaction is in the interaction log before <see cref="Record"/> returns; the profile
/// folded from them is written to grain storage in batches (every <see cref="WriteEvery"/> interactions, or
/// <see cref="WriteAfter"/> after the first unwritten one, and when the activation ends), not per event. A profile that
/// lost its latest folds (a crash between writes, or storage that does not outlive the process) is brought up to date
/// from the log when it activates: nothing acknowledged is lost.
/// </summary>
public sealed class ShopperGrain(
    [PersistentState("shopper")] IPersistentState<ShopperState> profile,
    IInteractionLog log,
    ProductIndex index,
    Recommender recommender,
    ILogger<ShopperGrain> logger) : Grain, IShopperGrain
{
    public const int WriteEvery = 32;
    public static readonly TimeSpan WriteAfter = TimeSpan.FromSeconds(5);
    private const int ReplayPage = 500;

    private int _unwritten;
    private IGrainTimer? _writeTimer;

    private string ShopperId => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var replayed = 0;
        while (true)
        {
            var page = await log.ShopperAsync(ShopperId, profile.State.Watermark, ReplayPage, cancellationToken);
            await FoldAsync(page, cancellationToken);
            replayed += page.Count;
            if (page.Count < ReplayPage)
                break;
        }
        if (replayed > 0)
        {
            logger.LogDebug("Shopper {Shopper}: {Count} interactions folded from the log on activation", ShopperId, replayed);
            await WriteAsync();
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_unwritten > 0)
            await WriteAsync();
    }

    public async Task<RecordOutcome> Record(Interaction[] interactions)
    {
        if (interactions.FirstOrDefault(i => i.ShopperId != ShopperId) is { } stray)
            throw new ArgumentException($"event '{stray.EventId}' is shopper '{stray.ShopperId}''s, not '{ShopperId}''s");
        var appended = await log.AppendAsync(interactions);
        await FoldAsync(appended, CancellationToken.None);
        if (appended.Count > 0)
        {
            _unwritten += appended.Count;
            if (_unwritten >= WriteEvery)
                await WriteAsync();
            else
                _writeTimer ??= this.RegisterGrainTimer(async _ => await WriteAsync(), WriteAfter, Timeout.InfiniteTimeSpan);
        }
        return new RecordOutcome(appended.Count, interactions.Length - appended.Count);
    }

    public Task<ShopperSummary> Summary()
    {
        var state = profile.State;
        var categories = state.CategoryShares().ToDictionary(c => c.Key, c => Math.Round(c.Value, 3), StringComparer.Ordinal);
        var band = state.PriceBand() is { } b ? new PriceBand(b.Low, b.High) : null;
        return Task.FromResult(new ShopperSummary(ShopperId, state.Interactions, [.. state.Recent.AsEnumerable().Reverse()], categories, band, [.. state.Excluded]));
    }

    public Task<ShopperTaste?> Taste() => Task.FromResult(profile.State.Taste());

    public async Task<SearchHit[]> Recommend(int k, ProductFilter? filter) => [.. await recommender.ForShopperAsync(profile.State, k, filter)];

    public async Task<int> Forget()
    {
        var deleted = await log.ForgetShopperAsync(ShopperId);
        _writeTimer?.Dispose();
        _writeTimer = null;
        _unwritten = 0;
        await profile.ClearStateAsync();
        profile.State = new ShopperState();
        logger.LogInformation("Shopper {Shopper} forgotten: {Count} interactions deleted", ShopperId, deleted);
        return deleted;
    }

    /// <summary>Folds logged interactions into the profile, reading their products' embeddings in one look-up.</summary>
    private async Task FoldAsync(IReadOnlyList<LoggedInteraction> logged, CancellationToken cancellationToken)
    {
        if (logged.Count == 0)
            return;
        var products = await index.GetProductsAsync([.. logged.Select(l => l.Interaction.ProductId).Distinct(StringComparer.Ordinal)], withVectors: true, cancellationToken);
        foreach (var entry in logged)
            profile.State.Apply(entry, products.GetValueOrDefault(entry.Interaction.ProductId));
    }

    private async Task WriteAsync()
    {
        _writeTimer?.Dispose();
        _writeTimer = null;
        _unwritten = 0;
        await profile.WriteStateAsync();
    }
}
