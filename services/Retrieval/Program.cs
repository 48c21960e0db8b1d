using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Platform.Inference;
using Platform.Retrieval;
using Platform.Search;
using Platform.ServiceDefaults;
using Platform.ServiceDefaults.Cluster;

// The retrieval service alone: a silo without accelerators hosting retrieval grains. Its lexical index is rebuilt
// from the store at start (it is held in memory until lexical terms move into the store).
var builder = WebApplication.CreateBuilder(args);
var settings = PlatformSettings.From(builder.Configuration);
builder.AddServiceDefaults();
builder.AddPlatformSilo(SiloSettings.From(builder.Configuration) with { Accelerators = [] });
builder.AddRetrievalService(new RetrievalServiceOptions(settings.DataDirectory, ModelPackage.Load(settings.RequireModel()).EmbeddingDim));

var app = builder.Build();
await app.Services.GetRequiredService<ProductIndex>().RebuildLexicalAsync();
app.MapDefaultEndpoints();
app.Run();
