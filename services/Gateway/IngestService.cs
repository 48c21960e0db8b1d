using MassTransit;
using Platform.Catalog;
using Platform.Contracts;
using Platform.Inference;

namespace Platform.Gateway;

/// <summary>The result of an ingest: the product's id and where it stands.</summary>
public sealed record IngestReceipt(string Id, ProductStatus Status, string ContentHash);

/// <summary>
/// Accepts a product: validates its fields and decodes its image (so bad input is refused at once, before anything
/// is stored), records it durably in the catalog, then hands it to the encoders over the bus.
/// </summary>
public sealed class IngestService(ProductCatalog catalog, EncoderHost encoders, IPublishEndpoint bus)
{
    public async Task<IngestReceipt> IngestAsync(ProductInfo product, byte[] image, CancellationToken cancellationToken = default)
    {
        product = ProductValidation.Validate(product);
        // A full decode, not just the header: a truncated file must fail here, not later in the encoder.
        encoders.Preprocessor.Preprocess(image, new float[encoders.Preprocessor.TensorLength]);

        var hash = ProductCatalog.ComputeContentHash(product, image);
        if (catalog.RecordIngest(product, image, hash) == IngestOutcome.Unchanged)
            return new IngestReceipt(product.Id, catalog.Get(product.Id)!.Status, hash);
        await bus.Publish(new IngestProduct(product, image, hash), cancellationToken);
        return new IngestReceipt(product.Id, ProductStatus.Pending, hash);
    }
}
