namespace Platform.Inference;

/// <summary>
/// Image tensors preprocessed at ingest (the gateway decodes every image to validate it), kept by content hash for
/// the encoder in the same process, so an image is decoded once. Bounded by bytes, oldest out first; an entry is
/// handed out once. Where the gateway and the encoder are separate processes it stays empty and the encoder decodes.
/// </summary>
public sealed class PreprocessedImageCache(long maxBytes = 64L * 1024 * 1024)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, LinkedListNode<(string Hash, float[] Tensor)>> _byHash = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Hash, float[] Tensor)> _oldestFirst = new();
    private long _bytes;

    public void Add(string contentHash, float[] tensor)
    {
        lock (_gate)
        {
            if (_byHash.ContainsKey(contentHash))
                return;
            _byHash[contentHash] = _oldestFirst.AddLast((contentHash, tensor));
            _bytes += tensor.Length * sizeof(float);
            while (_bytes > maxBytes && _oldestFirst.First is { } oldest)
                Remove(oldest);
        }
    }

    public bool TryTake(string contentHash, out float[] tensor)
    {
        lock (_gate)
        {
            if (_byHash.TryGetValue(contentHash, out var node))
            {
                tensor = node.Value.Tensor;
                Remove(node);
                return true;
            }
        }
        tensor = [];
        return false;
    }

    private void Remove(LinkedListNode<(string Hash, float[] Tensor)> node)
    {
        _oldestFirst.Remove(node);
        _byHash.Remove(node.Value.Hash);
        _bytes -= node.Value.Tensor.Length * sizeof(float);
    }
}
