using System.Runtime.InteropServices;

namespace Platform.VectorStore.Embedded;

/// <summary>
/// Options for int8 scalar quantisation (SQ8) of an <see cref="HnswIndex"/>: the float vectors are kept, a row of one
/// byte per dimension is added beside each, the graph is walked on the bytes and the best candidates are rescored
/// with exact float distances.
/// </summary>
/// <param name="TrainingSize">Learn the quantiser from the first this many vectors added (0: only when
/// <see cref="HnswIndex.TrainQuantizer"/> is called). Until then the index works on floats alone.</param>
/// <param name="ClipFraction">The fraction of values cut off at each end of every dimension's range (outliers are
/// clamped to the nearest code).</param>
/// <param name="BuildOnCodes">Insert using code distances too (faster build; the graph may be a little worse).</param>
/// <param name="Rescore">How many of the walk's best candidates get an exact float distance (0: all <c>ef</c> of them;
/// at least k).</param>
/// <param name="Symmetric">Encode queries too and walk with integer code-to-code distances (faster). The quantiser then
/// uses one scale for all dimensions (per-dimension offsets), which makes those distances exact L2 between the decoded
/// vectors. For <see cref="Distance.Dot"/> the walk stays asymmetric.</param>
public sealed record ScalarQuantization(int TrainingSize = 0, double ClipFraction = 0.001, bool BuildOnCodes = false, int Rescore = 0,
    bool Symmetric = false);

/// <summary>
/// Per-dimension affine int8 quantiser: code = round((x − offset) / scale) clamped to 0..255, x ≈ offset + scale·code.
/// Learnt from a sample as the [ClipFraction, 1 − ClipFraction] quantiles of each dimension. Queries stay float
/// (asymmetric distances): <see cref="PrepareQuery"/> folds the offset (and for inner product the scale) into them,
/// so the kernels in <see cref="VectorMath"/> only widen, convert and multiply-add.
/// </summary>
internal sealed unsafe class ScalarQuantizer : IDisposable
{
    private readonly float* _offset;
    private readonly float* _scale;
    private readonly float* _inverse;
    private bool _disposed;

    private ScalarQuantizer(int dimension)
    {
        Dimension = dimension;
        var bytes = (nuint)(((dimension * sizeof(float)) + 63) & ~63);
        _offset = (float*)NativeMemory.AlignedAlloc(bytes, 64);
        _scale = (float*)NativeMemory.AlignedAlloc(bytes, 64);
        _inverse = (float*)NativeMemory.AlignedAlloc(bytes, 64);
    }

    public int Dimension { get; }

    /// <summary>Bytes per row of codes: one per dimension, padded to whole cache lines.</summary>
    public int RowBytes => (Dimension + 63) & ~63;

    public float* Scale => _scale;

    public ReadOnlySpan<float> Offsets => new(_offset, Dimension);
    public ReadOnlySpan<float> Scales => new(_scale, Dimension);

    /// <summary>Learns the ranges from <paramref name="sample"/> (count × dimension floats, row-major).</summary>
    /// <param name="singleScale">One scale for every dimension (the widest clipped range), so code-to-code integer
    /// distances are exact L2 between decoded vectors; the offsets stay per dimension.</param>
    public static ScalarQuantizer Train(ReadOnlySpan<float> sample, int dimension, double clipFraction, bool singleScale = false)
    {
        var count = sample.Length / dimension;
        if (count < 1)
            throw new VectorStoreException(VectorStoreErrorKind.BadRequest, "quantiser training needs at least one vector");
        var quantizer = new ScalarQuantizer(dimension);
        var column = new float[count];
        var cut = (int)Math.Floor(Math.Clamp(clipFraction, 0, 0.49) * (count - 1));
        for (var j = 0; j < dimension; j++)
        {
            for (var i = 0; i < count; i++)
                column[i] = sample[i * dimension + j];
            float lo, hi;
            if (cut == 0)
            {
                lo = hi = column[0];
                foreach (var x in column)
                {
                    lo = Math.Min(lo, x);
                    hi = Math.Max(hi, x);
                }
            }
            else
            {
                Array.Sort(column);
                lo = column[cut];
                hi = column[count - 1 - cut];
            }
            var scale = (hi - lo) / 255f;
            quantizer._offset[j] = lo;
            quantizer._scale[j] = scale;
            quantizer._inverse[j] = scale > 0 ? 1 / scale : 0;
        }
        if (singleScale)
        {
            var widest = 0f;
            for (var j = 0; j < dimension; j++)
                widest = Math.Max(widest, quantizer._scale[j]);
            for (var j = 0; j < dimension; j++)
            {
                quantizer._scale[j] = widest;
                quantizer._inverse[j] = widest > 0 ? 1 / widest : 0;
            }
        }
        return quantizer;
    }

    /// <summary>Writes the codes of <paramref name="vector"/> to <paramref name="codes"/> (<see cref="Dimension"/> bytes).</summary>
    public void Encode(float* vector, byte* codes)
    {
        for (var j = 0; j < Dimension; j++)
        {
            var c = MathF.Round((vector[j] - _offset[j]) * _inverse[j]);
            codes[j] = (byte)Math.Clamp(c, 0f, 255f);
        }
    }

    /// <summary>The float vector a row of codes stands for.</summary>
    public void Decode(byte* codes, float* vector)
    {
        for (var j = 0; j < Dimension; j++)
            vector[j] = _offset[j] + _scale[j] * codes[j];
    }

    /// <summary>
    /// Turns a float query into the form the kernels take: for L2, q − offset (then the distance is
    /// <see cref="VectorMath.L2SquaredSq8"/> with <see cref="Scale"/>); for inner product, q·scale with
    /// <paramref name="bias"/> = q·offset (then the dot product is bias + <see cref="VectorMath.DotSq8"/>).
    /// </summary>
    public void PrepareQuery(float* query, float* prepared, bool innerProduct, out float bias)
    {
        bias = 0;
        if (innerProduct)
        {
            for (var j = 0; j < Dimension; j++)
            {
                prepared[j] = query[j] * _scale[j];
                bias += query[j] * _offset[j];
            }
        }
        else
        {
            for (var j = 0; j < Dimension; j++)
                prepared[j] = query[j] - _offset[j];
        }
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        NativeMemory.AlignedFree(_offset);
        NativeMemory.AlignedFree(_scale);
        NativeMemory.AlignedFree(_inverse);
    }
}
