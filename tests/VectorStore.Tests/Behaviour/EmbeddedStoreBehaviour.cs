using Platform.VectorStore.Embedded;

namespace Platform.VectorStore.Tests.Behaviour;

/// <summary>Opens the embedded engine as an <see cref="IVectorStore"/>, in one place.</summary>
internal static class EmbeddedStores
{
    public static IVectorStore Open(string directory, EmbeddedStoreOptions? options = null) =>
        EmbeddedVectorStore.Open(directory, options);

    public static string NewTempDirectory(string purpose)
    {
        var directory = Path.Combine(Path.GetTempPath(), $"vs-{purpose}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        return directory;
    }

    public static void DeleteDirectory(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
                Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is not worth failing a test over.
        }
    }
}

/// <summary>The behavioural suite against the embedded engine with its default options: small collections are scanned exactly.</summary>
public class EmbeddedStoreBehaviour : VectorStoreBehaviour
{
    private readonly string _directory = EmbeddedStores.NewTempDirectory("behaviour");

    protected virtual EmbeddedStoreOptions Options => new();

    protected override IVectorStore OpenStore() => EmbeddedStores.Open(_directory, Options);

    protected override void DeleteStoreData() => EmbeddedStores.DeleteDirectory(_directory);
}

/// <summary>
/// The same suite with <see cref="EmbeddedStoreOptions.ExactThreshold"/> 0, so every search that is not asked to be
/// exact walks the HNSW graph, filtered and tiny ones included.
/// </summary>
public sealed class EmbeddedHnswStoreBehaviour : EmbeddedStoreBehaviour
{
    protected override EmbeddedStoreOptions Options => new() { ExactThreshold = 0 };
}

/// <summary>The embedded engine's files from before sparse spaces: stores written then still open, and take sparse-free writes.</summary>
public sealed class EmbeddedStoreFormatTests : IDisposable
{
    private readonly string _directory = EmbeddedStores.NewTempDirectory("format");

    /// <summary>
    /// Written by the engine at commit c39777e (snapshot format 01, dense-only upsert records): ten points p0..p9 with
    /// v = [i, 1, 0] and w = [i, −i], p3 deleted, closed cleanly (a snapshot); then, left in the log, p4 replaced by
    /// v = [40, 1, 0] alone, p10 added with w = [10, −10] alone, p5 deleted.
    /// </summary>
    private static readonly string Fixture = Platform.Tests.RepoPaths.InRepo("tests", "VectorStore.Tests", "Fixtures", "store-before-sparse");

    public void Dispose() => EmbeddedStores.DeleteDirectory(_directory);

    private void CopyFixture()
    {
        foreach (var file in Directory.EnumerateFiles(Fixture, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(_directory, Path.GetRelativePath(Fixture, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    [Fact]
    public async Task A_store_written_before_sparse_spaces_opens_with_its_snapshot_and_log()
    {
        CopyFixture();
        using (var s = EmbeddedVectorStore.Open(_directory))
        {
            var schema = (await s.GetCollectionAsync("old"))!;
            Assert.Empty(schema.SparseVectors);
            Assert.True(schema.SameAs(new CollectionSchema(new Dictionary<string, VectorParams> { ["v"] = new(3, Distance.Dot), ["w"] = new(2, Distance.Euclid) })));
            var ids = (await s.ScrollAsync("old", new ScrollRequest(100))).Points.Select(p => p.Id).Order(StringComparer.Ordinal);
            Assert.Equal(["p0", "p1", "p10", "p2", "p4", "p6", "p7", "p8", "p9"], ids);
            var p4 = (await s.GetAsync("old", ["p4"], withVectors: true)).Single();
            Assert.Equal(new float[] { 40, 1, 0 }, p4.Vectors["v"]);
            Assert.False(p4.Vectors.ContainsKey("w"));
            Assert.Empty(p4.Sparse!);
            var top = await s.SearchAsync("old", new SearchRequest("v", new float[] { 1, 0, 0 }, 2));
            Assert.Equal(["p4", "p9"], top.Select(h => h.Id));
            var near = await s.SearchAsync("old", new SearchRequest("w", new float[] { 10, -10 }, 1));
            Assert.Equal("p10", near.Single().Id);
            await s.UpsertAsync("old", [new VectorPoint("p11", new Dictionary<string, float[]> { ["v"] = [0, 0, 1] })]);
        }

        // The clean close wrote the new formats over the old ones; they open again with everything in them.
        using var reopened = EmbeddedVectorStore.Open(_directory);
        Assert.Equal(10, await reopened.CountAsync("old"));
        Assert.Equal(new float[] { 0, 0, 1 }, (await reopened.GetAsync("old", ["p11"], withVectors: true)).Single().Vectors["v"]);
        Assert.Equal("p9", (await reopened.SearchAsync("old", new SearchRequest("w", new float[] { 9, -9 }, 1))).Single().Id);
    }
}
