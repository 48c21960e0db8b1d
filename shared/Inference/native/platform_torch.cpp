// platform_torch: a flat C ABI (prefix pt_) over libtorch's TorchScript runtime, consumed by the managed
// Platform.Inference.Torch layer through P/Invoke.
//
// Error model: no C++ exception ever crosses the ABI. Every export runs its body inside PT_GUARDED, which clears
// this thread's error message on entry and, on any exception, stores its message and returns a sentinel
// (NULL / -1). pt_last_error() returns that thread-local message ("" if the last call on this thread succeeded);
// the pointer stays valid until the next pt_ call on the same thread.
//
// Concurrency: pt_module_forward_* may be called on the SAME module from several threads at once. TorchScript
// modules are safe for concurrent forward calls (the graph executor guards its own lazy state), and this layer adds
// no mutable per-module state: each call builds its own input tensor and its own InferenceMode guard (thread-local).
// What is NOT allowed is freeing a module (or tensor) while another thread still uses it; the managed SafeHandles
// prevent that with DangerousAddRef/Release.
//
// Ownership: pt_module_load / pt_module_forward_* return heap objects the caller must release with pt_module_free /
// pt_tensor_free. Tensor handles are always contiguous float32 on the CPU, independent of the caller's buffers.

#include <torch/script.h>
#include <torch/cuda.h>
#include <torch/version.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <cstdint>
#include <cstring>
#include <exception>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#define PT_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

thread_local std::string t_last_error;

void set_error(const char* message) {
  try {
    t_last_error = (message != nullptr && *message != '\0') ? message : "unknown error";
  } catch (...) {
    // Out of memory while recording the error: keep whatever was there rather than throw across the ABI.
  }
}

[[noreturn]] void fail(const std::string& message) { throw std::invalid_argument(message); }

// One wrapper for every export body: clears the thread's error, converts any exception into (message, sentinel).
// c10::Error::what() carries a C++ backtrace; what_without_backtrace() is the message users need.
#define PT_GUARDED(sentinel, ...)                                   \
  do {                                                              \
    t_last_error.clear();                                           \
    try {                                                           \
      __VA_ARGS__                                                   \
    } catch (const c10::Error& e) {                                 \
      set_error(e.what_without_backtrace());                        \
    } catch (const std::exception& e) {                             \
      set_error(e.what());                                          \
    } catch (...) {                                                 \
      set_error("unknown non-standard C++ exception");              \
    }                                                               \
    return sentinel;                                                \
  } while (0)

#define PT_VOID /* nothing: sentinel for void exports */

constexpr int kMaxDims = 16;

struct PtModule {
  torch::jit::Module module;
  c10::Device device;
};

struct PtTensor {
  at::Tensor tensor;  // contiguous, float32, CPU
};

// Accepts exactly "cpu", "cuda" and "cuda:N"; anything else is a clear error rather than libtorch's long list of
// device types this build cannot use anyway.
c10::Device parse_device(const char* text) {
  if (text == nullptr) fail("device is null (expected \"cpu\", \"cuda\" or \"cuda:N\")");
  const std::string s(text);
  if (s == "cpu") return c10::Device(c10::kCPU);

  const std::string cuda = "cuda";
  if (s.compare(0, cuda.size(), cuda) != 0 || (s.size() > cuda.size() && s[cuda.size()] != ':')) {
    fail("unsupported device '" + s + "' (expected \"cpu\", \"cuda\" or \"cuda:N\")");
  }
  int index = 0;
  if (s.size() > cuda.size()) {
    const std::string digits = s.substr(cuda.size() + 1);
    if (digits.empty() || digits.size() > 4 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      fail("malformed device '" + s + "' (expected \"cpu\", \"cuda\" or \"cuda:N\" with N a non-negative integer)");
    }
    index = std::stoi(digits);
  }
  if (!torch::cuda::is_available()) {
    fail("device '" + s + "' requested but CUDA is not available (this libtorch build has no CUDA support " +
         "or no GPU is visible); use \"cpu\" or build against a CUDA libtorch via Torch_DIR");
  }
  const auto count = static_cast<int>(torch::cuda::device_count());
  if (index >= count) {
    fail("device '" + s + "' requested but only " + std::to_string(count) + " CUDA device(s) are visible");
  }
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
}

PtModule* as_module(void* handle) {
  if (handle == nullptr) fail("module handle is null");
  return static_cast<PtModule*>(handle);
}

PtTensor* as_tensor(void* handle) {
  if (handle == nullptr) fail("tensor handle is null");
  return static_cast<PtTensor*>(handle);
}

std::vector<int64_t> read_shape(const int64_t* shape, int ndim, int64_t& numel) {
  if (ndim < 0 || ndim > kMaxDims) {
    fail("ndim " + std::to_string(ndim) + " is out of range [0, " + std::to_string(kMaxDims) + "]");
  }
  if (ndim > 0 && shape == nullptr) fail("shape pointer is null but ndim is " + std::to_string(ndim));
  std::vector<int64_t> dims(shape, shape + ndim);
  numel = 1;
  for (int i = 0; i < ndim; ++i) {
    if (dims[i] < 0) {
      fail("shape[" + std::to_string(i) + "] is negative (" + std::to_string(dims[i]) + ")");
    }
    if (dims[i] != 0 && numel > std::numeric_limits<int64_t>::max() / dims[i]) {
      fail("shape element count overflows int64");
    }
    numel *= dims[i];
  }
  return dims;
}

// The module's first output as a tensor: a Tensor, or the first element of a tuple / tensor list.
at::Tensor first_tensor(const c10::IValue& out) {
  if (out.isTensor()) return out.toTensor();
  if (out.isTuple()) {
    const auto& elems = out.toTupleRef().elements();
    if (elems.empty()) fail("module returned an empty tuple");
    if (!elems[0].isTensor()) fail("module returned a tuple whose first element is " + elems[0].tagKind() + ", not a Tensor");
    return elems[0].toTensor();
  }
  if (out.isTensorList()) {
    auto list = out.toTensorList();
    if (list.size() == 0) fail("module returned an empty tensor list");
    return list.get(0);
  }
  fail("module returned " + out.tagKind() + "; expected a Tensor or a tuple whose first element is a Tensor");
}

PtTensor* forward(void* handle, const void* data, at::ScalarType dtype, const int64_t* shape, int ndim) {
  PtModule* m = as_module(handle);
  int64_t numel = 0;
  std::vector<int64_t> dims = read_shape(shape, ndim, numel);
  if (numel > 0 && data == nullptr) fail("input data pointer is null but the shape holds " + std::to_string(numel) + " elements");

  // Inference mode is a thread-local guard: no autograd graph, no version counters, faster forward.
  c10::InferenceMode guard;
  at::Tensor input;
  if (numel == 0) {
    input = at::empty(dims, at::TensorOptions().dtype(dtype).device(m->device));
  } else {
    // from_blob aliases the caller's buffer, which is only guaranteed to live (and stay read-only) for this call;
    // copy=true always detaches it, so a module that writes its input in place or returns a view of it cannot
    // touch or retain caller memory.
    at::Tensor view = at::from_blob(const_cast<void*>(data), dims, at::TensorOptions().dtype(dtype));
    input = view.to(m->device, dtype, /*non_blocking=*/false, /*copy=*/true);
  }

  std::vector<c10::IValue> inputs;
  inputs.emplace_back(std::move(input));
  c10::IValue out = m->module.forward(std::move(inputs));

  at::Tensor result = first_tensor(out).to(at::kCPU, at::kFloat).contiguous();
  return new PtTensor{std::move(result)};
}

}  // namespace

PT_EXPORT const char* pt_last_error(void) { return t_last_error.c_str(); }

PT_EXPORT const char* pt_torch_version(void) {
  // TORCH_VERSION is a string literal from torch/version.h; static storage, never freed.
  return TORCH_VERSION;
}

PT_EXPORT void* pt_module_load(const char* path, const char* device) {
  PT_GUARDED(nullptr, {
    if (path == nullptr || *path == '\0') fail("module path is null or empty");
    c10::Device dev = parse_device(device);
    // Loading straight onto the device avoids a CPU copy of the weights for CUDA targets.
    torch::jit::Module module = torch::jit::load(std::string(path), dev);
    module.eval();
    return static_cast<void*>(new PtModule{std::move(module), dev});
  });
}

PT_EXPORT void pt_module_free(void* module) {
  PT_GUARDED(PT_VOID, { delete static_cast<PtModule*>(module); });
}

PT_EXPORT void* pt_module_forward_f32(void* module, const float* data, const int64_t* shape, int ndim) {
  PT_GUARDED(nullptr, { return static_cast<void*>(forward(module, data, at::kFloat, shape, ndim)); });
}

PT_EXPORT void* pt_module_forward_i64(void* module, const int64_t* data, const int64_t* shape, int ndim) {
  PT_GUARDED(nullptr, { return static_cast<void*>(forward(module, data, at::kLong, shape, ndim)); });
}

PT_EXPORT int pt_tensor_ndim(void* tensor) {
  PT_GUARDED(-1, { return static_cast<int>(as_tensor(tensor)->tensor.dim()); });
}

PT_EXPORT int64_t pt_tensor_numel(void* tensor) {
  PT_GUARDED(-1, { return static_cast<int64_t>(as_tensor(tensor)->tensor.numel()); });
}

// Writes the dims into out[0..ndim) and returns ndim; -1 if capacity is too small (nothing is written then).
PT_EXPORT int pt_tensor_shape(void* tensor, int64_t* out, int capacity) {
  PT_GUARDED(-1, {
    const at::Tensor& t = as_tensor(tensor)->tensor;
    const int ndim = static_cast<int>(t.dim());
    if (capacity < ndim) {
      fail("shape buffer capacity " + std::to_string(capacity) + " is smaller than ndim " + std::to_string(ndim));
    }
    if (ndim > 0 && out == nullptr) fail("shape output pointer is null");
    for (int i = 0; i < ndim; ++i) out[i] = t.size(i);
    return ndim;
  });
}

// Copies exactly numel floats; count must equal the tensor's element count, so a size mismatch is an error
// instead of a silent partial copy.
PT_EXPORT int pt_tensor_copy_f32(void* tensor, float* dst, int64_t count) {
  PT_GUARDED(-1, {
    const at::Tensor& t = as_tensor(tensor)->tensor;
    const int64_t numel = t.numel();
    if (count != numel) {
      fail("destination holds " + std::to_string(count) + " floats but the tensor has " + std::to_string(numel));
    }
    if (numel > 0) {
      if (dst == nullptr) fail("destination pointer is null");
      std::memcpy(dst, t.data_ptr<float>(), static_cast<size_t>(numel) * sizeof(float));
    }
    return 0;
  });
}

PT_EXPORT void pt_tensor_free(void* tensor) {
  PT_GUARDED(PT_VOID, { delete static_cast<PtTensor*>(tensor); });
}

PT_EXPORT int pt_cuda_device_count(void) {
  PT_GUARDED(-1, {
    return torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
  });
}

// Intra-op thread pool size (process-wide). Returns 0, or -1 for n < 1.
PT_EXPORT int pt_set_num_threads(int n) {
  PT_GUARDED(-1, {
    if (n < 1) fail("thread count must be >= 1, got " + std::to_string(n));
    at::set_num_threads(n);
    return 0;
  });
}

PT_EXPORT int pt_get_num_threads(void) {
  PT_GUARDED(-1, { return at::get_num_threads(); });
}
