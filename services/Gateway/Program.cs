using Microsoft.AspNetCore.Builder;
using Platform.Gateway;

// The gateway alone: the HTTP API as an Orleans client of the cluster named by the Orleans section.
var builder = WebApplication.CreateBuilder(args);
builder.AddGatewayRole();
var app = builder.Build();
app.MapGateway();
app.Run();
