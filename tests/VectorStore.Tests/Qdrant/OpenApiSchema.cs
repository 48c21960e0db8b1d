using System.Globalization;
using System.Text.Json;

namespace Platform.VectorStore.Tests.Qdrant;

/// <summary>
/// An OpenAPI 3.0 document: finds an operation by method and path, and validates JSON against its schemas.
/// </summary>
public sealed class OpenApiDocument
{
    private readonly JsonDocument _doc;
    private readonly List<(string Template, string[] Segments, string Method, JsonElement Operation)> _operations = [];

    private OpenApiDocument(JsonDocument doc, bool closedObjects)
    {
        _doc = doc;
        Schemas = new SchemaValidator(doc.RootElement, closedObjects);
        foreach (var path in doc.RootElement.GetProperty("paths").EnumerateObject())
        {
            var segments = path.Name.Split('/', StringSplitOptions.RemoveEmptyEntries);
            foreach (var op in path.Value.EnumerateObject())
                _operations.Add((path.Name, segments, op.Name.ToUpperInvariant(), op.Value));
        }
    }

    /// <summary>Loads a document.</summary>
    /// <param name="closedObjects">See <see cref="SchemaValidator"/>: reject properties a schema does not declare.</param>
    public static OpenApiDocument Load(string path, bool closedObjects = true) =>
        new(JsonDocument.Parse(File.ReadAllBytes(path)), closedObjects);

    public JsonElement Root => _doc.RootElement;

    public SchemaValidator Schemas { get; }

    /// <summary>A schema under <c>#/components/schemas</c>.</summary>
    public JsonElement Schema(string name) => Root.GetProperty("components").GetProperty("schemas").GetProperty(name);

    public IEnumerable<OpenApiOperation> Operations => _operations.Select(o => new OpenApiOperation(o.Method, o.Template, o.Operation, new Dictionary<string, string>()));

    /// <summary>
    /// The operation for a method and a (percent-decoded segment by segment) path, or null. Among templates that
    /// match, the one with more literal segments wins (<c>/collections/aliases</c> over <c>/collections/{name}</c>).
    /// </summary>
    public OpenApiOperation? Find(string method, string absolutePath)
    {
        var segments = absolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToArray();
        OpenApiOperation? best = null;
        var bestLiterals = -1;
        foreach (var (template, templateSegments, m, operation) in _operations)
        {
            if (m != method.ToUpperInvariant() || templateSegments.Length != segments.Length)
                continue;
            var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
            var literals = 0;
            var matches = true;
            for (var i = 0; i < segments.Length && matches; i++)
            {
                var t = templateSegments[i];
                if (t.StartsWith('{') && t.EndsWith('}'))
                    parameters[t[1..^1]] = segments[i];
                else if (t == segments[i])
                    literals++;
                else
                    matches = false;
            }
            if (matches && literals > bestLiterals)
            {
                best = new OpenApiOperation(m, template, operation, parameters);
                bestLiterals = literals;
            }
        }
        return best;
    }
}

/// <summary>One operation of the document, with the path parameters of the request that found it.</summary>
public sealed record OpenApiOperation(string Method, string PathTemplate, JsonElement Node, IReadOnlyDictionary<string, string> PathParameters)
{
    public string OperationId => Node.GetProperty("operationId").GetString()!;

    public override string ToString() => $"{Method} {PathTemplate} ({OperationId})";

    /// <summary>The declared parameters (path and query).</summary>
    public IEnumerable<(string Name, string In, bool Required, JsonElement Schema)> Parameters =>
        Node.TryGetProperty("parameters", out var ps)
            ? ps.EnumerateArray().Select(p => (
                p.GetProperty("name").GetString()!,
                p.GetProperty("in").GetString()!,
                p.TryGetProperty("required", out var r) && r.GetBoolean(),
                p.GetProperty("schema")))
            : [];

    /// <summary>The application/json request body schema, or null when the operation takes no body.</summary>
    public (JsonElement Schema, bool Required)? RequestBody =>
        Node.TryGetProperty("requestBody", out var rb)
            ? (rb.GetProperty("content").GetProperty("application/json").GetProperty("schema"),
               rb.TryGetProperty("required", out var r) && r.GetBoolean())
            : null;

    /// <summary>The application/json schema of the response for a status: its own entry, else 4XX/5XX, else default.</summary>
    public JsonElement? ResponseSchema(int status)
    {
        var responses = Node.GetProperty("responses");
        foreach (var key in (string[])[status.ToString(CultureInfo.InvariantCulture), $"{status / 100}XX", "default"])
        {
            if (responses.TryGetProperty(key, out var r))
                return r.TryGetProperty("content", out var c) ? c.GetProperty("application/json").GetProperty("schema") : null;
        }
        return null;
    }
}

/// <summary>
/// Validates JSON instances against the OpenAPI 3.0 schema subset that Qdrant's document uses: <c>$ref</c> (local
/// JSON pointers), <c>type</c> (a name or a list of names), <c>nullable</c>, <c>properties</c>, <c>required</c>,
/// <c>additionalProperties</c>, <c>items</c>, <c>minItems</c>/<c>maxItems</c>, <c>uniqueItems</c>,
/// <c>minLength</c>/<c>maxLength</c>, <c>minimum</c>/<c>maximum</c> (and their boolean <c>exclusive</c> forms),
/// <c>enum</c>, <c>anyOf</c>, <c>oneOf</c>, <c>allOf</c>, <c>not</c>, and the formats <c>uuid</c>, the unsigned and
/// signed integer widths and <c>float</c>. A keyword outside that list is reported as an error, so a constraint is
/// never skipped silently.
/// </summary>
/// <remarks>
/// Two readings stricter than the letter of OpenAPI 3.0, both the intent of Qdrant's generated schemas:
/// <list type="bullet">
/// <item>A schema that says only <c>nullable: true</c> (Qdrant's "or null" branch of an <c>anyOf</c>) accepts only
/// null; to the letter it would accept anything and make every such <c>anyOf</c> vacuous.</item>
/// <item>With <c>closedObjects</c>, an object schema that lists <c>properties</c> and says nothing of
/// <c>additionalProperties</c> rejects undeclared properties, so a misspelt field (<c>with_vectors</c>) is caught.
/// Open maps (<c>additionalProperties: true</c> or a schema, such as Payload) stay open.</item>
/// </list>
/// </remarks>
public sealed class SchemaValidator(JsonElement document, bool closedObjects = true)
{
    private static readonly HashSet<string> Annotations =
        ["description", "example", "examples", "default", "deprecated", "title", "readOnly", "writeOnly", "externalDocs"];

    private static readonly HashSet<string> Keywords =
    [
        "$ref", "type", "nullable", "format", "properties", "required", "additionalProperties", "items", "minItems",
        "maxItems", "uniqueItems", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
        "enum", "anyOf", "oneOf", "allOf", "not",
    ];

    /// <summary>Every way the instance breaks the schema, each as "JSON path: what"; empty when it is valid.</summary>
    public IReadOnlyList<string> Validate(JsonElement instance, JsonElement schema, string path = "$")
    {
        var errors = new List<string>();
        Check(instance, schema, path, errors, 0);
        return errors;
    }

    /// <summary>Validates against <c>#/components/schemas/{name}</c>.</summary>
    public IReadOnlyList<string> Validate(JsonElement instance, string schemaName) =>
        Validate(instance, Resolve($"#/components/schemas/{schemaName}"));

    public JsonElement Resolve(string reference)
    {
        if (!reference.StartsWith("#/", StringComparison.Ordinal))
            throw new NotSupportedException($"only local references are supported: {reference}");
        var node = document;
        foreach (var raw in reference[2..].Split('/'))
        {
            var token = Uri.UnescapeDataString(raw).Replace("~1", "/").Replace("~0", "~");
            if (!node.TryGetProperty(token, out node))
                throw new KeyNotFoundException($"unresolvable reference {reference}");
        }
        return node;
    }

    private void Check(JsonElement x, JsonElement schema, string path, List<string> errors, int depth)
    {
        if (depth > 200)
        {
            errors.Add($"{path}: schema recursion deeper than 200");
            return;
        }
        if (schema.ValueKind == JsonValueKind.True)
            return;
        if (schema.ValueKind == JsonValueKind.False)
        {
            errors.Add($"{path}: no value is allowed here");
            return;
        }
        if (schema.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"{path}: the schema is {schema.ValueKind}, not an object");
            return;
        }

        // OpenAPI 3.0: a $ref replaces its schema; sibling keywords are ignored.
        if (schema.TryGetProperty("$ref", out var reference))
        {
            Check(x, Resolve(reference.GetString()!), path, errors, depth + 1);
            return;
        }

        foreach (var keyword in schema.EnumerateObject())
        {
            if (!Keywords.Contains(keyword.Name) && !Annotations.Contains(keyword.Name))
                errors.Add($"{path}: unsupported schema keyword '{keyword.Name}'");
        }

        var nullable = schema.TryGetProperty("nullable", out var n) && n.ValueKind == JsonValueKind.True;
        if (x.ValueKind == JsonValueKind.Null && nullable)
            return;
        if (nullable && IsOnlyNullable(schema))
        {
            errors.Add($"{path}: expected null, got {Kind(x)}");
            return;
        }

        if (schema.TryGetProperty("type", out var type) && !HasType(x, type))
        {
            errors.Add($"{path}: expected {TypeText(type)}, got {Kind(x)}");
            return;
        }

        if (schema.TryGetProperty("enum", out var values) && !values.EnumerateArray().Any(v => JsonEquals(v, x)))
            errors.Add($"{path}: {Short(x)} is not one of {values.GetRawText()}");

        if (schema.TryGetProperty("format", out var format))
            CheckFormat(x, format.GetString()!, path, errors);

        switch (x.ValueKind)
        {
            case JsonValueKind.Object:
                CheckObject(x, schema, path, errors, depth);
                break;
            case JsonValueKind.Array:
                CheckArray(x, schema, path, errors, depth);
                break;
            case JsonValueKind.String:
                var length = x.GetString()!.Length;
                if (schema.TryGetProperty("minLength", out var minLength) && length < minLength.GetInt32())
                    errors.Add($"{path}: string shorter than {minLength.GetInt32()}");
                if (schema.TryGetProperty("maxLength", out var maxLength) && length > maxLength.GetInt32())
                    errors.Add($"{path}: string longer than {maxLength.GetInt32()}");
                break;
            case JsonValueKind.Number:
                CheckNumber(x, schema, path, errors);
                break;
        }

        if (schema.TryGetProperty("allOf", out var allOf))
        {
            foreach (var s in allOf.EnumerateArray())
                Check(x, s, path, errors, depth + 1);
        }
        if (schema.TryGetProperty("anyOf", out var anyOf))
        {
            var branchErrors = Branches(x, anyOf, path, depth);
            if (branchErrors.All(e => e.Count > 0))
                errors.Add($"{path}: matches none of anyOf: {Summary(branchErrors)}");
        }
        if (schema.TryGetProperty("oneOf", out var oneOf))
        {
            var branchErrors = Branches(x, oneOf, path, depth);
            var matched = branchErrors.Count(e => e.Count == 0);
            if (matched == 0)
                errors.Add($"{path}: matches none of oneOf: {Summary(branchErrors)}");
            else if (matched > 1)
                errors.Add($"{path}: matches {matched} branches of oneOf, exactly one allowed");
        }
        if (schema.TryGetProperty("not", out var not) && Validate(x, not, path).Count == 0)
            errors.Add($"{path}: matches a schema it must not match");
    }

    private static bool IsOnlyNullable(JsonElement schema) =>
        schema.EnumerateObject().All(k => k.Name == "nullable" || Annotations.Contains(k.Name));

    private List<List<string>> Branches(JsonElement x, JsonElement branches, string path, int depth)
    {
        var all = new List<List<string>>();
        foreach (var s in branches.EnumerateArray())
        {
            var e = new List<string>();
            Check(x, s, path, e, depth + 1);
            all.Add(e);
        }
        return all;
    }

    private static string Summary(List<List<string>> branchErrors) =>
        string.Join(" | ", branchErrors.Select((e, i) => $"[{i}] {(e.Count > 0 ? e[0] : "ok")}{(e.Count > 1 ? $" (+{e.Count - 1})" : "")}"));

    private void CheckObject(JsonElement x, JsonElement schema, string path, List<string> errors, int depth)
    {
        var hasProperties = schema.TryGetProperty("properties", out var properties);
        if (schema.TryGetProperty("required", out var required))
        {
            foreach (var r in required.EnumerateArray())
            {
                if (!x.TryGetProperty(r.GetString()!, out _))
                    errors.Add($"{path}: required property '{r.GetString()}' is missing");
            }
        }
        var hasAdditional = schema.TryGetProperty("additionalProperties", out var additional);
        foreach (var p in x.EnumerateObject())
        {
            var childPath = $"{path}.{p.Name}";
            if (hasProperties && properties.TryGetProperty(p.Name, out var ps))
                Check(p.Value, ps, childPath, errors, depth + 1);
            else if (hasAdditional && additional.ValueKind == JsonValueKind.False)
                errors.Add($"{path}: property '{p.Name}' is not declared by the schema (additionalProperties: false)");
            else if (hasAdditional)
                Check(p.Value, additional, childPath, errors, depth + 1);
            else if (closedObjects && hasProperties)
                errors.Add($"{path}: property '{p.Name}' is not declared by the schema");
        }
    }

    private void CheckArray(JsonElement x, JsonElement schema, string path, List<string> errors, int depth)
    {
        var count = x.GetArrayLength();
        if (schema.TryGetProperty("minItems", out var min) && count < min.GetInt32())
            errors.Add($"{path}: fewer than {min.GetInt32()} items");
        if (schema.TryGetProperty("maxItems", out var max) && count > max.GetInt32())
            errors.Add($"{path}: more than {max.GetInt32()} items");
        if (schema.TryGetProperty("items", out var items))
        {
            var i = 0;
            foreach (var item in x.EnumerateArray())
                Check(item, items, $"{path}[{i++}]", errors, depth + 1);
        }
        if (schema.TryGetProperty("uniqueItems", out var unique) && unique.ValueKind == JsonValueKind.True)
        {
            var list = x.EnumerateArray().ToList();
            for (var i = 0; i < list.Count; i++)
            {
                for (var j = i + 1; j < list.Count; j++)
                {
                    if (JsonEquals(list[i], list[j]))
                    {
                        errors.Add($"{path}: items {i} and {j} are equal, items must be unique");
                        return;
                    }
                }
            }
        }
    }

    private static void CheckNumber(JsonElement x, JsonElement schema, string path, List<string> errors)
    {
        var value = x.GetDouble();
        if (schema.TryGetProperty("minimum", out var min))
        {
            var exclusive = schema.TryGetProperty("exclusiveMinimum", out var e) && e.ValueKind == JsonValueKind.True;
            if (exclusive ? value <= min.GetDouble() : value < min.GetDouble())
                errors.Add($"{path}: {Short(x)} is below the minimum {min.GetRawText()}");
        }
        if (schema.TryGetProperty("maximum", out var max))
        {
            var exclusive = schema.TryGetProperty("exclusiveMaximum", out var e) && e.ValueKind == JsonValueKind.True;
            if (exclusive ? value >= max.GetDouble() : value > max.GetDouble())
                errors.Add($"{path}: {Short(x)} is above the maximum {max.GetRawText()}");
        }
    }

    private static void CheckFormat(JsonElement x, string format, string path, List<string> errors)
    {
        switch (format)
        {
            case "uuid" when x.ValueKind == JsonValueKind.String:
                if (!Guid.TryParse(x.GetString(), out _))
                    errors.Add($"{path}: {Short(x)} is not a UUID");
                break;
            case "uint" or "uint64" when x.ValueKind == JsonValueKind.Number:
                if (!x.TryGetUInt64(out _))
                    errors.Add($"{path}: {Short(x)} is not an unsigned 64-bit integer");
                break;
            case "uint32" when x.ValueKind == JsonValueKind.Number:
                if (!x.TryGetUInt32(out _))
                    errors.Add($"{path}: {Short(x)} is not an unsigned 32-bit integer");
                break;
            case "uint8" when x.ValueKind == JsonValueKind.Number:
                if (!x.TryGetByte(out _))
                    errors.Add($"{path}: {Short(x)} is not an unsigned 8-bit integer");
                break;
            case "int64" when x.ValueKind == JsonValueKind.Number:
                if (!x.TryGetInt64(out _))
                    errors.Add($"{path}: {Short(x)} is not a signed 64-bit integer");
                break;
            case "float" when x.ValueKind == JsonValueKind.Number:
                if (!float.IsFinite((float)x.GetDouble()))
                    errors.Add($"{path}: {Short(x)} does not fit a 32-bit float");
                break;
            // double, date-time, uri, binary and the rest: not checked (no instance here uses them).
        }
    }

    private static bool HasType(JsonElement x, JsonElement type) => type.ValueKind == JsonValueKind.Array
        ? type.EnumerateArray().Any(t => IsType(x, t.GetString()!))
        : IsType(x, type.GetString()!);

    private static bool IsType(JsonElement x, string type) => type switch
    {
        "object" => x.ValueKind == JsonValueKind.Object,
        "array" => x.ValueKind == JsonValueKind.Array,
        "string" => x.ValueKind == JsonValueKind.String,
        "boolean" => x.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "null" => x.ValueKind == JsonValueKind.Null,
        "number" => x.ValueKind == JsonValueKind.Number,
        // As Qdrant's deserializer reads them: 3 is an integer, 3.0 and 3e0 are not.
        "integer" => x.ValueKind == JsonValueKind.Number && x.GetRawText().AsSpan().IndexOfAny(".eE") < 0,
        _ => throw new NotSupportedException($"unknown type '{type}'"),
    };

    private static string TypeText(JsonElement type) =>
        type.ValueKind == JsonValueKind.Array ? string.Join(" or ", type.EnumerateArray().Select(t => t.GetString())) : type.GetString()!;

    private static string Kind(JsonElement x) => x.ValueKind switch
    {
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Number => $"number {Short(x)}",
        JsonValueKind.String => $"string {Short(x)}",
        _ => x.ValueKind.ToString().ToLowerInvariant(),
    };

    private static string Short(JsonElement x)
    {
        var raw = x.GetRawText();
        return raw.Length <= 60 ? raw : raw[..57] + "...";
    }

    /// <summary>JSON equality: numbers by value, objects regardless of property order.</summary>
    public static bool JsonEquals(JsonElement a, JsonElement b)
    {
        if (a.ValueKind != b.ValueKind)
            return false;
        switch (a.ValueKind)
        {
            case JsonValueKind.Object:
                var ap = a.EnumerateObject().ToList();
                if (ap.Count != b.EnumerateObject().Count())
                    return false;
                return ap.All(p => b.TryGetProperty(p.Name, out var bv) && JsonEquals(p.Value, bv));
            case JsonValueKind.Array:
                return a.GetArrayLength() == b.GetArrayLength()
                    && a.EnumerateArray().Zip(b.EnumerateArray()).All(t => JsonEquals(t.First, t.Second));
            case JsonValueKind.String:
                return a.GetString() == b.GetString();
            case JsonValueKind.Number:
                return a.TryGetDecimal(out var da) && b.TryGetDecimal(out var db) ? da == db : a.GetDouble() == b.GetDouble();
            default:
                return true;
        }
    }
}
