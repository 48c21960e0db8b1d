using Platform.Catalog;
using Platform.Contracts;
using Platform.Encoder;
using Platform.Inference;
using Platform.Search;
using Platform.VectorStore.Embedded;

namespace Platform.Cli.Eval;

/// <summary>
/// The catalog indexed exactly as the platform indexes it — the encoder's image preprocessing and
/// <see cref="ProductText"/>, one <see cref="ProductEmbedded"/> per product through <see cref="ProductIndex.UpsertAsync"/>
/// into an <see cref="EmbeddedVectorStore"/> (vectors and lexical terms) — in a temporary folder deleted on dispose.
/// </summary>
public sealed class EvalIndex : IDisposable
{
    private readonly string _directory;
    private readonly EmbeddedVectorStore _store;

    private EvalIndex(string directory, EmbeddedVectorStore store, ProductIndex index, bool hasEmbeddings)
    {
        _directory = directory;
        _store = store;
        Index = index;
        HasEmbeddings = hasEmbeddings;
    }

    public ProductIndex Index { get; }

    /// <summary>False when built without a model: then only the lexical index is meaningful.</summary>
    public bool HasEmbeddings { get; }

    /// <summary>
    /// Encodes and indexes <paramref name="catalog"/> in batches of 32 (as the encoder service batches). Without an
    /// encoder every product gets a placeholder vector, so the lexical index is still built through the same code.
    /// Products whose image the platform would refuse are left out and named in <paramref name="problems"/>.
    /// </summary>
    public static async Task<EvalIndex> BuildAsync(IReadOnlyList<CatalogProduct> catalog, ClipEncoder? encoder,
        Action<int> progress, List<string> problems, CancellationToken ct)
    {
        // The index is thrown away afterwards: no fsync, and tmpfs where there is one.
        var root = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        var directory = Directory.CreateDirectory(Path.Combine(root, $"platform-eval-{Environment.ProcessId}-{Guid.NewGuid():N}")).FullName;
        var dim = encoder?.Dimension ?? 1;
        var store = EmbeddedVectorStore.Open(directory, new EmbeddedStoreOptions { Durable = false });
        var result = new EvalIndex(directory, store, new ProductIndex(store, new ProductIndex.Settings(dim)), encoder is not null);
        try
        {
            foreach (var batch in catalog.Chunk(QueryEmbeddings.BatchSize))
            {
                ct.ThrowIfCancellationRequested();
                var images = batch.Select(p => File.ReadAllBytes(p.ImagePath)).ToList();
                var hashes = batch.Select((p, i) => ContentHash.Compute(p.Product, images[i])).ToList();
                if (encoder is null)
                {
                    for (var i = 0; i < batch.Length; i++)
                        await result.Index.UpsertAsync(new ProductEmbedded(batch[i].Product, hashes[i], "none", [1f], [1f]), ct);
                    progress(batch.Length);
                    continue;
                }

                var preprocessed = encoder.PreprocessImages(images);
                var work = new List<int>(batch.Length);
                for (var i = 0; i < batch.Length; i++)
                {
                    if (preprocessed[i].Tensor is not null)
                        work.Add(i);
                    else
                        problems.Add($"{batch[i].Product.Id}: image rejected ({preprocessed[i].Error!.Message}); not indexed");
                }
                var imageVectors = encoder.EncodePreprocessedImages(work.ConvertAll(i => preprocessed[i].Tensor!));
                var texts = ProductText.Batch.Of(work.Select(i => batch[i].Product));
                var textVectors = texts.Vectors(encoder.EncodeTexts(texts.Texts));
                for (var j = 0; j < work.Count; j++)
                {
                    var i = work[j];
                    await result.Index.UpsertAsync(new ProductEmbedded(batch[i].Product, hashes[i], encoder.Package.Name, imageVectors[j], textVectors[j]), ct);
                }
                progress(batch.Length);
            }
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    /// <summary>A product's stored (L2-normalised) image embedding, or null if it is not indexed.</summary>
    public async Task<float[]?> ImageEmbeddingAsync(string id, CancellationToken ct) =>
        HasEmbeddings && await _store.GetAsync(Index.Collection, [id], withVectors: true, ct) is [var point] ? point.Vectors[ProductIndex.ImageVector] : null;

    public void Dispose()
    {
        _store.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
