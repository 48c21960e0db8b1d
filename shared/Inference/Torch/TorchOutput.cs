namespace Platform.Inference.Torch;

/// <summary>A module's first output as a dense row-major float32 array and its shape.</summary>
public sealed record TorchOutput(float[] Data, long[] Shape)
{
    /// <summary>Row <paramref name="index"/> along the first dimension (e.g. one embedding of a batch).</summary>
    public ReadOnlySpan<float> Row(int index)
    {
        if (Shape.Length == 0)
            throw new InvalidOperationException("A scalar output has no rows.");
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Shape[0]);
        var width = Shape[0] == 0 ? 0 : Data.Length / (int)Shape[0];
        return Data.AsSpan(index * width, width);
    }
}
