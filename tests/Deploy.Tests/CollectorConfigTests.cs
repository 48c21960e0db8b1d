using Platform.Deploy.Tests.Support;
using Platform.Tests;

namespace Platform.Deploy.Tests;

/// <summary>deploy/otel-collector.yaml: receivers other containers can reach, and pipelines that name only defined parts.</summary>
public sealed class CollectorConfigTests
{
    private static readonly Y Config = Y.Document(File.ReadAllText(RepoPaths.InRepo("deploy", "otel-collector.yaml")), "otel-collector.yaml");

    [Fact]
    public void Otlp_receivers_listen_on_every_interface_for_grpc_and_http()
    {
        var protocols = Config["receivers"]["otlp"]["protocols"];
        // The collector's default since v0.104 is localhost, which other containers cannot reach.
        Assert.Equal("0.0.0.0:4317", protocols["grpc"]["endpoint"].Str);
        Assert.Equal("0.0.0.0:4318", protocols["http"]["endpoint"].Str);
    }

    [Fact]
    public void Pipelines_for_traces_metrics_and_logs_batch_and_name_only_defined_components()
    {
        var pipelines = Config["service"]["pipelines"];
        Assert.Equal(["logs", "metrics", "traces"], pipelines.Keys.Order());
        foreach (var (name, pipeline) in pipelines.Entries)
        {
            foreach (var (section, kind) in new[] { ("receivers", "receivers"), ("processors", "processors"), ("exporters", "exporters") })
            {
                var used = pipeline[section].Items.Select(i => i.Required).ToList();
                Assert.NotEmpty(used);
                Assert.All(used, u => Assert.True(Config[kind][u].IsMapping || Config[kind].Keys.Contains(u), $"pipeline {name} uses {u}, which {kind} does not define"));
            }
            var processors = pipeline["processors"].Items.Select(i => i.Required).ToList();
            Assert.Equal("batch", processors[^1]);   // batch last, after the memory limiter
            Assert.Contains("debug", pipeline["exporters"].Items.Select(i => i.Str));
        }
        Assert.All(Config["service"]["extensions"].Items, e => Assert.Contains(e.Required, Config["extensions"].Keys));
    }

    [Fact]
    public void A_backend_exporter_is_there_to_uncomment()
    {
        var text = File.ReadAllText(RepoPaths.InRepo("deploy", "otel-collector.yaml"));
        Assert.Contains("# otlp/backend:", text);
        Assert.False(Config["exporters"]["otlp/backend"].Exists, "the placeholder backend exporter is live");
    }
}
