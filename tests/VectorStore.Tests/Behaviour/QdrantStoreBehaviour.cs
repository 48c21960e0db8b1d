using Platform.VectorStore.Qdrant;

namespace Platform.VectorStore.Tests.Behaviour;

/// <summary>
/// The behavioural suite against a real Qdrant server at <c>QDRANT_URL</c> (with <c>QDRANT_API_KEY</c> when it needs
/// one). Without it every test skips, saying so. Each test's collections are deleted after it.
/// </summary>
public sealed class QdrantStoreBehaviour : VectorStoreBehaviour
{
    public const string NoServer = "QDRANT_URL is not set: no Qdrant server to run the behavioural suite against";

    protected override bool ScrollsInOrdinalIdOrder => false;

    protected override IVectorStore OpenStore()
    {
        var url = Environment.GetEnvironmentVariable("QDRANT_URL");
        Assert.SkipWhen(string.IsNullOrWhiteSpace(url), NoServer);
        var apiKey = Environment.GetEnvironmentVariable("QDRANT_API_KEY");
        return new QdrantVectorStore(new Uri(url!), string.IsNullOrEmpty(apiKey) ? null : apiKey, TimeSpan.FromMinutes(2));
    }
}
