using Microsoft.AspNetCore.Builder;
using Platform.Encoder;
using Platform.ServiceDefaults;
using Platform.ServiceDefaults.Cluster;

// The encoder service alone: a silo advertising its devices, hosting their encoder grains, consuming ingest work.
var builder = WebApplication.CreateBuilder(args);
var settings = PlatformSettings.From(builder.Configuration);
builder.AddServiceDefaults();
builder.AddPlatformSilo(SiloSettings.From(builder.Configuration) with { Accelerators = settings.Devices });
builder.AddEncoderService(new EncoderServiceOptions
{
    ModelDirectory = settings.RequireModel(),
    DataDirectory = settings.DataDirectory,
    Devices = settings.Devices,
    Batching = EncoderServiceOptions.BatchingFrom(builder.Configuration),
});
builder.AddPlatformBus(bus => bus.AddEncoderConsumers());

var app = builder.Build();
app.MapDefaultEndpoints();
app.Run();
