using Microsoft.AspNetCore.Builder;
using Platform.Encoder;

// The encoder service alone: a silo advertising its devices, hosting their encoder grains, consuming ingest work.
var builder = WebApplication.CreateBuilder(args);
builder.AddEncoderRole();
var app = builder.Build();
app.MapEncoderRole();
app.Run();
