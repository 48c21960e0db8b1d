using Microsoft.AspNetCore.Builder;
using Platform.Retrieval;

// The retrieval service alone: a silo without accelerators hosting retrieval grains.
var builder = WebApplication.CreateBuilder(args);
builder.AddRetrievalRole();
var app = builder.Build();
app.MapRetrievalRole();
app.Run();
