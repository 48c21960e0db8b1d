using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Platform.Inference.Imaging;

/// <summary>A reference to a VipsImage (a GObject); releasing it drops that reference with g_object_unref.</summary>
internal sealed class VipsImageHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    /// <summary>For the interop marshaller (out parameters): starts invalid and owning.</summary>
    public VipsImageHandle()
        : base(ownsHandle: true)
    {
    }

    /// <summary>Takes over a reference the caller already owns.</summary>
    public VipsImageHandle(IntPtr owned)
        : base(ownsHandle: true) => SetHandle(owned);

    protected override bool ReleaseHandle()
    {
        VipsNative.g_object_unref(handle);
        return true;
    }
}

/// <summary>
/// The slice of libvips 8.14 / GObject / GLib that the preprocessor calls (Linux sonames).
/// <para>
/// Variadic C functions (libvips' optional arguments, g_object_set/get) are declared with a fixed arity that
/// passes only pointers and ints in the variadic part, ending with a NULL terminator. On x86-64 System V a
/// variadic callee reads integer/pointer varargs from the same registers and stack slots as fixed arguments; only
/// floating-point varargs need the caller to set %al, which P/Invoke does not do, so no double is ever passed
/// variadically (doubles go either as fixed parameters, e.g. vips_reduceh's shrink factor, or through a GValue).
/// </para>
/// </summary>
internal static unsafe partial class VipsNative
{
    private const string Vips = "libvips.so.42";
    private const string GObject = "libgobject-2.0.so.0";
    private const string GLib = "libglib-2.0.so.0";

    public const int FailOnError = 2;              // VipsFailOn: NONE, TRUNCATED, ERROR, WARNING
    public const int AccessRandom = 0;             // VipsAccess
    public const int AccessSequential = 1;
    public const int KernelCubic = 2;              // VipsKernel: NEAREST, LINEAR, CUBIC, ...
    public const int InterpretationSrgb = 22;      // VIPS_INTERPRETATION_sRGB
    public const int FormatUchar = 0;              // VIPS_FORMAT_UCHAR
    public const int FormatFloat = 6;              // VIPS_FORMAT_FLOAT
    public const int RoundRint = 0;                // VipsOperationRound: RINT, CEIL, FLOOR
    public const int ExtendCopy = 1;               // VipsExtend: BLACK, COPY, ...
    private const nuint GTypeDouble = 15 << 2;     // G_TYPE_MAKE_FUNDAMENTAL(15)

    /// <summary>GValue: a GType and two 8-byte data words.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct GValue
    {
        public nuint GType;
        public ulong Data0;
        public ulong Data1;
    }

    // ---- setup and errors ----
    [LibraryImport(Vips, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int vips_init(string argv0);

    [LibraryImport(Vips)]
    public static partial void vips_cache_set_max(int max);

    /// <summary>libc's setenv: native code reads the C environment, which Environment.SetEnvironmentVariable does not change.</summary>
    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int setenv(string name, string value, int overwrite);

    /// <summary>Copies and clears the (process-wide) error buffer; g_free the result.</summary>
    [LibraryImport(Vips)]
    public static partial IntPtr vips_error_buffer_copy();

    [LibraryImport(Vips)]
    public static partial void vips_error_clear();

    [LibraryImport(GLib)]
    public static partial void g_free(IntPtr mem);

    [LibraryImport(GObject)]
    public static partial void g_object_unref(IntPtr obj);

    [LibraryImport(GObject, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nuint g_type_from_name(string name);

    [LibraryImport(Vips)]
    public static partial IntPtr vips_nickname_find(nuint type);

    // ---- loading ----
    /// <summary>The GType name of the loader for these bytes (static string), or NULL.</summary>
    [LibraryImport(Vips)]
    public static partial IntPtr vips_foreign_find_load_buffer(byte* data, nuint size);

    // int vips_xxxload_buffer(void *buf, size_t len, VipsImage **out, ...): "fail_on", int, "access", int, NULL
    [LibraryImport(Vips, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int vips_jpegload_buffer(byte* buf, nuint len, out VipsImageHandle output,
        string n1, int v1, string n2, int v2, IntPtr terminator);

    [LibraryImport(Vips, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int vips_pngload_buffer(byte* buf, nuint len, out VipsImageHandle output,
        string n1, int v1, string n2, int v2, IntPtr terminator);

    [LibraryImport(Vips, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int vips_webpload_buffer(byte* buf, nuint len, out VipsImageHandle output,
        string n1, int v1, string n2, int v2, IntPtr terminator);

    [LibraryImport(Vips, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int vips_gifload_buffer(byte* buf, nuint len, out VipsImageHandle output,
        string n1, int v1, string n2, int v2, IntPtr terminator);

    // ---- header ----
    [LibraryImport(Vips)]
    public static partial int vips_image_get_width(VipsImageHandle image);

    [LibraryImport(Vips)]
    public static partial int vips_image_get_height(VipsImageHandle image);

    [LibraryImport(Vips)]
    public static partial int vips_image_get_bands(VipsImageHandle image);

    [LibraryImport(Vips)]
    public static partial int vips_image_get_format(VipsImageHandle image);

    [LibraryImport(Vips)]
    public static partial int vips_image_get_interpretation(VipsImageHandle image);

    [LibraryImport(Vips)]
    public static partial int vips_image_hasalpha(VipsImageHandle image);

    // ---- operations (all end with a NULL terminator) ----
    [LibraryImport(Vips)]
    public static partial int vips_colourspace(VipsImageHandle input, out VipsImageHandle output, int space, IntPtr terminator);

    [LibraryImport(Vips)]
    public static partial int vips_cast(VipsImageHandle input, out VipsImageHandle output, int format, IntPtr terminator);

    [LibraryImport(Vips)]
    public static partial int vips_round(VipsImageHandle input, out VipsImageHandle output, int round, IntPtr terminator);

    [LibraryImport(Vips, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int vips_flatten(VipsImageHandle input, out VipsImageHandle output, string n1, IntPtr background, IntPtr terminator);

    [LibraryImport(Vips, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int vips_extract_band(VipsImageHandle input, out VipsImageHandle output, int band, string n1, int count, IntPtr terminator);

    [LibraryImport(Vips)]
    public static partial int vips_extract_area(VipsImageHandle input, out VipsImageHandle output, int left, int top, int width, int height, IntPtr terminator);

    /// <summary>The shrink factor is a fixed (named) double parameter, not a vararg.</summary>
    [LibraryImport(Vips, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int vips_reduceh(VipsImageHandle input, out VipsImageHandle output, double hshrink, string n1, int kernel, IntPtr terminator);

    /// <inheritdoc cref="vips_reduceh"/>
    [LibraryImport(Vips, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int vips_reducev(VipsImageHandle input, out VipsImageHandle output, double vshrink, string n1, int kernel, IntPtr terminator);

    /// <summary>Decodes the whole image into memory now; a new reference, or NULL on error.</summary>
    [LibraryImport(Vips)]
    public static partial IntPtr vips_image_copy_memory(VipsImageHandle image);

    /// <summary>Renders the image into a new g_malloc'ed buffer (g_free it), or NULL on error.</summary>
    [LibraryImport(Vips)]
    public static partial IntPtr vips_image_write_to_memory(VipsImageHandle image, out nuint size);

    // ---- generic operation calls, for arguments the variadic wrappers would need doubles for ----
    [LibraryImport(Vips, StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr vips_operation_new(string name);

    [LibraryImport(Vips)]
    public static partial int vips_cache_operation_buildp(ref IntPtr operation);

    [LibraryImport(Vips)]
    public static partial void vips_object_unref_outputs(IntPtr obj);

    [LibraryImport(Vips)]
    public static partial IntPtr vips_array_double_new(double* array, int n);

    [LibraryImport(Vips)]
    public static partial IntPtr vips_array_int_new(int* array, int n);

    [LibraryImport(Vips)]
    public static partial void vips_area_unref(IntPtr area);

    [LibraryImport(Vips, StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr vips_interpolate_new(string nickname);

    [LibraryImport(GObject, EntryPoint = "g_object_set", StringMarshalling = StringMarshalling.Utf8)]
    public static partial void g_object_set_image(IntPtr obj, string name, VipsImageHandle value, IntPtr terminator);

    [LibraryImport(GObject, EntryPoint = "g_object_set", StringMarshalling = StringMarshalling.Utf8)]
    public static partial void g_object_set_pointer(IntPtr obj, string name, IntPtr value, IntPtr terminator);

    [LibraryImport(GObject, EntryPoint = "g_object_set", StringMarshalling = StringMarshalling.Utf8)]
    public static partial void g_object_set_int(IntPtr obj, string name, int value, IntPtr terminator);

    [LibraryImport(GObject, EntryPoint = "g_object_get", StringMarshalling = StringMarshalling.Utf8)]
    public static partial void g_object_get_pointer(IntPtr obj, string name, out IntPtr value, IntPtr terminator);

    [LibraryImport(GObject)]
    private static partial IntPtr g_value_init(GValue* value, nuint gtype);

    [LibraryImport(GObject)]
    private static partial void g_value_set_double(GValue* value, double v);

    [LibraryImport(GObject)]
    private static partial void g_value_unset(GValue* value);

    [LibraryImport(GObject, StringMarshalling = StringMarshalling.Utf8)]
    private static partial void g_object_set_property(IntPtr obj, string name, GValue* value);

    /// <summary>Sets a double-typed property without varargs (through a GValue).</summary>
    public static void SetDouble(IntPtr obj, string name, double v)
    {
        GValue value = default;
        g_value_init(&value, GTypeDouble);
        g_value_set_double(&value, v);
        g_object_set_property(obj, name, &value);
        g_value_unset(&value);
    }

    /// <summary>Takes (copies and clears) libvips' error buffer. The buffer is process-wide, so under concurrent
    /// failures it may also hold another thread's message.</summary>
    public static string TakeError()
    {
        var p = vips_error_buffer_copy();
        if (p == IntPtr.Zero)
            return "libvips gave no details";
        try
        {
            var text = (Marshal.PtrToStringUTF8(p) ?? "").Trim();
            return text.Length == 0 ? "libvips gave no details" : text;
        }
        finally
        {
            g_free(p);
        }
    }
}

/// <summary>Process-wide libvips start-up, done once on first use.</summary>
internal static class VipsRuntime
{
    private static readonly Lazy<bool> Started = new(Start, LazyThreadSafetyMode.ExecutionAndPublication);

    public static void EnsureStarted() => _ = Started.Value;

    private static bool Start()
    {
        // libvips loads optional modules (ImageMagick, OpenSlide, Poppler, HEIF, JPEG XL) globally at start-up. We
        // accept only JPEG, PNG, WebP and GIF, which are built in, and OpenSlide drags the system libsqlite3 into
        // the global symbol scope, where it clobbers the SQLite the catalog uses (a crash on first open). Pointing
        // VIPSHOME at a folder without modules keeps them out; an operator's own VIPSHOME is respected.
        if (Environment.GetEnvironmentVariable("VIPSHOME") is null)
            VipsNative.setenv("VIPSHOME", Path.Combine(AppContext.BaseDirectory, "no-vips-modules"), 0);
        if (VipsNative.vips_init("platform-inference") != 0)
            throw new InvalidOperationException($"libvips failed to start: {VipsNative.TakeError()}");
        // No operation cache: a cached loader result is keyed on the buffer's address, and callers reuse buffers.
        VipsNative.vips_cache_set_max(0);
        return true;
    }
}
