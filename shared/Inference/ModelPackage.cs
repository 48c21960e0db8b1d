using System.Text.Json;
using System.Text.Json.Serialization;

namespace Platform.Inference;

/// <summary>
/// A model package: a folder with <c>model.json</c>, the image and text towers as ONNX files, and the tokenizer
/// files. Any CLIP-family model exported to ONNX in this shape (one input, a symbolic batch axis) loads the same way.
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

    /// <summary>The image tower's input (model.json <c>image_input</c>): float32 [N, 3, image_size, image_size].</summary>
    public string ImageInput { get; init; } = DefaultImageInput;

    /// <summary>The image tower's output (model.json <c>image_output</c>): float32 [N, embedding_dim].</summary>
    public string ImageOutput { get; init; } = DefaultOutput;

    /// <summary>The text tower's input (model.json <c>text_input</c>): int64 [N, context_length].</summary>
    public string TextInput { get; init; } = DefaultTextInput;

    /// <summary>The text tower's output (model.json <c>text_output</c>): float32 [N, embedding_dim].</summary>
    public string TextOutput { get; init; } = DefaultOutput;

    /// <summary>Reads and validates <c>model.json</c> in <paramref name="directory"/>; every problem found is named.</summary>
    public static ModelPackage Load(string directory)
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
            if (!File.Exists(path))
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

        var kind = manifest.Tokenizer?.Kind ?? "";
        string? vocab = null, merges = null;
        switch (kind)
        {
            case "clip-bpe":
                vocab = ExistingFile(manifest.Tokenizer!.Vocab, "tokenizer.vocab");
                merges = ExistingFile(manifest.Tokenizer.Merges, "tokenizer.merges");
                break;
            case "clip-bpe-gz":
                vocab = ExistingFile(manifest.Tokenizer!.Vocab, "tokenizer.vocab");
                break;
            default:
                problems.Add($"'tokenizer.kind' must be 'clip-bpe' (vocab.json + merges.txt) or 'clip-bpe-gz' (bpe_simple_vocab_16e6.txt.gz), got '{kind}'");
                break;
        }
        var imageTower = ExistingFile(manifest.ImageTower, "image_tower");
        var textTower = ExistingFile(manifest.TextTower, "text_tower");
        foreach (var (tower, field) in new[] { (manifest.ImageTower, "image_tower"), (manifest.TextTower, "text_tower") })
        {
            if (tower is not null && tower.EndsWith(".pt", StringComparison.OrdinalIgnoreCase))
                problems.Add($"'{field}' names {tower}, a TorchScript file; towers are ONNX now (convert the package with /usr/bin/python3 models/convert_to_onnx.py {directory})");
        }
        foreach (var (io, field) in new[] { (manifest.ImageInput, "image_input"), (manifest.ImageOutput, "image_output"), (manifest.TextInput, "text_input"), (manifest.TextOutput, "text_output") })
        {
            if (io is not null && string.IsNullOrWhiteSpace(io))
                problems.Add($"'{field}' is empty; leave it out for the default or name the tower's tensor");
        }

        if (problems.Count > 0)
            throw new ModelPackageException($"{manifestPath} is not a valid model package: {string.Join("; ", problems)}");

        return new ModelPackage(directory, name, manifest.EmbeddingDim!.Value, manifest.ImageSize!.Value, manifest.Mean!, manifest.Std!,
            manifest.ContextLength!.Value, kind, vocab!, merges, imageTower!, textTower!)
        {
            ImageInput = manifest.ImageInput ?? DefaultImageInput,
            ImageOutput = manifest.ImageOutput ?? DefaultOutput,
            TextInput = manifest.TextInput ?? DefaultTextInput,
            TextOutput = manifest.TextOutput ?? DefaultOutput,
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
        string? TextOutput);

    private sealed record TokenizerManifest(string? Kind, string? Vocab, string? Merges);
}

/// <summary>A model package that cannot be used; the message lists what is wrong with it.</summary>
public sealed class ModelPackageException(string message) : Exception(message);
