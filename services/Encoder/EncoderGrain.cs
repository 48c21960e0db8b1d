using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.Runtime;
using Platform.Contracts.Grains;
using Platform.Encoder.Batching;
using Platform.Inference;
using Platform.ServiceDefaults.Cluster;

namespace Platform.Encoder;

/// <summary>
/// The encoder pinned to one device: owns that device's towers through a batching queue per tower. Reentrant, so
/// concurrent calls wait together in the queue instead of one after another.
/// </summary>
[AcceleratorPlacementFilter] // only silos whose metadata names the key's device
[Reentrant]
[KeepAlive] // the towers are loaded once and the queues keep their callers: no idle collection
public sealed class EncoderGrain(EncoderDevices devices, BatchingOptions batching, ILocalSiloDetails silo, ILogger<EncoderGrain> logger)
    : Grain, IEncoderGrain
{
    private ClipEncoder _encoder = null!;
    private TowerQueue<string> _texts = null!;
    private TowerQueue<float[]> _images = null!;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var device = EncoderKey.Parse(this.GetPrimaryKeyString()).Device;
        _encoder = await devices.Get(device).GetAsync(cancellationToken);
        _texts = new TowerQueue<string>("text", device, batching, texts => _encoder.EncodeTexts(texts));
        _images = new TowerQueue<float[]>("image", device, batching, tensors => _encoder.EncodePreprocessedImages(tensors));
        logger.LogInformation("Encoder {Key} active: {Model} on {Device}, batches of up to {Batch}, {Forwards} concurrent forwards per tower",
            this.GetPrimaryKeyString(), _encoder.Package.Name, device, batching.MaxBatchSize, batching.ForwardsFor(device));
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        await _texts.DisposeAsync();
        await _images.DisposeAsync();
    }

    public Task<EncoderDescription> Describe() =>
        Task.FromResult(new EncoderDescription(_encoder.Package.Name, _encoder.Dimension, _encoder.Device, silo.SiloAddress.ToString()));

    public Task<float[][]> EncodeTexts(string[] texts, EncodePriority priority) => _texts.EncodeAsync(texts, priority);

    public async Task<ImageEmbedding[]> EncodeImages(ImageInput[] images, EncodePriority priority)
    {
        var tensors = new float[]?[images.Length];
        var rejected = new string?[images.Length];
        var length = _encoder.Preprocessor.TensorLength;
        var toDecode = new List<int>();
        for (var i = 0; i < images.Length; i++)
        {
            if (images[i].Preprocessed is { } tensor)
            {
                if (tensor.Length == length)
                    tensors[i] = tensor;
                else
                    rejected[i] = $"the preprocessed image has {tensor.Length} values; {_encoder.Package.Name} takes {length}";
            }
            else if (images[i].Encoded is { Length: > 0 })
            {
                toDecode.Add(i);
            }
            else
            {
                rejected[i] = "the image is empty";
            }
        }

        if (toDecode.Count > 0)
        {
            // Decoding is CPU work across cores: off the grain's scheduler, so other calls keep queueing meanwhile.
            var decoded = await Task.Run(() => _encoder.PreprocessImages(toDecode.ConvertAll(i => images[i].Encoded!)));
            for (var j = 0; j < toDecode.Count; j++)
            {
                tensors[toDecode[j]] = decoded[j].Tensor;
                rejected[toDecode[j]] = decoded[j].Error?.Message;
            }
        }

        var valid = Enumerable.Range(0, images.Length).Where(i => tensors[i] is not null).ToList();
        var vectors = await _images.EncodeAsync(valid.ConvertAll(i => tensors[i]!).ToArray(), priority);
        var results = new ImageEmbedding[images.Length];
        for (var i = 0; i < images.Length; i++)
            results[i] = new ImageEmbedding(null, rejected[i]);
        for (var j = 0; j < valid.Count; j++)
            results[valid[j]] = new ImageEmbedding(vectors[j], null);
        return results;
    }

    public Task<EncoderStats> GetStats() =>
        Task.FromResult(new EncoderStats(_texts.Calls, _texts.Forwards, _texts.Items, _images.Calls, _images.Forwards, _images.Items));
}
