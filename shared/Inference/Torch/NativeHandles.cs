using Microsoft.Win32.SafeHandles;

namespace Platform.Inference.Torch;

/// <summary>Owns a native PtModule (pt_module_load); freed exactly once, after the last in-flight call releases it.</summary>
internal sealed class ModuleHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public ModuleHandle() : base(ownsHandle: true) { }

    protected override bool ReleaseHandle()
    {
        NativeMethods.pt_module_free(handle);
        return true;
    }
}

/// <summary>Owns a native output tensor (pt_module_forward_*): contiguous float32 on the CPU.</summary>
internal sealed class TensorHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public TensorHandle() : base(ownsHandle: true) { }

    protected override bool ReleaseHandle()
    {
        NativeMethods.pt_tensor_free(handle);
        return true;
    }
}
