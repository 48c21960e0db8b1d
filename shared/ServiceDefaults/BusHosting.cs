using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Platform.ServiceDefaults;

/// <summary>
/// The message bus, with the transport named by configuration (<c>Bus:Transport</c>; <c>in-memory</c> by default,
/// the one-process mode). Each service adds its own consumers through <paramref name="consumers"/>; one call per host.
/// </summary>
public static class BusHostingExtensions
{
    public static IHostApplicationBuilder AddPlatformBus(this IHostApplicationBuilder builder, params Action<IBusRegistrationConfigurator>[] consumers)
    {
        var transport = builder.Configuration["Bus:Transport"] ?? "in-memory";
        if (!string.Equals(transport, "in-memory", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"Bus:Transport '{transport}' is not supported by this build; use 'in-memory'.");

        builder.Services.AddMassTransit(bus =>
        {
            foreach (var add in consumers)
                add(bus);
            bus.UsingInMemory((context, cfg) => cfg.ConfigureEndpoints(context));
        });
        return builder;
    }
}
