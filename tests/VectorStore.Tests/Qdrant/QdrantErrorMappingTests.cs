using Grpc.Core;
using Platform.VectorStore.Qdrant;

namespace Platform.VectorStore.Tests.Qdrant;

/// <summary>What each gRPC status from Qdrant becomes for callers of <see cref="IVectorStore"/>.</summary>
public sealed class QdrantErrorMappingTests
{
    private const string Address = "http://qdrant:6334";

    private static VectorStoreException Map(StatusCode code, string detail, string operation = "upsert", string? collection = "products") =>
        QdrantVectorStore.MapError(code, detail, operation, collection, Address, TimeSpan.FromSeconds(2.5));

    [Theory]
    [InlineData(StatusCode.NotFound, VectorStoreErrorKind.NotFound)]
    [InlineData(StatusCode.InvalidArgument, VectorStoreErrorKind.BadRequest)]
    [InlineData(StatusCode.OutOfRange, VectorStoreErrorKind.BadRequest)]
    [InlineData(StatusCode.AlreadyExists, VectorStoreErrorKind.Conflict)]
    [InlineData(StatusCode.FailedPrecondition, VectorStoreErrorKind.BadRequest)]
    [InlineData(StatusCode.Unavailable, VectorStoreErrorKind.Unavailable)]
    [InlineData(StatusCode.Internal, VectorStoreErrorKind.Unavailable)]
    [InlineData(StatusCode.Unknown, VectorStoreErrorKind.Unavailable)]
    [InlineData(StatusCode.Unauthenticated, VectorStoreErrorKind.Unavailable)]
    [InlineData(StatusCode.PermissionDenied, VectorStoreErrorKind.Unavailable)]
    [InlineData(StatusCode.ResourceExhausted, VectorStoreErrorKind.Unavailable)]
    [InlineData(StatusCode.Cancelled, VectorStoreErrorKind.Unavailable)]
    public void Status_codes_map_to_error_kinds(StatusCode code, VectorStoreErrorKind kind)
    {
        var e = Map(code, "Qdrant's own words");
        Assert.Equal(kind, e.Kind);
        Assert.Contains("Qdrant's own words", e.Message, StringComparison.Ordinal);
        Assert.Contains("products", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_deadline_is_unavailable()
    {
        var e = Map(StatusCode.DeadlineExceeded, "Deadline Exceeded");
        Assert.Equal(VectorStoreErrorKind.Unavailable, e.Kind);
        Assert.Contains("products", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_schema_clash_on_create_is_a_conflict()
    {
        Assert.Equal(VectorStoreErrorKind.Conflict, Map(StatusCode.FailedPrecondition, "exists", "create collection").Kind);
    }

    [Fact]
    public void Failures_of_the_server_name_its_address()
    {
        Assert.Contains(Address, Map(StatusCode.Unavailable, "Error connecting to subchannel.").Message, StringComparison.Ordinal);
        Assert.Contains("within 2.5 s", Map(StatusCode.DeadlineExceeded, "").Message, StringComparison.Ordinal);
        Assert.Contains("VectorStore:Qdrant:ApiKey", Map(StatusCode.Unauthenticated, "Must provide an API key").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_message_too_large_is_a_bad_request_that_says_to_send_less()
    {
        var e = Map(StatusCode.ResourceExhausted, "Received message exceeds the maximum configured message size.");
        Assert.Equal(VectorStoreErrorKind.BadRequest, e.Kind);
        Assert.Contains("fewer points", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Talking_grpc_to_the_rest_port_hints_at_the_grpc_port()
    {
        var e = Map(StatusCode.Internal, "Bad gRPC response. Invalid content-type value: application/json");
        Assert.Equal(VectorStoreErrorKind.Unavailable, e.Kind);
        Assert.Contains("6334", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_detail_still_gives_a_message()
    {
        Assert.Contains("(no detail)", Map(StatusCode.InvalidArgument, "  ").Message, StringComparison.Ordinal);
    }
}
