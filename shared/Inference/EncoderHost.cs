using Platform.Inference.Imaging;
using Platform.Inference.Onnx;

namespace Platform.Inference;

/// <summary>
/// Owns the process's encoder. The package manifest is read and validated at once (a bad package fails start-up
/// with its reasons); the towers load in the background so the process answers liveness probes meanwhile.
/// </summary>
public sealed class EncoderHost : IDisposable
{
    private readonly TaskCompletionSource<ClipEncoder> _encoder = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _started;

    /// <exception cref="ModelPackageException">The package's model.json is missing or invalid.</exception>
    /// <exception cref="InferenceDeviceException">The device is unknown or this build cannot run on it.</exception>
    public EncoderHost(string packageDirectory, string device = "cpu", long maxImagePixels = 40_000_000, InferenceOptions? options = null)
    {
        Package = ModelPackage.Load(packageDirectory);
        // A device this build cannot use is a configuration mistake: refuse it now, not in the background load.
        InferenceDevice.Parse(device).EnsureAvailable();
        Device = device;
        MaxImagePixels = maxImagePixels;
        Options = options ?? InferenceOptions.Default;
        // Preprocessing needs only the manifest, so input can be validated before the towers are loaded.
        Preprocessor = new ImagePreprocessor(new ImagePreprocessOptions(Package.ImageSize, Package.Mean, Package.Std, maxImagePixels));
    }

    public ModelPackage Package { get; }

    public string Device { get; }

    public long MaxImagePixels { get; }

    /// <summary>ONNX Runtime's thread and graph settings for the towers.</summary>
    public InferenceOptions Options { get; }

    public ImagePreprocessor Preprocessor { get; }

    /// <summary>True once both towers are loaded.</summary>
    public bool IsLoaded => _encoder.Task.IsCompletedSuccessfully;

    /// <summary>The load failure, if loading failed.</summary>
    public Exception? LoadError => _encoder.Task.Exception?.GetBaseException();

    /// <summary>Starts loading the towers on a worker thread; later calls do nothing.</summary>
    public Task<ClipEncoder> StartLoading()
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            _ = Task.Run(() =>
            {
                try
                {
                    _encoder.TrySetResult(ClipEncoder.Load(Package, Device, MaxImagePixels, Options));
                }
                catch (Exception e)
                {
                    _encoder.TrySetException(e);
                }
            });
        }
        return _encoder.Task;
    }

    /// <summary>The encoder, waiting for it to load if it is still loading.</summary>
    public Task<ClipEncoder> GetAsync(CancellationToken cancellationToken = default) =>
        StartLoading().WaitAsync(cancellationToken);

    public void Dispose()
    {
        if (_encoder.Task.IsCompletedSuccessfully)
            _encoder.Task.Result.Dispose();
    }
}
