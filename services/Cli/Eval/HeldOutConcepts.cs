using System.Text.Json;

namespace Platform.Cli.Eval;

/// <summary>
/// The concepts a model package says it never trained on: <c>heldout.json</c> beside <c>model.json</c>, with a
/// <c>concepts</c> array of Unicode codes as concepts.jsonl's <c>unified</c> (models/align/export.py writes it).
/// </summary>
public static class HeldOutConcepts
{
    public const string FileName = "heldout.json";

    /// <summary>The codes, or null when the package has no such file.</summary>
    public static IReadOnlySet<string>? Read(string modelDirectory)
    {
        var path = Path.Combine(modelDirectory, FileName);
        if (!File.Exists(path))
            return null;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            if (!document.RootElement.TryGetProperty("concepts", out var list) || list.ValueKind != JsonValueKind.Array)
                throw new EvalCommand.EvalSetupException($"{path} has no 'concepts' array");
            return list.EnumerateArray().Select(e => e.GetString() ?? throw new EvalCommand.EvalSetupException($"{path}: 'concepts' holds a non-string"))
                .ToHashSet(StringComparer.OrdinalIgnoreCase);
        }
        catch (JsonException e)
        {
            throw new EvalCommand.EvalSetupException($"{path} is not valid JSON: {e.Message}");
        }
    }
}
