using System.Net;
using System.Text;
using System.Text.Json;

namespace Platform.VectorStore.Tests.Qdrant;

/// <summary>A hand-written answer for one request: a status and a JSON body, or a transport failure.</summary>
public sealed record CannedResponse(int Status, string Body)
{
    /// <summary>Thrown from the handler instead of answering (a refused connection, a timeout).</summary>
    public Exception? Failure { get; init; }

    /// <summary>200 with Qdrant's envelope around <paramref name="resultJson"/>.</summary>
    public static CannedResponse Ok(string resultJson) =>
        new(200, $$"""{"result":{{resultJson}},"status":"ok","time":0.000215}""");

    /// <summary>An error status with Qdrant's error envelope.</summary>
    public static CannedResponse Error(int status, string message) =>
        new(status, JsonSerializer.Serialize(new { status = new { error = message }, time = 0.000031 }));

    public static CannedResponse Fail(Exception failure) => new(0, "") { Failure = failure };
}

/// <summary>A request the backend sent, as the handler saw it.</summary>
public sealed record RecordedCall(string Method, string Path, string OperationId, IReadOnlyDictionary<string, string> Query, string? Body)
{
    public JsonElement Json => JsonDocument.Parse(Body ?? throw new InvalidOperationException($"{OperationId} had no body")).RootElement;
}

/// <summary>
/// A contract checker, not a Qdrant substitute: for each request it finds the operation in Qdrant's OpenAPI document by
/// method and path template, validates the path and query parameters and the JSON body against what the operation
/// declares, then answers with the next canned response queued for that operation, after validating that response
/// against the operation's schema for its status. Every mismatch is kept in <see cref="Violations"/>.
/// </summary>
public sealed class QdrantContractHandler(OpenApiDocument spec) : HttpMessageHandler
{
    private readonly Dictionary<string, Queue<CannedResponse>> _canned = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    public List<string> Violations { get; } = [];
    public List<RecordedCall> Calls { get; } = [];

    /// <summary>Queues answers for an operation (by operationId), used in order.</summary>
    public QdrantContractHandler On(string operationId, params CannedResponse[] responses)
    {
        if (!spec.Operations.Any(o => o.OperationId == operationId))
            throw new ArgumentException($"the spec has no operation '{operationId}'", nameof(operationId));
        lock (_gate)
        {
            if (!_canned.TryGetValue(operationId, out var queue))
                _canned[operationId] = queue = new Queue<CannedResponse>();
            foreach (var r in responses)
            {
                if (r.Failure is null)
                    CheckResponse(operationId, r);
                queue.Enqueue(r);
            }
        }
        return this;
    }

    /// <summary>Canned answers queued but never asked for.</summary>
    public IReadOnlyList<string> Unused
    {
        get
        {
            lock (_gate)
                return _canned.Where(kv => kv.Value.Count > 0).Select(kv => $"{kv.Key} ×{kv.Value.Count}").ToList();
        }
    }

    public IEnumerable<RecordedCall> CallsTo(string operationId) => Calls.Where(c => c.OperationId == operationId);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var uri = request.RequestUri ?? throw new InvalidOperationException("no request URI");
        var method = request.Method.Method;
        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        var query = ParseQuery(uri.Query);
        var operation = spec.Find(method, uri.AbsolutePath);
        var label = $"{method} {uri.PathAndQuery}";

        if (operation is null)
        {
            lock (_gate)
            {
                Violations.Add($"{label}: no operation in the spec has this method and path");
                Calls.Add(new RecordedCall(method, uri.AbsolutePath, "(none)", query, body));
            }
            return Respond(CannedResponse.Error(404, "no such operation in the spec"));
        }

        var violations = CheckRequest(operation, query, request.Content?.Headers.ContentType?.MediaType, body)
            .Select(v => $"{label} [{operation.OperationId}]: {v}")
            .ToList();
        CannedResponse? canned;
        lock (_gate)
        {
            Violations.AddRange(violations);
            Calls.Add(new RecordedCall(method, uri.AbsolutePath, operation.OperationId, query, body));
            canned = _canned.TryGetValue(operation.OperationId, out var queue) && queue.Count > 0 ? queue.Dequeue() : null;
            if (canned is null)
                Violations.Add($"{label} [{operation.OperationId}]: unexpected request (no canned response queued)");
        }
        canned ??= CannedResponse.Error(500, "the test queued no answer for this request");
        if (canned.Failure is not null)
            throw canned.Failure;
        return Respond(canned);
    }

    private static HttpResponseMessage Respond(CannedResponse canned) => new((HttpStatusCode)canned.Status)
    {
        Content = new StringContent(canned.Body, Encoding.UTF8, "application/json"),
    };

    private List<string> CheckRequest(OpenApiOperation operation, IReadOnlyDictionary<string, string> query, string? contentType, string? body)
    {
        var errors = new List<string>();
        var declared = operation.Parameters.ToList();
        foreach (var (name, value) in operation.PathParameters)
        {
            var p = declared.FirstOrDefault(d => d.In == "path" && d.Name == name);
            if (p.Name is null)
                errors.Add($"path parameter '{name}' is not declared");
            else
                errors.AddRange(CheckParameter(p.Schema, value).Select(e => $"path parameter '{name}': {e}"));
        }
        foreach (var (name, value) in query)
        {
            var p = declared.FirstOrDefault(d => d.In == "query" && d.Name == name);
            if (p.Name is null)
                errors.Add($"query parameter '{name}' is not declared");
            else
                errors.AddRange(CheckParameter(p.Schema, value).Select(e => $"query parameter '{name}={value}': {e}"));
        }
        foreach (var p in declared.Where(d => d.In == "query" && d.Required && !query.ContainsKey(d.Name)))
            errors.Add($"required query parameter '{p.Name}' is missing");

        var requestBody = operation.RequestBody;
        if (requestBody is null)
        {
            if (!string.IsNullOrEmpty(body))
                errors.Add("the operation takes no body, but one was sent");
            return errors;
        }
        if (string.IsNullOrEmpty(body))
        {
            // Stricter than the document, which marks no body required: Qdrant's server reads one for every
            // operation that declares one.
            errors.Add("the body is missing");
            return errors;
        }
        if (contentType != "application/json")
            errors.Add($"body content type is '{contentType}', not application/json");
        try
        {
            using var doc = JsonDocument.Parse(body);
            errors.AddRange(spec.Schemas.Validate(doc.RootElement, requestBody.Value.Schema, "body"));
        }
        catch (JsonException e)
        {
            errors.Add($"body is not JSON: {e.Message}");
        }
        return errors;
    }

    /// <summary>A query or path value is text; it is valid when it reads as a value of the declared schema.</summary>
    private IEnumerable<string> CheckParameter(JsonElement schema, string value)
    {
        var candidates = new List<string> { JsonSerializer.Serialize(value) };
        if (value is "true" or "false")
            candidates.Add(value);
        if (long.TryParse(value, out _) || ulong.TryParse(value, out _))
            candidates.Add(value);
        IReadOnlyList<string>? first = null;
        foreach (var c in candidates)
        {
            using var doc = JsonDocument.Parse(c);
            var errors = spec.Schemas.Validate(doc.RootElement, schema, "value");
            if (errors.Count == 0)
                return [];
            first ??= errors;
        }
        return first!;
    }

    private void CheckResponse(string operationId, CannedResponse response)
    {
        var operation = spec.Operations.First(o => o.OperationId == operationId);
        var schema = operation.ResponseSchema(response.Status);
        if (schema is null)
            throw new InvalidOperationException($"canned response for {operationId}: the spec declares no JSON body for status {response.Status}");
        using var doc = JsonDocument.Parse(response.Body);
        var errors = spec.Schemas.Validate(doc.RootElement, schema.Value, "response");
        if (errors.Count > 0)
        {
            // A canned response that breaks the spec would test the parser on input Qdrant never sends.
            throw new InvalidOperationException(
                $"canned {response.Status} response for {operationId} does not match the spec:\n  {string.Join("\n  ", errors)}");
        }
    }

    private static Dictionary<string, string> ParseQuery(string query)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var name = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            result[name] = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
        }
        return result;
    }
}
