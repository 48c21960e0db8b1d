using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Platform.Inference.Onnx;
using Platform.ServiceDefaults;
using Platform.ServiceDefaults.Cluster;

namespace Platform.Encoder;

/// <summary>The encoder as a process of its own (its Program.cs, or <c>platform serve --role encoder</c>), from configuration.</summary>
public static class EncoderRole
{
    /// <summary>
    /// A silo advertising this process's devices (<c>Platform:Devices</c>), hosting their encoder grains, and consuming
    /// the ingest queue it shares with the other encoder processes.
    /// </summary>
    public static WebApplicationBuilder AddEncoderRole(this WebApplicationBuilder builder)
    {
        var settings = PlatformSettings.From(builder.Configuration);
        builder.AddServiceDefaults("encoder");
        builder.AddPlatformSilo(SiloSettings.From(builder.Configuration) with
        {
            Accelerators = settings.Devices,
            GrainAssemblies = [typeof(EncoderGrain).Assembly],
        });
        builder.AddEncoderService(new EncoderServiceOptions
        {
            ModelDirectory = settings.RequireModel(),
            DataDirectory = settings.DataDirectory,
            Devices = settings.Devices,
            Inference = InferenceOptions.Default with
            {
                IntraOpThreads = builder.Configuration.GetValue("Encoder:IntraOpThreads", InferenceOptions.Default.IntraOpThreads),
            },
            Batching = EncoderServiceOptions.BatchingFrom(builder.Configuration),
        });
        builder.AddPlatformBus(bus => bus.AddEncoderConsumers());
        return builder;
    }

    public static WebApplication MapEncoderRole(this WebApplication app)
    {
        app.MapDefaultEndpoints();
        app.MapPlatformDashboard();
        return app;
    }
}
