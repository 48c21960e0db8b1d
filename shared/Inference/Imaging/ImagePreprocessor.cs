using System.Globalization;
using System.Runtime.InteropServices;
using static Platform.Inference.Imaging.VipsNative;

namespace Platform.Inference.Imaging;

/// <summary>
/// Turns an encoded JPEG, PNG, WebP or GIF into a CHW float tensor with CLIP's training-time preprocessing:
/// torchvision <c>Resize(S, bicubic)</c> of the shortest side, <c>CenterCrop(S)</c>, <c>ToTensor</c>,
/// <c>Normalize(mean, std)</c>, done with libvips.
/// <list type="bullet">
/// <item>Only the first frame of a GIF or animated WebP is used.</item>
/// <item>width × height is checked against <see cref="ImagePreprocessOptions.MaxPixels"/> from the header, before any pixel is decoded.</item>
/// <item>Grey, CMYK and 16-bit images become 8-bit sRGB; alpha is composited onto white.</item>
/// <item>EXIF orientation is not applied (neither does PIL, hence CLIP's training pipeline).</item>
/// </list>
/// Instances hold no mutable state: one may be used from many threads at once.
/// </summary>
public sealed unsafe class ImagePreprocessor
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
        fixed (byte* data = encoded)
        {
            var format = Detect(data, encoded.Length);
            using var image = Load(format, data, encoded.Length, AccessRandom); // lazy: decodes no pixels
            var info = new ImageInfo(format, vips_image_get_width(image), vips_image_get_height(image));
            CheckSize(info);
            return info;
        }
    }

    /// <summary>Decodes, resizes, crops and normalises into <paramref name="destination"/> (CHW, RGB,
    /// <see cref="TensorLength"/> floats).</summary>
    public void Preprocess(ReadOnlySpan<byte> encoded, Span<float> destination)
    {
        if (destination.Length < TensorLength)
            throw new ArgumentException($"destination holds {destination.Length} floats; {TensorLength} (3x{_size}x{_size}) are needed.", nameof(destination));

        // The loaders read the caller's bytes in place (no copy), and pixels are decoded lazily, so the buffer stays
        // pinned until the pixels have been copied out and every image built over it has been released.
        fixed (byte* data = encoded)
        {
            var format = Detect(data, encoded.Length);
            var image = Load(format, data, encoded.Length, AccessSequential);
            try
            {
                var info = new ImageInfo(format, vips_image_get_width(image), vips_image_get_height(image));
                CheckSize(info);
                image = ToSrgb8(image, info);
                image = Resize(image, info);
                image = Then(image, vips_extract_area(image, out var cropped, CropOffset(vips_image_get_width(image)),
                    CropOffset(vips_image_get_height(image)), _size, _size, IntPtr.Zero), cropped, "crop");
                CopyOut(image, info, destination);
            }
            finally
            {
                image.Dispose();
            }
        }
    }

    // ---- format detection and loading ----

    private static string Detect(byte* data, int length)
    {
        if (length == 0)
            throw new ImageRejectedException(ImageRejectReason.Empty, "the image is empty (0 bytes)");

        var loader = vips_foreign_find_load_buffer(data, (nuint)length);
        if (loader == IntPtr.Zero)
        {
            var error = TakeError();
            var sniffed = Sniff(new ReadOnlySpan<byte>(data, length));
            throw new ImageRejectedException(ImageRejectReason.UnsupportedFormat, sniffed is null
                ? $"unsupported image format: the data is not an image format libvips recognises; only JPEG, PNG, WebP and GIF are accepted ({error})"
                : $"unsupported image format: {sniffed}; only JPEG, PNG, WebP and GIF are accepted");
        }

        var className = Marshal.PtrToStringUTF8(loader) ?? "";
        switch (className)
        {
            case "VipsForeignLoadJpegBuffer": return "jpeg";
            case "VipsForeignLoadPngBuffer": return "png";
            case "VipsForeignLoadWebpBuffer": return "webp";
            case "VipsForeignLoadNsgifBuffer" or "VipsForeignLoadGifBuffer": return "gif";
        }

        var nickname = LoaderNickname(className);
        var what = Sniff(new ReadOnlySpan<byte>(data, length));
        throw new ImageRejectedException(ImageRejectReason.UnsupportedFormat, what is not null
            ? $"unsupported image format: {what} (libvips loader {nickname}); only JPEG, PNG, WebP and GIF are accepted"
            : nickname.StartsWith("magick", StringComparison.Ordinal)
                ? $"unsupported image format: not JPEG, PNG, WebP or GIF (only libvips' generic ImageMagick loader, {nickname}, claims it)"
                : $"unsupported image format: libvips detected {nickname}; only JPEG, PNG, WebP and GIF are accepted");
    }

    private static string LoaderNickname(string className)
    {
        var type = g_type_from_name(className);
        var nick = type == 0 ? IntPtr.Zero : vips_nickname_find(type);
        return nick == IntPtr.Zero ? className : Marshal.PtrToStringUTF8(nick) ?? className;
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

    private static VipsImageHandle Load(string format, byte* data, int length, int access)
    {
        var len = (nuint)length;
        // fail_on=error: truncated or damaged data fails instead of being patched up with grey.
        VipsImageHandle image;
        var rc = format switch
        {
            "jpeg" => vips_jpegload_buffer(data, len, out image, "fail_on", FailOnError, "access", access, IntPtr.Zero),
            "png" => vips_pngload_buffer(data, len, out image, "fail_on", FailOnError, "access", access, IntPtr.Zero),
            "webp" => vips_webpload_buffer(data, len, out image, "fail_on", FailOnError, "access", access, IntPtr.Zero),
            "gif" => vips_gifload_buffer(data, len, out image, "fail_on", FailOnError, "access", access, IntPtr.Zero),
            _ => throw new InvalidOperationException(format),
        };
        if (rc != 0)
        {
            image.Dispose();
            throw new ImageRejectedException(ImageRejectReason.Corrupt, $"corrupt {format} image: its header could not be read ({TakeError()})");
        }
        return image;
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

    // ---- pipeline steps; each takes ownership of its input and returns the next image ----

    /// <summary>Disposes <paramref name="input"/> (the output keeps what it needs alive) and returns
    /// <paramref name="output"/>, or throws with libvips' error when the step failed.</summary>
    private static VipsImageHandle Then(VipsImageHandle input, int rc, VipsImageHandle output, string step,
        ImageRejectReason reason = ImageRejectReason.Corrupt)
    {
        if (rc != 0)
        {
            output.Dispose();
            throw new ImageRejectedException(reason, $"libvips could not {step} the image: {TakeError()}");
        }
        input.Dispose();
        return output;
    }

    /// <summary>Any colour space, depth or alpha → 3-band 8-bit sRGB, transparent areas composited onto white.</summary>
    private static VipsImageHandle ToSrgb8(VipsImageHandle image, ImageInfo info)
    {
        if (vips_image_get_interpretation(image) != InterpretationSrgb || vips_image_get_format(image) != FormatUchar)
        {
            image = Then(image, vips_colourspace(image, out var srgb, InterpretationSrgb, IntPtr.Zero), srgb,
                $"convert to sRGB ({info.Format}, {vips_image_get_bands(image)} bands)", ImageRejectReason.UnsupportedFormat);
        }
        if (vips_image_get_format(image) != FormatUchar)
            image = Then(image, vips_cast(image, out var cast, FormatUchar, IntPtr.Zero), cast, "cast to 8 bits");
        if (vips_image_hasalpha(image) != 0)
        {
            // In float, then rounded: flattening uchar truncates (1/255 below PIL's alpha_composite on partial alpha).
            var white = stackalloc double[] { 255, 255, 255 };
            var background = vips_array_double_new(white, 3);
            try
            {
                image = Then(image, vips_cast(image, out var asFloat, FormatFloat, IntPtr.Zero), asFloat, "cast to float");
                image = Then(image, vips_flatten(image, out var flat, "background", background, IntPtr.Zero), flat, "flatten");
            }
            finally
            {
                vips_area_unref(background);
            }
            image = Then(image, vips_round(image, out var rounded, RoundRint, IntPtr.Zero), rounded, "round");
            image = Then(image, vips_cast(image, out var cast, FormatUchar, IntPtr.Zero), cast, "cast to 8 bits");
        }
        if (vips_image_get_bands(image) > 3)
            image = Then(image, vips_extract_band(image, out var rgb, 0, "n", 3, IntPtr.Zero), rgb, "take RGB bands of");
        if (vips_image_get_bands(image) != 3)
            throw new ImageRejectedException(ImageRejectReason.UnsupportedFormat,
                $"unsupported {info.Format} image: {vips_image_get_bands(image)} bands after conversion to sRGB");
        return image;
    }

    /// <summary>Shortest side → S, long side → int(S·long/short) as torchvision computes it, with a Catmull-Rom
    /// cubic (PIL's BICUBIC). Downscaling: vips_reduceh then vips_reducev (antialiased like PIL). Upscaling: vips_affine with the
    /// bicubic interpolator, pixel centres aligned as PIL does ((x + 0.5)·in/out − 0.5) and edges copied.</summary>
    private VipsImageHandle Resize(VipsImageHandle image, ImageInfo info)
    {
        var (w, h) = (info.Width, info.Height);
        int newW, newH;
        if (w <= h)
            (newW, newH) = (_size, (int)((double)((long)_size * h) / w));
        else
            (newW, newH) = ((int)((double)((long)_size * w) / h), _size);

        if (newW == w && newH == h)
            return image;
        if (newW > w || newH > h) // the short side fixes both: either both shrink or both grow
            return Upscale(image, w, h, newW, newH);

        // Horizontal pass first, then vertical, as PIL does, each in float and then rounded and clipped to 8 bits
        // (PIL rounds and clips between its passes). The order and the clipping show at hard edges: vips_reduce on
        // uchar (vertical first, 12-bit weights) came up to 11/255 from PIL there; this way stays within 3/255.
        if (newW != w)
            image = Reduce(image, horizontal: true, (double)w / newW);
        if (newH != h)
            image = Reduce(image, horizontal: false, (double)h / newH);
        return image;
    }

    private static VipsImageHandle Reduce(VipsImageHandle image, bool horizontal, double shrink)
    {
        image = Then(image, vips_cast(image, out var asFloat, FormatFloat, IntPtr.Zero), asFloat, "cast to float");
        image = horizontal
            ? Then(image, vips_reduceh(image, out var narrower, shrink, "kernel", KernelCubic, IntPtr.Zero), narrower, "resize")
            : Then(image, vips_reducev(image, out var shorter, shrink, "kernel", KernelCubic, IntPtr.Zero), shorter, "resize");
        image = Then(image, vips_round(image, out var rounded, RoundRint, IntPtr.Zero), rounded, "round");
        return Then(image, vips_cast(image, out var clipped, FormatUchar, IntPtr.Zero), clipped, "cast to 8 bits"); // clips to 0..255
    }

    private static VipsImageHandle Upscale(VipsImageHandle image, int w, int h, int newW, int newH)
    {
        // affine reads its input out of order; the source is small here (short side < S), so decode it first.
        var inMemory = vips_image_copy_memory(image);
        image = Then(image, inMemory == IntPtr.Zero ? -1 : 0, new VipsImageHandle(inMemory), "decode");

        var op = vips_operation_new("affine");
        if (op == IntPtr.Zero)
            throw new InvalidOperationException($"libvips has no affine operation: {TakeError()}");
        try
        {
            g_object_set_image(op, "in", image, IntPtr.Zero);
            var matrix = stackalloc double[] { (double)newW / w, 0, 0, (double)newH / h };
            var matrixArray = vips_array_double_new(matrix, 4);
            g_object_set_pointer(op, "matrix", matrixArray, IntPtr.Zero);
            vips_area_unref(matrixArray);
            var area = stackalloc int[] { 0, 0, newW, newH };
            var areaArray = vips_array_int_new(area, 4);
            g_object_set_pointer(op, "oarea", areaArray, IntPtr.Zero);
            vips_area_unref(areaArray);
            var bicubic = vips_interpolate_new("bicubic");
            g_object_set_pointer(op, "interpolate", bicubic, IntPtr.Zero);
            g_object_unref(bicubic);
            g_object_set_int(op, "extend", ExtendCopy, IntPtr.Zero);
            // out(X) = a·(in + idx) + odx  ⇒  in = (X + 0.5)/a − 0.5, PIL's centre convention.
            SetDouble(op, "idx", 0.5);
            SetDouble(op, "idy", 0.5);
            SetDouble(op, "odx", -0.5);
            SetDouble(op, "ody", -0.5);

            if (vips_cache_operation_buildp(ref op) != 0)
                throw new ImageRejectedException(ImageRejectReason.Corrupt, $"libvips could not resize the image: {TakeError()}");
            g_object_get_pointer(op, "out", out var output, IntPtr.Zero);
            image.Dispose();
            return new VipsImageHandle(output);
        }
        catch
        {
            image.Dispose();
            throw;
        }
        finally
        {
            vips_object_unref_outputs(op);
            g_object_unref(op);
        }
    }

    /// <summary>torchvision CenterCrop: int(round((side − S) / 2.0)), Python's round-half-to-even.</summary>
    private int CropOffset(int side) => (int)Math.Round((side - _size) / 2.0, MidpointRounding.ToEven);

    private void CopyOut(VipsImageHandle image, ImageInfo info, Span<float> destination)
    {
        var pixels = vips_image_write_to_memory(image, out var size);
        if (pixels == IntPtr.Zero)
            throw new ImageRejectedException(ImageRejectReason.Corrupt, $"corrupt {info.Format} image: decoding failed ({TakeError()})");
        try
        {
            var plane = _size * _size;
            if (size != (nuint)(plane * 3))
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
            g_free(pixels);
        }
    }
}
