using Microsoft.ML.OnnxRuntime;

namespace Platform.Inference.Onnx;

/// <summary>How ONNX Runtime runs a tower; every session of an encoder gets the same.</summary>
public sealed record InferenceOptions
{
    public static InferenceOptions Default { get; } = new();

    /// <summary>
    /// Threads one forward may use (ONNX Runtime's intra-op pool; 0: its default, one per physical core). 1 by default:
    /// callers encode concurrently (request threads, the ingest batches), and on the 2-core machines this runs on one
    /// thread per forward gave the most items/s at 2 and 8 concurrent callers (README, "Measured").
    /// </summary>
    public int IntraOpThreads { get; init; } = 1;

    /// <summary>
    /// Threads that run independent graph nodes side by side (ONNX Runtime's inter-op pool). 1 runs nodes in order,
    /// which suits these towers (a chain of layers); above 1 the session switches to parallel execution.
    /// </summary>
    public int InterOpThreads { get; init; } = 1;

    /// <summary>How far ONNX Runtime rewrites the graph when the session is created (fusions, constant folding).</summary>
    public GraphOptimizationLevel GraphOptimization { get; init; } = GraphOptimizationLevel.ORT_ENABLE_ALL;

    /// <summary>
    /// Whether idle intra-op threads spin waiting for work. Only matters with <see cref="IntraOpThreads"/> above 1;
    /// off by default so pool threads do not burn the cores that concurrent callers need.
    /// </summary>
    public bool AllowSpinning { get; init; }

    internal void Validate()
    {
        if (IntraOpThreads < 0)
            throw new ArgumentOutOfRangeException(nameof(IntraOpThreads), IntraOpThreads, "intra-op threads must be 0 (ONNX Runtime's default) or more");
        if (InterOpThreads < 0)
            throw new ArgumentOutOfRangeException(nameof(InterOpThreads), InterOpThreads, "inter-op threads must be 0 (ONNX Runtime's default) or more");
    }

    public override string ToString() =>
        $"intra-op threads {(IntraOpThreads == 0 ? "default" : IntraOpThreads)}, inter-op threads {(InterOpThreads == 0 ? "default" : InterOpThreads)}, " +
        $"optimisation {GraphOptimization}{(AllowSpinning ? ", spinning" : "")}";
}
