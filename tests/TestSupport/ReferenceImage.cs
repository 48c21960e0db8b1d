namespace Platform.Tests;

/// <summary>The deterministic image the model export scripts write reference embeddings for (see reference.json).</summary>
public static class ReferenceImage
{
    /// <summary>A [3, size, size] tensor, already normalised: value(c,y,x) = (((37c + 11y + 7x) mod 256) - 128) / 128.</summary>
    public static float[] Tensor(int size)
    {
        var tensor = new float[3 * size * size];
        for (var c = 0; c < 3; c++)
            for (var y = 0; y < size; y++)
                for (var x = 0; x < size; x++)
                    tensor[(c * size + y) * size + x] = ((37 * c + 11 * y + 7 * x) % 256 - 128) / 128f;
        return tensor;
    }
}
