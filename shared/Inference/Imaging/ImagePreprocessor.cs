using System.Globalization;
using NetVips;

namespace Platform.Inference.Imaging;

/// <summary>
/// Turns an encoded JPEG, PNG, WebP or GIF into a CHW float tensor with CLIP's training-time preprocessing:
/// torchvision <c>Resize(S, bicubic)</c> of the shortest side, <c>CenterCrop(S)</c>, <c>ToTensor</c>,
/// <c>Normalize(mean, std)</c>, done with libvips (NetVips and the libvips bundled with it; see <see cref="VipsRuntime"/>).
/// <list type="bullet">
/// <item>Only the first frame of a GIF or animated WebP is used.</item>
/// <item>width × height is checked against <see cref="ImagePreprocessOptions.MaxPixels"/> from the header, before any pixel is decoded.</item>
/// <item>Grey, CMYK and 16-bit images become 8-bit sRGB; alpha is composited onto white.</item>
/// <item>EXIF orientation is not applied (neither does PIL, hence CLIP's training pipeline).</item>
/// </list>
/// Each call decodes the image once. Instances hold no mutable state: one may be used from many threads at once.
/// </summary>
public sealed class ImagePreprocessor
{
    private readonly int _size;
    private readonly float[] _lut; // [channel * 256 + value] = (value / 255 - mean) / std, in float32 like torch

    public ImagePreprocessor(ImagePreprocessOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ImageSize, 1, nameof(options.ImageSize));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.ImageSize, 8192, nameof(options.ImageSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxPixels, 1, nameof(options.MaxPixels));
        if (options.Mean is not { Length: 3 } || options.Std is not { Length: 3 })
            throw new ArgumentException("Mean and Std need exactly 3 values (R, G, B).", nameof(options));
        if (options.Std.Any(s => !(s > 0f) || !float.IsFinite(s)))
            throw new ArgumentException("Std values must be positive and finite.", nameof(options));

        Options = options;
        _size = options.ImageSize;
        _lut = new float[3 * 256];
        for (var c = 0; c < 3; c++)
        {
            for (var v = 0; v < 256; v++)
                _lut[c * 256 + v] = (v / 255f - options.Mean[c]) / options.Std[c];
        }

        VipsRuntime.EnsureStarted();
    }

    public ImagePreprocessOptions Options { get; }

    /// <summary>3 × S × S.</summary>
    public int TensorLength => 3 * _size * _size;

    /// <summary>Reads only the header: the format and the (first frame's) size. Throws
    /// <see cref="ImageRejectedException"/> for empty input, an unsupported format, a damaged header or too many pixels.</summary>
    public ImageInfo Probe(ReadOnlySpan<byte> encoded)
    {
        var format = Detect(encoded);
        using var image = Load(format, encoded, Enums.Access.Random); // lazy: decodes no pixels
        var info = new ImageInfo(format, image.Width, image.Height);
        CheckSize(info);
        return info;
    }

    /// <summary>Decodes, resizes, crops and normalises into <paramref name="destination"/> (CHW, RGB,
    /// <see cref="TensorLength"/> floats).</summary>
    public void Preprocess(ReadOnlySpan<byte> encoded, Span<float> destination) => PreprocessWithInfo(encoded, destination);

    /// <summary>As <see cref="Preprocess"/>, and returns what the header said: one decode both validates an image
    /// and gives its tensor.</summary>
    public ImageInfo PreprocessWithInfo(ReadOnlySpan<byte> encoded, Span<float> destination)
    {
        if (destination.Length < TensorLength)
            throw new ArgumentException($"destination holds {destination.Length} floats; {TensorLength} (3x{_size}x{_size}) are needed.", nameof(destination));

        var format = Detect(encoded);
        var image = Load(format, encoded, Enums.Access.Sequential);
        try
        {
            var info = new ImageInfo(format, image.Width, image.Height);
            CheckSize(info); // from the header: no pixel has been decoded yet
            ToSrgb8(ref image, info);
            Resize(ref image, info);
            image = Swap(image, image.ExtractArea(CropOffset(image.Width), CropOffset(image.Height), _size, _size));
            CopyOut(image, destination); // pixels are decoded here (or, when upscaling, once into memory before it)
            return info;
        }
        catch (VipsException e)
        {
            throw new ImageRejectedException(ImageRejectReason.Corrupt, $"corrupt {format} image: decoding failed ({Details(e)})", e);
        }
        finally
        {
            image.Dispose();
        }
    }

    /// <inheritdoc cref="PreprocessWithInfo(ReadOnlySpan{byte}, Span{float})"/>
    public PreprocessedImage PreprocessWithInfo(ReadOnlySpan<byte> encoded)
    {
        var tensor = new float[TensorLength];
        var info = PreprocessWithInfo(encoded, tensor);
        return new PreprocessedImage(info, tensor);
    }

    // ---- format detection and loading ----

    private static string Detect(ReadOnlySpan<byte> encoded)
    {
        if (encoded.IsEmpty)
            throw new ImageRejectedException(ImageRejectReason.Empty, "the image is empty (0 bytes)");

        var className = Image.FindLoadBuffer(encoded);
        if (className is null)
        {
            var error = TakeError();
            var sniffed = Sniff(encoded);
            throw new ImageRejectedException(ImageRejectReason.UnsupportedFormat, sniffed is null
                ? $"unsupported image format: the data is not an image format libvips recognises; only JPEG, PNG, WebP and GIF are accepted ({error})"
                : $"unsupported image format: {sniffed}; only JPEG, PNG, WebP and GIF are accepted");
        }

        switch (className)
        {
            case "VipsForeignLoadJpegBuffer": return "jpeg";
            case "VipsForeignLoadPngBuffer": return "png";
            case "VipsForeignLoadWebpBuffer": return "webp";
            case "VipsForeignLoadNsgifBuffer" or "VipsForeignLoadGifBuffer": return "gif";
        }

        var nickname = LoaderNickname(className);
        var what = Sniff(encoded);
        throw new ImageRejectedException(ImageRejectReason.UnsupportedFormat, what is not null
            ? $"unsupported image format: {what} (libvips loader {nickname}); only JPEG, PNG, WebP and GIF are accepted"
            : nickname.StartsWith("magick", StringComparison.Ordinal)
                ? $"unsupported image format: not JPEG, PNG, WebP or GIF (only libvips' generic ImageMagick loader, {nickname}, claims it)"
                : $"unsupported image format: libvips detected {nickname}; only JPEG, PNG, WebP and GIF are accepted");
    }

    private static string LoaderNickname(string className)
    {
        var type = NetVips.NetVips.TypeFromName(className);
        return type == IntPtr.Zero ? className : NetVips.NetVips.NicknameFind(type) ?? className;
    }

    /// <summary>Names common image formats from their signature, for the rejection message.</summary>
    private static string? Sniff(ReadOnlySpan<byte> b)
    {
        static bool At(ReadOnlySpan<byte> b, int offset, ReadOnlySpan<byte> magic) =>
            b.Length >= offset + magic.Length && b.Slice(offset, magic.Length).SequenceEqual(magic);

        if (At(b, 0, "BM"u8) && b.Length >= 14)
            return "BMP";
        if (At(b, 0, "II*\0"u8) || At(b, 0, "MM\0*"u8) || At(b, 0, "II+\0"u8) || At(b, 0, "MM\0+"u8))
            return "TIFF";
        if (At(b, 4, "ftypavif"u8) || At(b, 4, "ftypavis"u8))
            return "AVIF";
        if (At(b, 4, "ftypheic"u8) || At(b, 4, "ftypheix"u8) || At(b, 4, "ftypmif1"u8) || At(b, 4, "ftypmsf1"u8))
            return "HEIF/HEIC";
        if (At(b, 0, [0x00, 0x00, 0x00, 0x0C, 0x4A, 0x58, 0x4C, 0x20]) || At(b, 0, [0xFF, 0x0A]))
            return "JPEG XL";
        if (At(b, 0, [0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20]) || At(b, 0, [0xFF, 0x4F, 0xFF, 0x51]))
            return "JPEG 2000";
        if (At(b, 0, [0x00, 0x00, 0x01, 0x00]))
            return "ICO";
        if (At(b, 0, "8BPS"u8))
            return "PSD";
        if (At(b, 0, "%PDF"u8))
            return "PDF";
        if (At(b, 0, "qoif"u8))
            return "QOI";
        var head = b[..Math.Min(b.Length, 256)];
        if (head.IndexOf("<svg"u8) >= 0)
            return "SVG";
        return null;
    }

    /// <summary>Reads the header; pixels are decoded only when the pipeline is evaluated. NetVips copies the bytes
    /// into a libvips-owned blob, so the caller's buffer (pooled, or reused at once) is not read after this returns.
    /// (NetVips looks the loader up again from the first bytes, which <see cref="Detect"/> already vetted: a sniff, not a decode.)</summary>
    private static Image Load(string format, ReadOnlySpan<byte> encoded, Enums.Access access)
    {
        try
        {
            // fail_on=error: truncated or damaged data fails instead of being patched up with grey.
            return Image.NewFromBuffer(encoded, access: access, failOn: Enums.FailOn.Error);
        }
        catch (VipsException e)
        {
            throw new ImageRejectedException(ImageRejectReason.Corrupt, $"corrupt {format} image: its header could not be read ({Details(e)})", e);
        }
    }

    private void CheckSize(ImageInfo info)
    {
        var pixels = (long)info.Width * info.Height;
        if (pixels > Options.MaxPixels)
        {
            var inv = CultureInfo.InvariantCulture;
            throw new ImageRejectedException(ImageRejectReason.TooLarge, string.Create(inv,
                $"image is {info.Width}x{info.Height} = {pixels:N0} pixels; the limit is {Options.MaxPixels:N0}"));
        }
        if (info.Width < 1 || info.Height < 1)
            throw new ImageRejectedException(ImageRejectReason.Corrupt, $"corrupt {info.Format} image: header says {info.Width}x{info.Height}");
    }

    // ---- pipeline steps: each replaces the caller's image with the next one, releasing the one it replaced, so the
    // caller's finally always holds (and releases) the latest image, whichever step throws ----

    /// <summary>Releases <paramref name="input"/> (the output holds its own reference to what it reads) and returns
    /// <paramref name="output"/>. Called as <c>image = Swap(image, image.Op())</c>: when the step throws, image is
    /// still the input, and the caller's finally releases it.</summary>
    private static Image Swap(Image input, Image output)
    {
        input.Dispose();
        return output;
    }

    /// <summary>Any colour space, depth or alpha → 3-band 8-bit sRGB, transparent areas composited onto white.</summary>
    private static void ToSrgb8(ref Image image, ImageInfo info)
    {
        if (image.Interpretation != Enums.Interpretation.Srgb || image.Format != Enums.BandFormat.Uchar)
        {
            try
            {
                image = Swap(image, image.Colourspace(Enums.Interpretation.Srgb));
            }
            catch (VipsException e)
            {
                throw new ImageRejectedException(ImageRejectReason.UnsupportedFormat,
                    $"libvips could not convert the {info.Format} image ({image.Bands} bands, {image.Interpretation}) to sRGB: {Details(e)}", e);
            }
        }
        if (image.Format != Enums.BandFormat.Uchar)
            image = Swap(image, image.Cast(Enums.BandFormat.Uchar));
        if (image.HasAlpha())
        {
            // In float, then rounded: flattening uchar truncates (1/255 below PIL's alpha_composite on partial alpha).
            image = Swap(image, image.Cast(Enums.BandFormat.Float));
            image = Swap(image, image.Flatten(background: [255, 255, 255]));
            image = Swap(image, image.Round(Enums.OperationRound.Rint));
            image = Swap(image, image.Cast(Enums.BandFormat.Uchar));
        }
        if (image.Bands > 3)
            image = Swap(image, image.ExtractBand(0, n: 3));
        if (image.Bands != 3)
            throw new ImageRejectedException(ImageRejectReason.UnsupportedFormat,
                $"unsupported {info.Format} image: {image.Bands} bands after conversion to sRGB");
    }

    /// <summary>Shortest side → S, long side → int(S·long/short) as torchvision computes it, with a Catmull-Rom
    /// cubic (PIL's BICUBIC). Downscaling: reduceh then reducev (antialiased like PIL). Upscaling: affine with the
    /// bicubic interpolator, pixel centres aligned as PIL does ((x + 0.5)·in/out − 0.5) and edges copied.</summary>
    private void Resize(ref Image image, ImageInfo info)
    {
        var (w, h) = (info.Width, info.Height);
        int newW, newH;
        if (w <= h)
            (newW, newH) = (_size, (int)((double)((long)_size * h) / w));
        else
            (newW, newH) = ((int)((double)((long)_size * w) / h), _size);

        if (newW == w && newH == h)
            return;
        if (newW > w || newH > h) // the short side fixes both: either both shrink or both grow
        {
            Upscale(ref image, w, h, newW, newH);
            return;
        }

        // Horizontal pass first, then vertical, as PIL does, each in float and then rounded and clipped to 8 bits
        // (PIL rounds and clips between its passes). The order and the clipping show at hard edges: vips_reduce on
        // uchar (vertical first, 12-bit weights) came up to 11/255 from PIL there; this way stays within 3/255.
        if (newW != w)
            Reduce(ref image, horizontal: true, (double)w / newW);
        if (newH != h)
            Reduce(ref image, horizontal: false, (double)h / newH);
    }

    private static void Reduce(ref Image image, bool horizontal, double shrink)
    {
        image = Swap(image, image.Cast(Enums.BandFormat.Float));
        image = Swap(image, horizontal
            ? image.Reduceh(shrink, kernel: Enums.Kernel.Cubic)
            : image.Reducev(shrink, kernel: Enums.Kernel.Cubic));
        image = Swap(image, image.Round(Enums.OperationRound.Rint));
        image = Swap(image, image.Cast(Enums.BandFormat.Uchar)); // clips to 0..255
    }

    private static void Upscale(ref Image image, int w, int h, int newW, int newH)
    {
        // affine reads its input out of order, which the sequential loader cannot serve: decode the source into
        // memory once (it is small: its short side is below S), and let affine read that.
        image = Swap(image, image.CopyMemory());
        using var bicubic = Interpolate.NewFromName("bicubic");
        // out(X) = a·(in + idx) + odx  ⇒  in = (X + 0.5)/a − 0.5, PIL's centre convention.
        image = Swap(image, image.Affine([(double)newW / w, 0, 0, (double)newH / h], interpolate: bicubic,
            oarea: [0, 0, newW, newH], idx: 0.5, idy: 0.5, odx: -0.5, ody: -0.5, extend: Enums.Extend.Copy));
    }

    /// <summary>torchvision CenterCrop: int(round((side − S) / 2.0)), Python's round-half-to-even.</summary>
    private int CropOffset(int side) => (int)Math.Round((side - _size) / 2.0, MidpointRounding.ToEven);

    private unsafe void CopyOut(Image image, Span<float> destination)
    {
        // Straight into a libvips buffer and out through the LUT: no managed copy of the pixels in between.
        var pixels = image.WriteToMemory(out var size);
        if (pixels == IntPtr.Zero)
            throw new VipsException("unable to write the image to memory");
        try
        {
            var plane = _size * _size;
            if (size != (ulong)(plane * 3))
                throw new InvalidOperationException($"libvips returned {size} bytes; expected {plane * 3} ({_size}x{_size}x3).");
            var src = new ReadOnlySpan<byte>((void*)pixels, plane * 3);
            var r = destination[..plane];
            var g = destination.Slice(plane, plane);
            var b = destination.Slice(2 * plane, plane);
            var lut = _lut.AsSpan();
            var lr = lut[..256];
            var lg = lut.Slice(256, 256);
            var lb = lut.Slice(512, 256);
            for (int i = 0, j = 0; i < plane; i++, j += 3)
            {
                r[i] = lr[src[j]];
                g[i] = lg[src[j + 1]];
                b[i] = lb[src[j + 2]];
            }
        }
        finally
        {
            NetVips.NetVips.Free(pixels);
        }
    }

    /// <summary>libvips' own words from a NetVips exception, on one line.</summary>
    private static string Details(VipsException e)
    {
        var text = string.Join("; ", e.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return text.Length == 0 ? "libvips gave no details" : text;
    }

    /// <summary>Takes (reads and clears) libvips' process-wide error buffer, which a failed look-up fills without
    /// throwing: a VipsException built here carries it, and building it clears it for later calls.</summary>
    private static string TakeError() => Details(new VipsException(string.Empty));
}
