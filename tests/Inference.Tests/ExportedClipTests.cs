using System.Diagnostics;
using System.Text.Json;
using Platform.Tests;

namespace Platform.Inference.Tests;

/// <summary>
/// A CLIP checkpoint in Hugging Face's layout, exported by models/export_clip.py, loads in C# and gives the embeddings
/// Python gives (the source model is tiny and random; the path is the one merchants' real checkpoints take).
/// </summary>
[Collection("native")]
public sealed class ExportedClipTests : IDisposable
{
    private const string Python = "/usr/bin/python3";
    private readonly string _dir = Directory.CreateTempSubdirectory("exported-clip-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task An_exported_hugging_face_checkpoint_gives_pythons_embeddings_in_csharp()
    {
        Assert.SkipUnless(File.Exists(Python), $"{Python} (Debian's, with python3-torch) is needed to export the checkpoint");
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(RepoPaths.InRepo("models", "tests", "make_export_fixture.py"));
        start.ArgumentList.Add(_dir);
        using (var process = Process.Start(start)!)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            Assert.SkipWhen(errors.Contains("No module named 'torch'"), "python3-torch is not installed");
            Assert.True(process.ExitCode == 0, $"export failed ({process.ExitCode}): {errors}{await output}");
        }

        using var encoder = ClipEncoder.Load(ModelPackage.Load(_dir));
        var reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "reference.json"))).RootElement;
        foreach (var item in reference.GetProperty("texts").EnumerateArray())
            AssertClose(item.GetProperty("embedding"), encoder.EncodeText(item.GetProperty("text").GetString()!));

        var tensor = ReferenceImage.Tensor(encoder.Package.ImageSize);
        AssertClose(reference.GetProperty("image").GetProperty("embedding"), encoder.EncodePreprocessedImages([tensor])[0]);
    }

    private static void AssertClose(JsonElement expected, float[] actual)
    {
        var values = expected.EnumerateArray().Select(e => e.GetSingle()).ToArray();
        Assert.Equal(values.Length, actual.Length);
        for (var i = 0; i < values.Length; i++)
            Assert.Equal(values[i], actual[i], 1e-4f);
    }
}
