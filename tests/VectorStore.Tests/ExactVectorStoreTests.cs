using Platform.VectorStore;

namespace Platform.VectorStore.Tests;

public sealed class ExactVectorStoreTests : IDisposable
{
    private static readonly VectorSchema Schema = new(new Dictionary<string, int> { ["image"] = 4, ["text"] = 3 });
    private readonly string _dir = Directory.CreateTempSubdirectory("vs-").FullName;

    private string LogPath => Path.Combine(_dir, "points.log");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static VectorPoint Point(string id, float[] image, float[]? text = null) =>
        new(id, text is null ? new Dictionary<string, float[]> { ["image"] = image } : new Dictionary<string, float[]> { ["image"] = image, ["text"] = text }, $"{{\"id\":\"{id}\"}}");

    [Fact]
    public async Task Search_returns_the_nearest_points_best_first()
    {
        using var store = new ExactVectorStore(LogPath, Schema);
        await store.UpsertAsync([Point("a", [1, 0, 0, 0]), Point("b", [0.9f, 0.1f, 0, 0]), Point("c", [0, 0, 1, 0])]);
        var hits = await store.SearchAsync("image", new float[] { 1, 0, 0, 0 }, 2);
        Assert.Equal(["a", "b"], hits.Select(h => h.Id));
        Assert.Equal(1f, hits[0].Score, 1e-6f);
        Assert.Equal("{\"id\":\"a\"}", hits[0].Payload);
    }

    [Fact]
    public async Task Upserting_an_id_again_replaces_it()
    {
        using var store = new ExactVectorStore(LogPath, Schema);
        await store.UpsertAsync([Point("a", [1, 0, 0, 0])]);
        await store.UpsertAsync([Point("a", [0, 1, 0, 0])]);
        Assert.Equal(1, await store.CountAsync());
        var hits = await store.SearchAsync("image", new float[] { 0, 1, 0, 0 }, 5);
        Assert.Equal(1f, Assert.Single(hits).Score, 1e-6f);
    }

    [Fact]
    public async Task Points_survive_reopening_and_deletes_stay_deleted()
    {
        using (var store = new ExactVectorStore(LogPath, Schema))
        {
            await store.UpsertAsync([Point("a", [1, 0, 0, 0], [1, 0, 0]), Point("b", [0, 1, 0, 0])]);
            Assert.True(await store.DeleteAsync("b"));
            Assert.False(await store.DeleteAsync("b"));
        }
        using var reopened = new ExactVectorStore(LogPath, Schema);
        Assert.Equal(1, await reopened.CountAsync());
        var a = await reopened.GetAsync("a");
        Assert.NotNull(a);
        Assert.Equal([1f, 0f, 0f], a.Vectors["text"]);
        Assert.Null(await reopened.GetAsync("b"));
    }

    [Fact]
    public async Task A_torn_last_record_is_dropped_on_reopen()
    {
        using (var store = new ExactVectorStore(LogPath, Schema))
            await store.UpsertAsync([Point("a", [1, 0, 0, 0]), Point("b", [0, 1, 0, 0])]);
        var whole = new FileInfo(LogPath).Length;
        using (var file = new FileStream(LogPath, FileMode.Open))
            file.SetLength(whole - 5); // the last write was cut short

        using (var reopened = new ExactVectorStore(LogPath, Schema))
        {
            Assert.Equal(1, await reopened.CountAsync());
            Assert.NotNull(await reopened.GetAsync("a"));
            await reopened.UpsertAsync([Point("c", [0, 0, 1, 0])]); // the log stays appendable after the cut
        }
        using var again = new ExactVectorStore(LogPath, Schema);
        Assert.Equal(["a", "c"], (await again.SearchAsync("image", new float[] { 1, 0, 1, 0 }, 5)).Select(h => h.Id).Order());
    }

    [Fact]
    public async Task A_corrupted_record_is_never_served()
    {
        using (var store = new ExactVectorStore(LogPath, Schema))
            await store.UpsertAsync([Point("a", [1, 0, 0, 0]), Point("b", [0, 1, 0, 0])]);
        var bytes = await File.ReadAllBytesAsync(LogPath);
        bytes[^3] ^= 0xFF; // flip bits inside the last record's payload
        await File.WriteAllBytesAsync(LogPath, bytes);

        using var reopened = new ExactVectorStore(LogPath, Schema);
        Assert.Null(await reopened.GetAsync("b"));
        Assert.NotNull(await reopened.GetAsync("a"));
    }

    [Fact]
    public async Task Bad_vectors_are_refused_with_a_clear_message_and_store_nothing()
    {
        using var store = new ExactVectorStore(LogPath, Schema);
        var wrongDim = await Assert.ThrowsAsync<VectorStoreException>(() => store.UpsertAsync([Point("a", [1, 0, 0])]).AsTask());
        Assert.Contains("3 dimensions", wrongDim.Message);
        Assert.Contains("expects 4", wrongDim.Message);
        var nan = await Assert.ThrowsAsync<VectorStoreException>(() => store.UpsertAsync([Point("ok", [1, 0, 0, 0]), Point("a", [float.NaN, 0, 0, 0])]).AsTask());
        Assert.Contains("NaN", nan.Message);
        var unknown = await Assert.ThrowsAsync<VectorStoreException>(() => store.SearchAsync("audio", new float[] { 1 }, 1).AsTask());
        Assert.Contains("audio", unknown.Message);
        Assert.Equal(0, await store.CountAsync()); // the valid point in the refused batch was not stored either
    }
}
