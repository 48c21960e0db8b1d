using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Platform.Indexer;
using Platform.Inference;
using Platform.ServiceDefaults;

// The indexer service alone: consumes embeddings into the product index.
var builder = WebApplication.CreateBuilder(args);
var settings = PlatformSettings.From(builder.Configuration);
builder.AddServiceDefaults();
builder.AddIndexerService(new IndexerServiceOptions(settings.DataDirectory, ModelPackage.Load(settings.RequireModel()).EmbeddingDim));
builder.AddPlatformBus(bus => bus.AddIndexerConsumers());

var app = builder.Build();
await app.Services.GetRequiredService<IndexStartup>().RunAsync(CancellationToken.None);
app.MapDefaultEndpoints();
app.Run();
