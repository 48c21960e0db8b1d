using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Google.Protobuf.Collections;
using Value = Qdrant.Client.Grpc.Value;

namespace Platform.VectorStore.Qdrant;

/// <summary>
/// A point's JSON payload as Qdrant's protobuf <see cref="Value"/> map and back. Objects, arrays, strings, booleans and
/// null map one to one; a number written as an integer that fits 64 bits becomes an integer value, any other number a
/// double. Coming back, integers are written as integers and doubles in their shortest round-trip form, so a payload
/// reads back as the same JSON (the same members and values; formatting and member order aside).
/// </summary>
public static class QdrantPayload
{
    // Payload text keeps non-ASCII (Chinese titles) readable; it is never embedded in HTML by this layer.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The members of a JSON object as protobuf values, with our id under <see cref="QdrantVectorStore.IdPayloadKey"/> first.</summary>
    /// <param name="payload">A JSON object (the caller has checked it is one).</param>
    /// <param name="id">Our id, stored with the point; null to leave it out.</param>
    public static void ToProtobuf(JsonElement payload, string? id, MapField<string, Value> into)
    {
        if (payload.ValueKind != JsonValueKind.Object)
            throw QdrantValidation.Bad($"payload must be a JSON object, got {payload.ValueKind.ToString().ToLowerInvariant()}");
        if (id is not null)
            into[QdrantVectorStore.IdPayloadKey] = new Value { StringValue = id };
        foreach (var member in payload.EnumerateObject())
            into[member.Name] = ToValue(member.Value, member.Name);
    }

    /// <summary>One JSON value as a protobuf value; <paramref name="path"/> names it in errors.</summary>
    public static Value ToValue(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var obj = new global::Qdrant.Client.Grpc.Struct();
                foreach (var member in element.EnumerateObject())
                    obj.Fields[member.Name] = ToValue(member.Value, $"{path}.{member.Name}");
                return new Value { StructValue = obj };
            case JsonValueKind.Array:
                var list = new global::Qdrant.Client.Grpc.ListValue();
                var i = 0;
                foreach (var item in element.EnumerateArray())
                    list.Values.Add(ToValue(item, $"{path}[{i++}]"));
                return new Value { ListValue = list };
            case JsonValueKind.String:
                return new Value { StringValue = element.GetString()! };
            case JsonValueKind.Number:
                if (element.TryGetInt64(out var integer))
                    return new Value { IntegerValue = integer };
                // TryGetDouble refuses numbers beyond double's range (1e999), which JSON allows but no engine stores.
                if (element.TryGetDouble(out var real) && double.IsFinite(real))
                    return new Value { DoubleValue = real };
                throw QdrantValidation.Bad($"payload field '{path}': the number {element.GetRawText()} is outside the range of a double");
            case JsonValueKind.True:
                return new Value { BoolValue = true };
            case JsonValueKind.False:
                return new Value { BoolValue = false };
            case JsonValueKind.Null:
                return new Value { NullValue = global::Qdrant.Client.Grpc.NullValue.NullValue };
            default:
                throw QdrantValidation.Bad($"payload field '{path}' is not a JSON value ({element.ValueKind})");
        }
    }

    /// <summary>A returned payload as JSON object text, without <see cref="QdrantVectorStore.IdPayloadKey"/>; "{}" when empty.</summary>
    public static string ToJson(MapField<string, Value> payload)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            foreach (var (key, value) in payload)
            {
                if (key == QdrantVectorStore.IdPayloadKey)
                    continue;
                w.WritePropertyName(key);
                Write(w, value);
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void Write(Utf8JsonWriter w, Value value)
    {
        switch (value.KindCase)
        {
            case Value.KindOneofCase.StructValue:
                w.WriteStartObject();
                foreach (var (key, field) in value.StructValue.Fields)
                {
                    w.WritePropertyName(key);
                    Write(w, field);
                }
                w.WriteEndObject();
                break;
            case Value.KindOneofCase.ListValue:
                w.WriteStartArray();
                foreach (var item in value.ListValue.Values)
                    Write(w, item);
                w.WriteEndArray();
                break;
            case Value.KindOneofCase.StringValue:
                w.WriteStringValue(value.StringValue);
                break;
            case Value.KindOneofCase.IntegerValue:
                w.WriteNumberValue(value.IntegerValue);
                break;
            case Value.KindOneofCase.DoubleValue:
                var d = value.DoubleValue;
                // JSON has no NaN or infinity; Qdrant never holds them for payloads this layer wrote.
                if (double.IsFinite(d))
                    w.WriteNumberValue(d);
                else
                    w.WriteStringValue(d.ToString(CultureInfo.InvariantCulture));
                break;
            case Value.KindOneofCase.BoolValue:
                w.WriteBooleanValue(value.BoolValue);
                break;
            default:
                // NullValue, and a value with no kind set (proto3's default), which Qdrant also reads as null.
                w.WriteNullValue();
                break;
        }
    }
}
