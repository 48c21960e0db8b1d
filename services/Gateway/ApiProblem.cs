using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Platform.Inference.Imaging;

namespace Platform.Gateway;

/// <summary>A request the API refuses: becomes a ProblemDetails response with this status and detail.</summary>
public sealed class ApiProblem(int status, string title, string detail) : Exception(detail)
{
    public int Status { get; } = status;

    public string Title { get; } = title;

    public static ApiProblem BadRequest(string detail) => new(StatusCodes.Status400BadRequest, "Invalid request", detail);

    public static ApiProblem NotFound(string detail) => new(StatusCodes.Status404NotFound, "Not found", detail);

    public static ApiProblem UnsupportedMediaType(string detail) => new(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type", detail);

    /// <summary>An image the platform cannot use, with the status that fits the reason.</summary>
    public static ApiProblem From(ImageRejectedException e) => e.Reason switch
    {
        ImageRejectReason.UnsupportedFormat => new(StatusCodes.Status415UnsupportedMediaType, "Unsupported image format",
            e.Message.Contains("JPEG", StringComparison.OrdinalIgnoreCase) ? e.Message : $"{e.Message} (accepted: JPEG, PNG, WebP, GIF)"),
        ImageRejectReason.TooLarge => new(StatusCodes.Status400BadRequest, "Image too large", e.Message),
        ImageRejectReason.Empty => new(StatusCodes.Status400BadRequest, "Empty image", e.Message),
        _ => new(StatusCodes.Status400BadRequest, "Corrupt image", e.Message),
    };
}

/// <summary>Turns refusals (and Kestrel's own, such as an oversized body) into ProblemDetails; the server keeps serving.</summary>
internal sealed class ApiProblemHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        var problem = exception switch
        {
            ApiProblem p => p,
            ImageRejectedException e => ApiProblem.From(e),
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => new ApiProblem(
                StatusCodes.Status413PayloadTooLarge, "Request body too large",
                $"the request body is larger than this server accepts ({context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize:N0} bytes)"),
            BadHttpRequestException b => new ApiProblem(b.StatusCode, "Bad request", b.Message),
            // The cluster cannot serve the request now (no encoder silo, a silo that does not answer): say so, retryable.
            Orleans.Runtime.OrleansException or TimeoutException => new ApiProblem(StatusCodes.Status503ServiceUnavailable, "Service unavailable", exception.Message),
            // The catalog's store cannot be reached (PostgreSQL down): retryable; the detail, which names the server, goes to the log only.
            Platform.Catalog.CatalogUnavailableException => new ApiProblem(StatusCodes.Status503ServiceUnavailable, "Service unavailable",
                "the product catalog cannot be reached just now; try again shortly"),
            _ => null,
        };
        if (problem is null)
            return false;
        context.Response.StatusCode = problem.Status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails { Status = problem.Status, Title = problem.Title, Detail = problem.Message },
            Exception = exception,
        });
    }
}
