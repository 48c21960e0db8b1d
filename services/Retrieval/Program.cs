using Microsoft.AspNetCore.Builder;
using Platform.Inference;
using Platform.Retrieval;
using Platform.ServiceDefaults;
using Platform.ServiceDefaults.Cluster;

// The retrieval service alone: a silo without accelerators hosting retrieval grains. Lexical search is the vector
// store's sparse search, so there is nothing to rebuild at start.
var builder = WebApplication.CreateBuilder(args);
var settings = PlatformSettings.From(builder.Configuration);
builder.AddServiceDefaults();
builder.AddPlatformSilo(SiloSettings.From(builder.Configuration) with { Accelerators = [] });
builder.AddRetrievalService(new RetrievalServiceOptions(settings.DataDirectory, ModelPackage.Load(settings.RequireModel()).EmbeddingDim));

var app = builder.Build();
app.MapDefaultEndpoints();
app.Run();
