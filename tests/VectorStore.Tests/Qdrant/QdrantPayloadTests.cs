using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Platform.VectorStore.Qdrant;
using Platform.VectorStore.Tests.Behaviour;
using G = Qdrant.Client.Grpc;

namespace Platform.VectorStore.Tests.Qdrant;

/// <summary>Payload JSON as protobuf values and back, through the bytes that go over the wire.</summary>
public sealed class QdrantPayloadTests
{
    private const string Rich = """
        {
          "title": "连衣裙 \"quoted\" back\\slash / tab\t newline\n emoji 👗",
          "price": -12.75, "stock": 0, "big": 9007199254740993, "tiny": 1.5e-8, "min": -9223372036854775808,
          "flags": [true, false, null], "empty": {}, "none": [],
          "nested": {"deeper": {"deepest": ["a", 1, {"x": null}]}},
          "unicode-key-键": "值"
        }
        """;

    /// <summary>The payload as Qdrant would hand it back: converted, serialised, parsed again.</summary>
    private static MapField<string, G.Value> ThroughTheWire(string json, string? id = "p-1")
    {
        using var doc = JsonDocument.Parse(json);
        var point = new G.PointStruct();
        QdrantPayload.ToProtobuf(doc.RootElement, id, point.Payload);
        return G.PointStruct.Parser.ParseFrom(point.ToByteArray()).Payload;
    }

    [Fact]
    public void A_rich_payload_round_trips_as_the_same_json()
    {
        var back = QdrantPayload.ToJson(ThroughTheWire(Rich));
        Payloads.AssertSame(Rich, back);
    }

    [Fact]
    public void Integers_stay_integers_and_other_numbers_become_doubles()
    {
        var payload = ThroughTheWire("""{"i":9007199254740993,"neg":-4,"d":2.5,"whole":3.0,"exp":1e3,"beyond":18446744073709551616}""");

        Assert.Equal(9007199254740993L, payload["i"].IntegerValue);
        Assert.Equal(-4L, payload["neg"].IntegerValue);
        Assert.Equal(2.5, payload["d"].DoubleValue);
        // Written with a fraction or an exponent: a double, as the JSON text says.
        Assert.Equal(G.Value.KindOneofCase.DoubleValue, payload["whole"].KindCase);
        Assert.Equal(G.Value.KindOneofCase.DoubleValue, payload["exp"].KindCase);
        // Past 64 bits an integer can only be a double.
        Assert.Equal(18446744073709551616.0, payload["beyond"].DoubleValue);
    }

    [Fact]
    public void Objects_arrays_strings_booleans_and_null_keep_their_kinds()
    {
        var payload = ThroughTheWire("""{"o":{"a":[1,"two",false,null]},"s":"","t":true,"n":null}""");

        Assert.Equal(G.Value.KindOneofCase.StructValue, payload["o"].KindCase);
        var list = payload["o"].StructValue.Fields["a"].ListValue.Values;
        Assert.Equal([G.Value.KindOneofCase.IntegerValue, G.Value.KindOneofCase.StringValue, G.Value.KindOneofCase.BoolValue, G.Value.KindOneofCase.NullValue],
            list.Select(v => v.KindCase));
        Assert.Equal("", payload["s"].StringValue);
        Assert.True(payload["t"].BoolValue);
        Assert.Equal(G.Value.KindOneofCase.NullValue, payload["n"].KindCase);
    }

    [Fact]
    public void The_id_key_comes_first_and_is_stripped_on_the_way_back()
    {
        var payload = ThroughTheWire("""{"a":1}""", id: "our-id");
        Assert.Equal(["_pid", "a"], payload.Keys);
        Assert.Equal("our-id", payload["_pid"].StringValue);
        Assert.Equal("""{"a":1}""", QdrantPayload.ToJson(payload));
    }

    [Fact]
    public void An_empty_payload_reads_back_as_an_empty_object()
    {
        Assert.Equal("{}", QdrantPayload.ToJson(ThroughTheWire("{}")));
        Assert.Equal("{}", QdrantPayload.ToJson(new MapField<string, G.Value>()));
    }

    [Fact]
    public void A_value_with_no_kind_reads_as_null()
    {
        var payload = new MapField<string, G.Value> { ["x"] = new G.Value() };
        Assert.Equal("""{"x":null}""", QdrantPayload.ToJson(payload));
    }

    [Fact]
    public void Non_ascii_text_stays_readable()
    {
        Assert.Equal("""{"t":"跑步鞋"}""", QdrantPayload.ToJson(ThroughTheWire("""{"t":"跑步鞋"}""")));
    }

    [Fact]
    public void A_number_beyond_double_range_is_a_bad_request_naming_its_path()
    {
        using var doc = JsonDocument.Parse("""{"a":[0,{"b":-1e999}]}""");
        var e = Assert.Throws<VectorStoreException>(() => QdrantPayload.ToProtobuf(doc.RootElement, null, new MapField<string, G.Value>()));
        Assert.Equal(VectorStoreErrorKind.BadRequest, e.Kind);
        Assert.Contains("a[1].b", e.Message, StringComparison.Ordinal);
    }
}
