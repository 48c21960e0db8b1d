namespace Platform.Encoder.Batching;

/// <summary>How an encoder gathers concurrent calls into forwards (section <c>Encoder:Batching</c>).</summary>
public sealed record BatchingOptions
{
    /// <summary>Off: every call is its own forward (for comparison; a call of many items is still one forward).</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>The most items (texts or images) in one forward.</summary>
    public int MaxBatchSize { get; init; } = 32;

    /// <summary>How long the oldest waiting call may wait for others to join its forward.</summary>
    public TimeSpan MaxWait { get; init; } = TimeSpan.FromMilliseconds(2);

    /// <summary>Forwards of one tower that may run at once; 0: one per core on a CPU, one on a GPU.</summary>
    public int ConcurrentForwards { get; init; }

    public int ForwardsFor(string device) =>
        ConcurrentForwards > 0 ? ConcurrentForwards : device.StartsWith("cuda", StringComparison.Ordinal) ? 1 : Environment.ProcessorCount;

    public void Validate()
    {
        if (MaxBatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxBatchSize), MaxBatchSize, "Encoder:Batching:MaxBatchSize must be at least 1");
        if (MaxWait < TimeSpan.Zero || MaxWait > TimeSpan.FromSeconds(1))
            throw new ArgumentOutOfRangeException(nameof(MaxWait), MaxWait, "Encoder:Batching:MaxWait must be from 0 to 1 second");
        if (ConcurrentForwards < 0)
            throw new ArgumentOutOfRangeException(nameof(ConcurrentForwards), ConcurrentForwards, "Encoder:Batching:ConcurrentForwards must be 0 (automatic) or more");
    }
}
