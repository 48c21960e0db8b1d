using System.Text.Json;
using System.Text.Json.Serialization;

namespace Platform.Inference;

/// <summary>
/// A model package: a folder with <c>model.json</c>, the image and text towers as ONNX files, and the tokenizer
/// files. Any CLIP-family model exported to ONNX in this shape (one input, a symbolic batch axis) loads the same way.
/// Optionally a second text tower (<see cref="CjkText"/>) reads the texts written in Chinese, Japanese or Korean.
/// </summary>
public sealed record ModelPackage(
    string Directory,
    string Name,
    int EmbeddingDim,
    int ImageSize,
    float[] Mean,
    float[] Std,
    int ContextLength,
    string TokenizerKind,
    string VocabPath,
    string? MergesPath,
    string ImageTowerPath,
    string TextTowerPath)
{
    public const string ManifestName = "model.json";
    public const string DefaultImageInput = "pixels", DefaultTextInput = "input_ids", DefaultOutput = "embedding";

    /// <summary>The tokenizer kinds model.json may name.</summary>
    public const string ClipBpe = "clip-bpe", ClipBpeGz = "clip-bpe-gz", WordPiece = "wordpiece";

    /// <summary>Whether the tokenizer lower-cases and strips accents first (model.json <c>tokenizer.lowercase</c>, wordpiece only; default true).</summary>
    public bool TokenizerLowercase { get; init; } = true;

    /// <summary>
    /// The second text tower (model.json <c>cjk_text</c>), into the same embedding space: it encodes every text
    /// whose main script is CJK (<see cref="CjkScript.IsMostlyCjk"/>), the main text tower the others. Null when absent.
    /// </summary>
    public TextTowerSpec? CjkText { get; init; }

    /// <summary>The main text tower with its tokenizer, as one spec.</summary>
    public TextTowerSpec Text => new(TextTowerPath, ContextLength, new TokenizerSpec(TokenizerKind, VocabPath, MergesPath, TokenizerLowercase), TextInput, TextOutput);

    /// <summary>The image tower's input (model.json <c>image_input</c>): float32 [N, 3, image_size, image_size].</summary>
    public string ImageInput { get; init; } = DefaultImageInput;

    /// <summary>The image tower's output (model.json <c>image_output</c>): float32 [N, embedding_dim].</summary>
    public string ImageOutput { get; init; } = DefaultOutput;

    /// <summary>
    /// The text tower's input (model.json <c>text_input</c>): int64 [N, context_length], or [N, sequence] with a symbolic
    /// sequence axis, which gets each batch cut after its longest text (at most context_length).
    /// </summary>
    public string TextInput { get; init; } = DefaultTextInput;

    /// <summary>The text tower's output (model.json <c>text_output</c>): float32 [N, embedding_dim].</summary>
    public string TextOutput { get; init; } = DefaultOutput;

    /// <summary>Reads and validates <c>model.json</c> in <paramref name="directory"/>; every problem found is named.</summary>
    public static ModelPackage Load(string directory) => Load(directory, files: true);

    /// <summary>
    /// Reads and validates <c>model.json</c> without requiring the towers and tokenizer files it names: what a role that
    /// runs no tower needs (the gateway's image preprocessing, the indexer's and retrieval's embedding dimension). Their
    /// container images carry the package's small files only; the encoder's builds the towers.
    /// </summary>
    public static ModelPackage Describe(string directory) => Load(directory, files: false);

    private static ModelPackage Load(string directory, bool files)
    {
        directory = Path.GetFullPath(directory);
        var manifestPath = Path.Combine(directory, ManifestName);
        if (!File.Exists(manifestPath))
            throw new ModelPackageException($"{manifestPath} does not exist; a model package is a folder with {ManifestName}, the two towers and the tokenizer files");

        Manifest manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<Manifest>(File.ReadAllText(manifestPath), ManifestJson)
                ?? throw new ModelPackageException($"{manifestPath} is empty");
        }
        catch (JsonException e)
        {
            throw new ModelPackageException($"{manifestPath} is not valid JSON: {e.Message}");
        }

        var problems = new List<string>();
        string Required(string? value, string field)
        {
            if (string.IsNullOrWhiteSpace(value))
                problems.Add($"'{field}' is missing");
            return value ?? "";
        }
        string? ExistingFile(string? relative, string field)
        {
            if (string.IsNullOrWhiteSpace(relative))
            {
                problems.Add($"'{field}' is missing");
                return null;
            }
            var path = Path.GetFullPath(Path.Combine(directory, relative));
            if (files && !File.Exists(path))
                problems.Add($"'{field}' names {relative}, which is not in the package");
            return path;
        }

        var name = Required(manifest.Name, "name");
        if (manifest.EmbeddingDim is not (> 0 and <= 65536))
            problems.Add($"'embedding_dim' must be a positive integer, got {manifest.EmbeddingDim?.ToString() ?? "nothing"}");
        if (manifest.ImageSize is not (>= 16 and <= 4096))
            problems.Add($"'image_size' must be between 16 and 4096, got {manifest.ImageSize?.ToString() ?? "nothing"}");
        if (manifest.ContextLength is not (>= 2 and <= 4096))
            problems.Add($"'context_length' must be between 2 and 4096, got {manifest.ContextLength?.ToString() ?? "nothing"}");
        if (manifest.Mean is not { Length: 3 })
            problems.Add("'mean' must hold 3 numbers (R, G, B)");
        if (manifest.Std is not { Length: 3 } || manifest.Std.Any(s => !(s > 0)))
            problems.Add("'std' must hold 3 positive numbers (R, G, B)");

        TokenizerSpec? Tokenizer(TokenizerManifest? tokenizer, string field)
        {
            var kind = tokenizer?.Kind ?? "";
            if (tokenizer is null || kind is not (ClipBpe or ClipBpeGz or WordPiece))
            {
                problems.Add($"'{field}.kind' must be '{ClipBpe}' (vocab.json + merges.txt), '{ClipBpeGz}' (bpe_simple_vocab_16e6.txt.gz) or '{WordPiece}' (vocab.txt), got '{kind}'");
                return null;
            }
            var vocab = ExistingFile(tokenizer.Vocab, $"{field}.vocab");
            var merges = kind == ClipBpe ? ExistingFile(tokenizer.Merges, $"{field}.merges") : null;
            // CLIP's BPE always lower-cases; saying otherwise would describe a tokenizer this is not.
            if (kind != WordPiece && tokenizer.Lowercase == false)
                problems.Add($"'{field}.lowercase' is false, but a {kind} tokenizer always lower-cases; lowercase applies to '{WordPiece}'");
            return vocab is null ? null : new TokenizerSpec(kind, vocab, merges, tokenizer.Lowercase ?? true);
        }
        void TowerChecks(string? tower, string field)
        {
            if (tower is not null && tower.EndsWith(".pt", StringComparison.OrdinalIgnoreCase))
                problems.Add($"'{field}' names {tower}, a TorchScript file; towers are ONNX now (convert the package with /usr/bin/python3 models/convert_to_onnx.py {directory})");
        }
        void TensorNameChecks(params (string? Name, string Field)[] names)
        {
            foreach (var (io, field) in names)
            {
                if (io is not null && string.IsNullOrWhiteSpace(io))
                    problems.Add($"'{field}' is empty; leave it out for the default or name the tower's tensor");
            }
        }

        var tokenizer = Tokenizer(manifest.Tokenizer, "tokenizer");
        var imageTower = ExistingFile(manifest.ImageTower, "image_tower");
        var textTower = ExistingFile(manifest.TextTower, "text_tower");
        TowerChecks(manifest.ImageTower, "image_tower");
        TowerChecks(manifest.TextTower, "text_tower");
        TensorNameChecks((manifest.ImageInput, "image_input"), (manifest.ImageOutput, "image_output"), (manifest.TextInput, "text_input"), (manifest.TextOutput, "text_output"));

        TextTowerSpec? cjkText = null;
        if (manifest.CjkText is { } cjk)
        {
            if (cjk.ContextLength is not (>= 2 and <= 4096))
                problems.Add($"'cjk_text.context_length' must be between 2 and 4096, got {cjk.ContextLength?.ToString() ?? "nothing"}");
            var cjkTokenizer = Tokenizer(cjk.Tokenizer, "cjk_text.tokenizer");
            var cjkTower = ExistingFile(cjk.TextTower, "cjk_text.text_tower");
            TowerChecks(cjk.TextTower, "cjk_text.text_tower");
            TensorNameChecks((cjk.TextInput, "cjk_text.text_input"), (cjk.TextOutput, "cjk_text.text_output"));
            if (cjkTokenizer is not null && cjkTower is not null && cjk.ContextLength is { } length)
                cjkText = new TextTowerSpec(cjkTower, length, cjkTokenizer, cjk.TextInput ?? DefaultTextInput, cjk.TextOutput ?? DefaultOutput);
        }

        if (problems.Count > 0)
            throw new ModelPackageException($"{manifestPath} is not a valid model package: {string.Join("; ", problems)}");

        return new ModelPackage(directory, name, manifest.EmbeddingDim!.Value, manifest.ImageSize!.Value, manifest.Mean!, manifest.Std!,
            manifest.ContextLength!.Value, tokenizer!.Kind, tokenizer.VocabPath, tokenizer.MergesPath, imageTower!, textTower!)
        {
            ImageInput = manifest.ImageInput ?? DefaultImageInput,
            ImageOutput = manifest.ImageOutput ?? DefaultOutput,
            TextInput = manifest.TextInput ?? DefaultTextInput,
            TextOutput = manifest.TextOutput ?? DefaultOutput,
            TokenizerLowercase = tokenizer.Lowercase,
            CjkText = cjkText,
        };
    }

    private static readonly JsonSerializerOptions ManifestJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    private sealed record Manifest(
        string? Name,
        int? EmbeddingDim,
        int? ImageSize,
        float[]? Mean,
        float[]? Std,
        int? ContextLength,
        TokenizerManifest? Tokenizer,
        string? ImageTower,
        string? TextTower,
        string? ImageInput,
        string? ImageOutput,
        string? TextInput,
        string? TextOutput,
        CjkTextManifest? CjkText);

    private sealed record TokenizerManifest(string? Kind, string? Vocab, string? Merges, bool? Lowercase);

    private sealed record CjkTextManifest(string? TextTower, int? ContextLength, TokenizerManifest? Tokenizer, string? TextInput, string? TextOutput);
}

/// <summary>A tokenizer as model.json describes it: its kind and files (full paths), and whether it lower-cases.</summary>
public sealed record TokenizerSpec(string Kind, string VocabPath, string? MergesPath, bool Lowercase = true);

/// <summary>A text tower (full path), the context its tokenizer fills, the tokenizer, and the tower's input and output names.</summary>
public sealed record TextTowerSpec(string TowerPath, int ContextLength, TokenizerSpec Tokenizer, string Input, string Output);

/// <summary>A model package that cannot be used; the message lists what is wrong with it.</summary>
public sealed class ModelPackageException(string message) : Exception(message);
