using Microsoft.Extensions.Logging.Abstractions;
using Platform.Catalog.Behaviour;
using Platform.Contracts;
using Platform.Indexer;

namespace Platform.Services.Tests;

/// <summary>The indexer's sweep folds interactions whose bus message never came, once they are old enough, and only once.</summary>
public sealed class InteractionSweepTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("platform-sweep-").FullName;

    private sealed class Clock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Interactions_left_unaggregated_past_the_grace_are_folded_once()
    {
        var clock = new Clock(new DateTimeOffset(2026, 12, 2, 12, 0, 0, TimeSpan.Zero));
        var log = new SqliteInteractionLog(Path.Combine(_directory, "interactions.db"), clock);
        var sweep = new InteractionSweep(log, clock, NullLogger<InteractionSweep>.Instance);
        await log.AppendAsync([
            new Interaction("a", "s1", null, "boots", InteractionType.Purchase, clock.Now),
            new Interaction("b", "s1", null, "laces", InteractionType.Purchase, clock.Now.AddMinutes(1)),
        ]);
        Assert.Equal(0, await sweep.SweepAsync(CancellationToken.None)); // still within the grace: the bus may bring them

        clock.Now += InteractionSweep.Grace + TimeSpan.FromSeconds(1);
        Assert.Equal(2, await sweep.SweepAsync(CancellationToken.None));
        Assert.Equal(0, await sweep.SweepAsync(CancellationToken.None));
        Assert.Equal(0, await log.AggregateAsync(["a", "b"])); // the message arriving late changes nothing
        Assert.Equal([new ProductScore("laces", 6)], await log.CoOccurringAsync("boots", 10));
    }
}
