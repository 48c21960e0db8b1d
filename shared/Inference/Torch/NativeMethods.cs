using System.Runtime.InteropServices;

namespace Platform.Inference.Torch;

/// <summary>
/// P/Invoke surface of libplatform_torch.so (shared/Inference/native/platform_torch.cpp). Every call that can fail
/// returns a sentinel (invalid handle / -1) and leaves the reason in <see cref="pt_last_error"/>, which is
/// thread-local on the native side and must be read on the same thread right after the failing call.
/// </summary>
internal static unsafe partial class NativeMethods
{
    internal const string Library = "platform_torch";

    /// <summary>Mirrors kMaxDims in platform_torch.cpp.</summary>
    internal const int MaxDims = 16;

    // The explicit static constructor makes the resolver registration run before the first P/Invoke binds.
    static NativeMethods() => PlatformTorchLibrary.RegisterResolver();

    [LibraryImport(Library)]
    internal static partial nint pt_last_error();

    [LibraryImport(Library)]
    internal static partial nint pt_torch_version();

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ModuleHandle pt_module_load(string path, string device);

    [LibraryImport(Library)]
    internal static partial void pt_module_free(nint module);

    [LibraryImport(Library)]
    internal static partial TensorHandle pt_module_forward_f32(ModuleHandle module, float* data, long* shape, int ndim);

    [LibraryImport(Library)]
    internal static partial TensorHandle pt_module_forward_i64(ModuleHandle module, long* data, long* shape, int ndim);

    [LibraryImport(Library)]
    internal static partial int pt_tensor_ndim(TensorHandle tensor);

    [LibraryImport(Library)]
    internal static partial long pt_tensor_numel(TensorHandle tensor);

    [LibraryImport(Library)]
    internal static partial int pt_tensor_shape(TensorHandle tensor, long* shape, int capacity);

    [LibraryImport(Library)]
    internal static partial int pt_tensor_copy_f32(TensorHandle tensor, float* destination, long count);

    [LibraryImport(Library)]
    internal static partial void pt_tensor_free(nint tensor);

    [LibraryImport(Library)]
    internal static partial int pt_cuda_device_count();

    [LibraryImport(Library)]
    internal static partial int pt_set_num_threads(int threads);

    [LibraryImport(Library)]
    internal static partial int pt_get_num_threads();

    /// <summary>This thread's last native error; "" when the last call succeeded.</summary>
    internal static string LastError() => Marshal.PtrToStringUTF8(pt_last_error()) ?? string.Empty;
}
