using System.Text.Json;

namespace Platform.VectorStore.Embedded;

/// <summary>A scalar found in a payload.</summary>
internal readonly record struct PayloadValue(JsonValueKind Kind, string? Text, double Number)
{
    public bool IsTrue => Kind == JsonValueKind.True;
}

/// <summary>
/// A payload flattened for filtering: every scalar under its dotted path (<c>attributes.colour</c>); arrays add one
/// value per element, and objects inside arrays contribute their fields under the same path.
/// </summary>
internal sealed class PayloadFields
{
    private static readonly PayloadValue[] None = [];
    private readonly Dictionary<string, PayloadValue[]> _fields;

    private PayloadFields(Dictionary<string, PayloadValue[]> fields) => _fields = fields;

    public static readonly PayloadFields Empty = new([]);

    public ReadOnlySpan<PayloadValue> this[string key] => _fields.TryGetValue(key, out var values) ? values : None;

    /// <summary>Every (path, values) pair.</summary>
    public IEnumerable<KeyValuePair<string, PayloadValue[]>> All => _fields;

    /// <summary>Parses and flattens a payload; throws BadRequest unless it is a JSON object.</summary>
    public static PayloadFields Parse(string payload, string pointId)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(payload);
        }
        catch (JsonException e)
        {
            throw new VectorStoreException(VectorStoreErrorKind.BadRequest, $"point '{pointId}': payload is not valid JSON ({e.Message})");
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new VectorStoreException(VectorStoreErrorKind.BadRequest,
                    $"point '{pointId}': payload must be a JSON object, not {document.RootElement.ValueKind.ToString().ToLowerInvariant()}");
            var collected = new Dictionary<string, List<PayloadValue>>(StringComparer.Ordinal);
            Collect(document.RootElement, null, collected);
            if (collected.Count == 0)
                return Empty;
            return new PayloadFields(collected.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal));
        }
    }

    private static void Collect(JsonElement element, string? path, Dictionary<string, List<PayloadValue>> into)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                    Collect(property.Value, path is null ? property.Name : $"{path}.{property.Name}", into);
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                    Collect(item, path, into);
                break;
            case JsonValueKind.String:
                Add(into, path, new PayloadValue(JsonValueKind.String, element.GetString(), 0));
                break;
            case JsonValueKind.Number:
                Add(into, path, new PayloadValue(JsonValueKind.Number, null, element.GetDouble()));
                break;
            case JsonValueKind.True or JsonValueKind.False:
                Add(into, path, new PayloadValue(element.ValueKind, null, 0));
                break;
        }
    }

    private static void Add(Dictionary<string, List<PayloadValue>> into, string? path, PayloadValue value)
    {
        if (path is null)
            return;
        if (!into.TryGetValue(path, out var list))
            into[path] = list = [];
        list.Add(value);
    }
}

/// <summary>A filter checked once and turned into a predicate over a point's id and payload fields.</summary>
internal static class FilterCompiler
{
    public delegate bool Predicate(string id, PayloadFields fields);

    public static Predicate? Compile(Filter? filter)
    {
        if (filter is null || filter.IsEmpty)
            return null;
        return Compile((Condition)filter, "filter");
    }

    /// <summary>One condition on its own (already validated as part of its filter).</summary>
    public static Predicate CompileCondition(Condition condition) => Compile(condition, "filter");

    private static Predicate Compile(Condition condition, string where)
    {
        switch (condition)
        {
            case Filter f:
                var must = f.Must.Select((c, i) => Compile(c, $"{where}.must[{i}]")).ToArray();
                var should = f.Should.Select((c, i) => Compile(c, $"{where}.should[{i}]")).ToArray();
                var mustNot = f.MustNot.Select((c, i) => Compile(c, $"{where}.must_not[{i}]")).ToArray();
                return (id, fields) =>
                {
                    foreach (var p in must)
                    {
                        if (!p(id, fields))
                            return false;
                    }
                    foreach (var p in mustNot)
                    {
                        if (p(id, fields))
                            return false;
                    }
                    if (should.Length == 0)
                        return true;
                    foreach (var p in should)
                    {
                        if (p(id, fields))
                            return true;
                    }
                    return false;
                };
            case MatchKeyword m:
                var key = Key(m.Key, where);
                var text = m.Value ?? throw Bad(where, "match keyword needs a value");
                return (_, fields) => Any(fields[key], v => v.Kind == JsonValueKind.String && string.Equals(v.Text, text, StringComparison.Ordinal));
            case MatchInteger m:
                key = Key(m.Key, where);
                var integer = (double)m.Value;
                return (_, fields) => Any(fields[key], v => v.Kind == JsonValueKind.Number && v.Number == integer);
            case MatchBool m:
                key = Key(m.Key, where);
                var kind = m.Value ? JsonValueKind.True : JsonValueKind.False;
                return (_, fields) => Any(fields[key], v => v.Kind == kind);
            case MatchAny m:
                key = Key(m.Key, where);
                if (m.Values is null || m.Values.Count == 0)
                    throw Bad(where, $"match any on '{m.Key}' needs at least one value");
                if (m.Values.Any(v => v is null))
                    throw Bad(where, $"match any on '{m.Key}' has a null value");
                var set = m.Values.ToHashSet(StringComparer.Ordinal);
                return (_, fields) => Any(fields[key], v => v.Kind == JsonValueKind.String && set.Contains(v.Text!));
            case Range r:
                key = Key(r.Key, where);
                if (r.Gt is null && r.Gte is null && r.Lt is null && r.Lte is null)
                    throw Bad(where, $"range on '{r.Key}' needs at least one of gt, gte, lt, lte");
                foreach (var bound in new[] { r.Gt, r.Gte, r.Lt, r.Lte })
                {
                    if (bound is { } b && double.IsNaN(b))
                        throw Bad(where, $"range on '{r.Key}' has a NaN bound");
                }
                var (gt, gte, lt, lte) = (r.Gt ?? double.NegativeInfinity, r.Gte ?? double.NegativeInfinity, r.Lt ?? double.PositiveInfinity, r.Lte ?? double.PositiveInfinity);
                var strictLow = r.Gt is not null;
                var strictHigh = r.Lt is not null;
                return (_, fields) => Any(fields[key], v => v.Kind == JsonValueKind.Number
                    && (!strictLow || v.Number > gt) && v.Number >= gte
                    && (!strictHigh || v.Number < lt) && v.Number <= lte);
            case HasId h:
                if (h.Ids is null)
                    throw Bad(where, "has_id needs a list of ids");
                var ids = h.Ids.ToHashSet(StringComparer.Ordinal);
                return (id, _) => ids.Contains(id);
            case null:
                throw Bad(where, "a condition is null");
            default:
                throw Bad(where, $"unsupported condition {condition.GetType().Name}");
        }
    }

    private static bool Any(ReadOnlySpan<PayloadValue> values, Func<PayloadValue, bool> test)
    {
        foreach (var v in values)
        {
            if (test(v))
                return true;
        }
        return false;
    }

    private static string Key(string key, string where) =>
        string.IsNullOrWhiteSpace(key) ? throw Bad(where, "a condition needs a non-empty key") : key;

    private static VectorStoreException Bad(string where, string message) =>
        new(VectorStoreErrorKind.BadRequest, $"{where}: {message}");
}
