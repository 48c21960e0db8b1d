using Microsoft.AspNetCore.Builder;
using Platform.Indexer;

// The indexer service alone: consumes embeddings into the product index.
var builder = WebApplication.CreateBuilder(args);
builder.AddIndexerRole();
var app = builder.Build();
app.MapIndexerRole();
app.Run();
