using Platform.Contracts.Grains;
using Platform.Inference;
using Platform.Retrieval;
using Platform.Search;

namespace Platform.Cli.Eval;

/// <summary>A way of answering queries with a ranked list of product ids, best first.</summary>
public interface ISearchSystem
{
    string Name { get; }

    bool Supports(QueryKind kind);

    /// <summary>Work that can be done for a whole task at once (batch-encoding its queries); optional.</summary>
    Task PrepareAsync(EvalTask task, CancellationToken ct) => Task.CompletedTask;

    Task<IReadOnlyList<string>> SearchAsync(QueryKind kind, string query, int depth, CancellationToken ct);
}

/// <summary><c>fused</c> in process: the platform's own <see cref="SearchService"/>, what it serves.</summary>
public sealed class FusedSystem(SearchService search) : ISearchSystem
{
    public string Name => "fused";

    public bool Supports(QueryKind kind) => true;

    public async Task<IReadOnlyList<string>> SearchAsync(QueryKind kind, string query, int depth, CancellationToken ct)
    {
        if (kind == QueryKind.Text)
            return (await search.SearchTextAsync(query, depth, ct)).Select(h => h.Id).ToList();
        // A photo, alone or with words, as POST /v1/search takes it.
        var (path, words) = kind == QueryKind.Composed ? EvalTasks.SplitComposed(query) : (query, null);
        var result = await search.SearchAsync(new SearchQuery { Text = words, Image = ImageInput.FromBytes(await File.ReadAllBytesAsync(path, ct)), K = depth }, null, ct);
        return result.Results.Select(h => h.Id).ToList();
    }
}

/// <summary><c>fused</c> over HTTP: <c>GET /v1/search</c> and <c>POST /v1/search/image</c> of a running platform.</summary>
public sealed class HttpFusedSystem(PlatformClient client) : ISearchSystem
{
    public string Name => "fused";

    // The composed set runs in process only (the eval's client speaks the GET shortcuts).
    public bool Supports(QueryKind kind) => kind != QueryKind.Composed;

    public async Task<IReadOnlyList<string>> SearchAsync(QueryKind kind, string query, int depth, CancellationToken ct)
    {
        var results = kind == QueryKind.Text
            ? await client.SearchTextAsync(query, depth, ct)
            : await client.SearchImageAsync(query, depth, ct);
        return results.EnumerateArray().Select(r => r.GetProperty("id").GetString()!).ToList();
    }
}

/// <summary><c>lexical</c>: BM25 alone, the platform's own lexical search (the store's sparse search). Words only.</summary>
public sealed class LexicalSystem(ProductIndex index) : ISearchSystem
{
    public string Name => "lexical";

    public bool Supports(QueryKind kind) => kind != QueryKind.Image;

    public async Task<IReadOnlyList<string>> SearchAsync(QueryKind kind, string query, int depth, CancellationToken ct) =>
        (await index.SearchLexicalAsync(kind == QueryKind.Composed ? EvalTasks.SplitComposed(query).Words : query, depth, cancellationToken: ct)).Select(h => h.Id).ToList();
}

/// <summary>
/// <c>vector</c>: the embeddings alone. Words: the larger of the cosines to a product's text vector and to its image
/// vector. Images: cosine to the product's image vector. Queries are encoded in batches ahead of the searches.
/// </summary>
public sealed class VectorSystem(ProductIndex index, QueryEmbeddings embeddings) : ISearchSystem
{
    public string Name => "vector";

    public bool Supports(QueryKind kind) => true;

    public Task PrepareAsync(EvalTask task, CancellationToken ct)
    {
        if (task.Kind == QueryKind.Text)
            embeddings.PrepareTexts(task.Queries.Select(q => q.Query).ToList());
        else if (task.Kind == QueryKind.Image)
            embeddings.PrepareImages(task.Queries.Select(q => q.Query).ToList());
        else
        {
            embeddings.PrepareImages(task.Queries.Select(q => EvalTasks.SplitComposed(q.Query).ImagePath).ToList());
            embeddings.PrepareTexts(task.Queries.Select(q => EvalTasks.SplitComposed(q.Query).Words).ToList());
        }
        return Task.CompletedTask;
    }

    public async Task<IReadOnlyList<string>> SearchAsync(QueryKind kind, string query, int depth, CancellationToken ct)
    {
        var all = (int)await index.CountAsync(ct);
        if (all == 0)
            return [];
        if (kind == QueryKind.Image)
        {
            var image = await index.SearchAsync(ProductIndex.ImageVector, embeddings.Image(query), all, cancellationToken: ct);
            return Ranked(image.Select(h => (h.Id, h.Score)), depth);
        }
        if (kind == QueryKind.Composed)
        {
            // The embeddings alone: the photo's and the words' vectors added, nearest product images.
            var (path, words) = EvalTasks.SplitComposed(query);
            var photo = embeddings.Image(path);
            var text = embeddings.Text(words);
            var sum = photo.Select((v, i) => v + text[i]).ToArray();
            var image = await index.SearchAsync(ProductIndex.ImageVector, sum, all, cancellationToken: ct);
            return Ranked(image.Select(h => (h.Id, h.Score)), depth);
        }
        var vector = embeddings.Text(query);
        var byText = await index.SearchAsync(ProductIndex.TextVector, vector, all, cancellationToken: ct);
        var byImage = await index.SearchAsync(ProductIndex.ImageVector, vector, all, cancellationToken: ct);
        var best = new Dictionary<string, float>(StringComparer.Ordinal);
        foreach (var hit in byText.Concat(byImage))
            best[hit.Id] = best.TryGetValue(hit.Id, out var s) ? Math.Max(s, hit.Score) : hit.Score;
        return Ranked(best.Select(p => (p.Key, p.Value)), depth);
    }

    private static List<string> Ranked(IEnumerable<(string Id, float Score)> scored, int depth) =>
        scored.OrderByDescending(p => p.Score).ThenBy(p => p.Id, StringComparer.Ordinal).Take(depth).Select(p => p.Id).ToList();
}

/// <summary>Query embeddings, computed in batches of 32 and kept for the run (texts by string, images by path).</summary>
public sealed class QueryEmbeddings(ClipEncoder encoder)
{
    public const int BatchSize = 32;

    private readonly Dictionary<string, float[]> _texts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, float[]> _images = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _imageErrors = new(StringComparer.Ordinal);

    public ClipEncoder Encoder => encoder;

    public void PrepareTexts(IReadOnlyList<string> texts)
    {
        var missing = texts.Where(t => !_texts.ContainsKey(t)).Distinct(StringComparer.Ordinal).ToList();
        foreach (var batch in missing.Chunk(BatchSize))
        {
            var vectors = encoder.EncodeTexts(batch);
            for (var i = 0; i < batch.Length; i++)
                _texts[batch[i]] = vectors[i];
        }
    }

    public void PrepareImages(IReadOnlyList<string> paths)
    {
        var missing = paths.Where(p => !_images.ContainsKey(p) && !_imageErrors.ContainsKey(p)).Distinct(StringComparer.Ordinal).ToList();
        foreach (var batch in missing.Chunk(BatchSize))
        {
            var pre = encoder.PreprocessImages(batch.Select(File.ReadAllBytes).ToList());
            var ok = new List<(string Path, float[] Tensor)>();
            for (var i = 0; i < batch.Length; i++)
            {
                if (pre[i].Tensor is { } tensor)
                    ok.Add((batch[i], tensor));
                else
                    _imageErrors[batch[i]] = pre[i].Error!.Message;
            }
            var vectors = encoder.EncodePreprocessedImages(ok.ConvertAll(o => o.Tensor));
            for (var i = 0; i < ok.Count; i++)
                _images[ok[i].Path] = vectors[i];
        }
    }

    public float[] Text(string text)
    {
        if (!_texts.TryGetValue(text, out var vector))
            _texts[text] = vector = encoder.EncodeText(text);
        return vector;
    }

    public float[] Image(string path)
    {
        PrepareImages([path]);
        return _images.TryGetValue(path, out var vector)
            ? vector
            : throw new InvalidDataException($"{path}: {_imageErrors[path]}");
    }

    /// <summary>The image's embedding, or null when it cannot be decoded (after <see cref="PrepareImages"/>).</summary>
    public float[]? TryImage(string path) => _images.GetValueOrDefault(path);
}
