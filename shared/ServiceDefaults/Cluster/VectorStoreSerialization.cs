using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Platform.VectorStore;

namespace Platform.ServiceDefaults.Cluster;

/// <summary>
/// How the vector store's own types (records with no Orleans attributes: the store knows nothing of Orleans) cross
/// grain calls: as JSON, filter conditions tagged with their type. Every silo and client registers it, since a silo
/// that is only a client's gateway reads the messages it forwards too.
/// </summary>
public static class VectorStoreJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.General)
    {
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { TagConditions } },
    };

    private static readonly Type[] ConditionTypes = typeof(Condition).Assembly.GetTypes()
        .Where(t => t.IsSubclassOf(typeof(Condition)) && !t.IsAbstract)
        .OrderBy(t => t.Name, StringComparer.Ordinal)
        .ToArray();

    private static void TagConditions(JsonTypeInfo info)
    {
        if (info.Type != typeof(Condition))
            return;
        info.PolymorphismOptions = new JsonPolymorphismOptions { TypeDiscriminatorPropertyName = "$condition" };
        foreach (var type in ConditionTypes)
            info.PolymorphismOptions.DerivedTypes.Add(new JsonDerivedType(type, type.Name));
    }

    /// <summary>Lets this process's silo or client pass the store's types in grain calls.</summary>
    public static IServiceCollection AddVectorStoreSerialization(this IServiceCollection services)
    {
        services.AddSerializer(serializer => serializer.AddJsonSerializer(
            isSupported: type => type.Namespace == typeof(IVectorStore).Namespace,
            jsonSerializerOptions: Options));
        return services;
    }
}
