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
