using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Platform.Gateway;
using Platform.ServiceDefaults;
using Platform.ServiceDefaults.Cluster;

// The gateway alone: the HTTP API as an Orleans client of the cluster named by the Orleans section.
var builder = WebApplication.CreateBuilder(args);
var settings = PlatformSettings.From(builder.Configuration);
builder.AddServiceDefaults();
builder.AddPlatformClient(SiloSettings.From(builder.Configuration));
builder.AddGateway(new GatewayOptions { DataDirectory = settings.DataDirectory, ModelDirectory = settings.RequireModel() });
builder.AddPlatformBus();
builder.Services.AddHostedService<GatewayStartup>();

var app = builder.Build();
app.MapGateway();
app.Run();
