using System.Net;
using System.Text;
using System.Text.Json;

namespace Platform.VectorStore.Tests.Qdrant;

/// <summary>The contract checker checks: it accepts what the spec allows and rejects what it does not.</summary>
public sealed class OpenApiSchemaTests
{
    private static IReadOnlyList<string> Validate(string schemaName, string json)
    {
        var spec = QdrantHarness.Spec();
        using var doc = JsonDocument.Parse(json);
        return spec.Schemas.Validate(doc.RootElement.Clone(), schemaName);
    }

    private const string Uuid = "8f1901eb-010c-5a5d-be86-a7f4c62c7ddf";

    [Theory]
    [InlineData("PointInsertOperations", $$$"""{"points":[{"id":"{{{Uuid}}}","vector":{"image":[0.1,0.2]},"payload":{"_pid":"a","tags":["x"]}}]}""")]
    [InlineData("PointInsertOperations", """{"points":[{"id":42,"vector":[1,2,3]}]}""")]
    [InlineData("QueryRequest", """{"query":{"nearest":[1,0]},"using":"image","limit":10,"with_payload":["_pid"],"with_vector":false}""")]
    [InlineData("QueryRequest", $$$"""{"query":{"recommend":{"positive":["{{{Uuid}}}",[1,0]],"strategy":"best_score"}},"limit":1}""")]
    [InlineData("Filter", """{"must":[{"key":"a","match":{"any":["x","y"]}},{"should":[{"key":"b","range":{"gte":1}}]}],"must_not":[{"has_id":[7]}]}""")]
    [InlineData("CreateCollection", """{"vectors":{"image":{"size":256,"distance":"Cosine"}}}""")]
    [InlineData("ScrollRequest", $$"""{"offset":"{{Uuid}}","limit":3,"with_payload":true,"with_vector":["image"]}""")]
    public void Validator_accepts_bodies_the_spec_allows(string schema, string json) =>
        Assert.Empty(Validate(schema, json));

    [Theory]
    // Our string ids are neither UUIDs nor unsigned integers: exactly what the id mapping exists for.
    [InlineData("PointInsertOperations", """{"points":[{"id":"emoji-1f457","vector":{"image":[0.1]}}]}""", "not a UUID")]
    [InlineData("PointInsertOperations", $$$"""{"points":[{"id":"{{{Uuid}}}","payload":{}}]}""", "required property 'vector' is missing")]
    [InlineData("PointInsertOperations", $$$"""{"points":[{"id":"{{{Uuid}}}","vector":{"image":["0.1"]}}]}""", "matches none of anyOf")]
    [InlineData("PointInsertOperations", """{"points":[{"id":-3,"vector":[1]}]}""", "is not an unsigned 64-bit integer")]
    [InlineData("QueryRequest", """{"query":[1,0],"limit":"ten"}""", "expected integer")]
    [InlineData("QueryRequest", """{"query":[1,0],"limit":0}""", "below the minimum")]
    [InlineData("QueryRequest", """{"query":[1,0],"limit":2.0}""", "expected integer")]
    [InlineData("QueryRequest", """{"query":[1,0],"with_vectors":true}""", "property 'with_vectors' is not declared")]
    [InlineData("QueryRequest", """{"query":{"recommend":{"positive":[[1,0]],"strategy":"average"}}}""", "is not one of")]
    [InlineData("QueryRequest", """{"query":[1,0],"params":{"hnsw_ef":"64"}}""", "matches none of anyOf")]
    [InlineData("CreateCollection", """{"vectors":{"image":{"size":256,"distance":"cosine"}}}""", "is not one of")]
    [InlineData("CreateCollection", """{"vectors":{"image":{"size":0,"distance":"Dot"}}}""", "below the minimum")]
    [InlineData("Filter", """{"must_nt":[]}""", "property 'must_nt' is not declared")]
    [InlineData("Filter", """{"must":[{"key":"a","match":{"value":1.5}}]}""", "matches none of anyOf")]
    [InlineData("HasIdCondition", $$"""{"has_id":["{{Uuid}}","{{Uuid}}"]}""", "must be unique")]
    [InlineData("CountRequest", """{"exact":"yes"}""", "expected boolean")]
    [InlineData("ScrollRequest", """{"limit":null,"offset":"not-a-uuid"}""", "matches none of anyOf")]
    [InlineData("PointIdsList", """{"points":"x"}""", "expected array")]
    public void Validator_rejects_bodies_the_spec_does_not_allow(string schema, string json, string expected)
    {
        var errors = Validate(schema, json);
        Assert.NotEmpty(errors);
        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Validator_reports_the_json_path_of_what_is_wrong()
    {
        var errors = Validate("PointInsertOperations", $$$"""{"points":[{"id":"{{{Uuid}}}","vector":{}},{"id":"{{{Uuid}}}"}]}""");
        Assert.Contains(errors, e => e.Contains("$.points[1]", StringComparison.Ordinal) && e.Contains("'vector'", StringComparison.Ordinal));
    }

    [Fact]
    public void A_schema_keyword_the_validator_does_not_know_is_an_error_not_ignored()
    {
        var spec = QdrantHarness.Spec();
        using var schema = JsonDocument.Parse("""{"type":"string","pattern":"^a"}""");
        using var value = JsonDocument.Parse("\"b\"");
        var errors = spec.Schemas.Validate(value.RootElement, schema.RootElement);
        Assert.Contains(errors, e => e.Contains("unsupported schema keyword 'pattern'", StringComparison.Ordinal));
    }

    [Fact]
    public void An_only_nullable_branch_accepts_null_and_nothing_else()
    {
        var spec = QdrantHarness.Spec();
        using var schema = JsonDocument.Parse("""{"anyOf":[{"type":"integer"},{"nullable":true}]}""");
        using var nil = JsonDocument.Parse("null");
        using var text = JsonDocument.Parse("\"x\"");
        Assert.Empty(spec.Schemas.Validate(nil.RootElement, schema.RootElement));
        Assert.NotEmpty(spec.Schemas.Validate(text.RootElement, schema.RootElement));
    }

    [Fact]
    public void Every_schema_in_the_spec_uses_only_keywords_the_validator_knows()
    {
        // Validating against each schema would report an unknown keyword at its top level; walk them all instead.
        var spec = QdrantHarness.Spec();
        var unknown = new SortedSet<string>(StringComparer.Ordinal);
        var known = new HashSet<string>(StringComparer.Ordinal)
        {
            "$ref", "type", "nullable", "format", "properties", "required", "additionalProperties", "items", "minItems",
            "maxItems", "uniqueItems", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
            "enum", "anyOf", "oneOf", "allOf", "not", "description", "example", "examples", "default", "deprecated", "title",
            "readOnly", "writeOnly", "externalDocs",
        };
        void Walk(JsonElement schema)
        {
            if (schema.ValueKind != JsonValueKind.Object)
                return;
            foreach (var k in schema.EnumerateObject())
            {
                if (!known.Contains(k.Name))
                    unknown.Add(k.Name);
                switch (k.Name)
                {
                    case "properties":
                        foreach (var p in k.Value.EnumerateObject())
                            Walk(p.Value);
                        break;
                    case "items" or "additionalProperties" or "not":
                        Walk(k.Value);
                        break;
                    case "anyOf" or "oneOf" or "allOf":
                        foreach (var s in k.Value.EnumerateArray())
                            Walk(s);
                        break;
                }
            }
        }
        foreach (var s in spec.Root.GetProperty("components").GetProperty("schemas").EnumerateObject())
            Walk(s.Value);
        Assert.Empty(unknown);
    }

    [Fact]
    public void The_spec_has_every_operation_the_backend_uses_and_no_legacy_search_or_recommend()
    {
        var spec = QdrantHarness.Spec();
        var c = "/collections/products";
        Assert.Equal("get_collections", spec.Find("GET", "/collections")?.OperationId);
        Assert.Equal("get_collection", spec.Find("GET", c)?.OperationId);
        Assert.Equal("create_collection", spec.Find("PUT", c)?.OperationId);
        Assert.Equal("delete_collection", spec.Find("DELETE", c)?.OperationId);
        Assert.Equal("upsert_points", spec.Find("PUT", c + "/points")?.OperationId);
        Assert.Equal("get_points", spec.Find("POST", c + "/points")?.OperationId);
        Assert.Equal("delete_points", spec.Find("POST", c + "/points/delete")?.OperationId);
        Assert.Equal("count_points", spec.Find("POST", c + "/points/count")?.OperationId);
        Assert.Equal("scroll_points", spec.Find("POST", c + "/points/scroll")?.OperationId);
        Assert.Equal("query_points", spec.Find("POST", c + "/points/query")?.OperationId);
        // v1.19's document has only the Query API for search and recommendation, which is why the backend uses it.
        Assert.Null(spec.Find("POST", c + "/points/search"));
        Assert.Null(spec.Find("POST", c + "/points/recommend"));
        // A literal segment beats a template: /collections/aliases is not a collection named "aliases".
        Assert.Equal("update_aliases", spec.Find("POST", "/collections/aliases")?.OperationId);
    }

    [Fact]
    public async Task The_handler_flags_requests_outside_the_spec()
    {
        var handler = new QdrantContractHandler(QdrantHarness.Spec());
        handler.On("count_points", CannedResponse.Ok("""{"count":1}"""), CannedResponse.Ok("""{"count":1}"""));
        using var http = new HttpClient(handler) { BaseAddress = new Uri(QdrantHarness.BaseAddress) };
        StringContent Json(string s) => new(s, Encoding.UTF8, "application/json");

        // Not an operation of v1.19.
        await http.PostAsync("collections/c/points/search", Json("""{"vector":[1],"limit":1}"""));
        // "wait" is not a parameter of count; "exact" must be a boolean.
        await http.PostAsync("collections/c/points/count?wait=true", Json("""{"exact":"yes"}"""));
        // A count with a declared parameter of the wrong type.
        await http.PostAsync("collections/c/points/count?timeout=soon", Json("""{"exact":true}"""));
        // No answer queued for this one.
        await http.GetAsync("collections");

        Assert.Contains(handler.Violations, v => v.Contains("no operation in the spec", StringComparison.Ordinal));
        Assert.Contains(handler.Violations, v => v.Contains("query parameter 'wait' is not declared", StringComparison.Ordinal));
        Assert.Contains(handler.Violations, v => v.Contains("body.exact: expected boolean", StringComparison.Ordinal));
        Assert.Contains(handler.Violations, v => v.Contains("query parameter 'timeout=soon'", StringComparison.Ordinal));
        Assert.Contains(handler.Violations, v => v.Contains("unexpected request", StringComparison.Ordinal));
    }

    [Fact]
    public void The_handler_refuses_a_canned_response_that_breaks_the_spec()
    {
        var handler = new QdrantContractHandler(QdrantHarness.Spec());
        var e = Assert.Throws<InvalidOperationException>(() => handler.On("count_points", CannedResponse.Ok("""{"count":-1}""")));
        Assert.Contains("below the minimum", e.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => handler.On("query_points", CannedResponse.Ok("""{"points":[{"id":"p1","score":1}]}""")));
        Assert.Throws<InvalidOperationException>(() => handler.On("get_collection", CannedResponse.Ok("""{"status":"green"}""")));
    }

    [Fact]
    public async Task The_handler_answers_with_the_canned_response()
    {
        var handler = new QdrantContractHandler(QdrantHarness.Spec());
        handler.On("get_collections", CannedResponse.Ok("""{"collections":[{"name":"a"}]}"""));
        using var http = new HttpClient(handler) { BaseAddress = new Uri(QdrantHarness.BaseAddress) };
        var response = await http.GetAsync("collections");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"name\":\"a\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(handler.Violations);
    }
}
