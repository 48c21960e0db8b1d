namespace Platform.Inference.Torch;

/// <summary>A libtorch failure reported through the native shim; <see cref="NativeMessage"/> is libtorch's own text.</summary>
public sealed class TorchException : Exception
{
    public TorchException(string message) : this(message, string.Empty) { }

    public TorchException(string message, string nativeMessage)
        : base(string.IsNullOrEmpty(nativeMessage) ? message : $"{message}: {nativeMessage}") =>
        NativeMessage = nativeMessage;

    public TorchException(string message, Exception innerException) : base(message, innerException) =>
        NativeMessage = string.Empty;

    /// <summary>The message libtorch (or the shim's argument checks) produced, without the C++ backtrace.</summary>
    public string NativeMessage { get; }

    /// <summary>Builds the exception from this thread's pending native error; call right after the failing P/Invoke.</summary>
    internal static TorchException FromLastError(string context)
    {
        var native = NativeMethods.LastError();
        return new TorchException(context, native.Length == 0 ? "(native layer reported no message)" : native);
    }
}

/// <summary>libplatform_torch.so (or libtorch under it) could not be loaded; the message lists every path tried.</summary>
public sealed class TorchLibraryNotFoundException : DllNotFoundException
{
    public TorchLibraryNotFoundException(string message) : base(message) { }
}
