using Microsoft.Extensions.Configuration;
using Platform.ServiceDefaults;

namespace Platform.Services.Tests;

/// <summary>The bus section an operator writes, and how the bus watchdog reads the broker's queues.</summary>
public sealed class BusSettingsTests
{
    private static BusSettings Read(params (string Key, string Value)[] values) =>
        BusSettings.From(new ConfigurationBuilder().AddInMemoryCollection(values.ToDictionary(v => v.Key, v => (string?)v.Value)).Build());

    [Fact]
    public void Defaults_are_the_one_process_bus_with_bounded_waits()
    {
        var settings = Read();
        Assert.False(settings.IsRabbitMq);
        Assert.Equal(TimeSpan.FromSeconds(10), settings.PublishTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), settings.RecoverAfter);
    }

    [Fact]
    public void RabbitMq_settings_are_read()
    {
        var settings = Read(("Bus:Transport", "RabbitMQ"), ("Bus:RabbitMq:Uri", "amqp://u:p@broker:5672/"), ("Bus:RecoverAfterSeconds", "45"),
            ("Bus:PublishTimeoutSeconds", "3"), ("Bus:ConcurrencyPerDevice", "4"));
        Assert.True(settings.IsRabbitMq);
        Assert.Equal(new Uri("amqp://u:p@broker:5672/"), settings.RabbitMqUri);
        Assert.Equal(TimeSpan.FromSeconds(45), settings.RecoverAfter);
        Assert.Equal(TimeSpan.FromSeconds(3), settings.PublishTimeout);
        Assert.Equal(4, settings.ConcurrencyPerDevice);
    }

    [Theory]
    [InlineData("Bus:Transport", "kafka", "Bus:Transport 'kafka' is not known")]
    [InlineData("Bus:RecoverAfterSeconds", "1", "Bus:RecoverAfterSeconds must be in [5, 3600], got 1")]
    [InlineData("Bus:PublishTimeoutSeconds", "0", "Bus:PublishTimeoutSeconds must be in (0, 600]")]
    [InlineData("Bus:ConcurrencyPerDevice", "0", "Bus:ConcurrencyPerDevice must be 1..64")]
    public void Wrong_values_are_refused_naming_the_key(string key, string value, string message)
    {
        var e = Assert.Throws<InvalidOperationException>(() => Read((key, value)));
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData(null, "Bus:RabbitMq:Uri (for example")]
    [InlineData("http://broker/", "is not an amqp:// or amqps:// address")]
    public void RabbitMq_needs_a_broker_address(string? uri, string message)
    {
        var values = new List<(string, string)> { ("Bus:Transport", "rabbitmq") };
        if (uri is not null)
            values.Add(("Bus:RabbitMq:Uri", uri));
        var e = Assert.Throws<InvalidOperationException>(() => Read([.. values]));
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("rabbitmq://127.0.0.1:34567/encode-products", "encode-products")]
    [InlineData("rabbitmq://broker/shop/index-products", "index-products")]
    [InlineData("rabbitmq://broker/RecordEncodeFault", "RecordEncodeFault")]
    [InlineData("rabbitmq://broker/bus-host-platform-abc?temporary=true", null)]
    [InlineData("rabbitmq://broker/bus-host-platform-abc?durable=false&autodelete=true", null)]
    public void The_watchdog_checks_durable_queues_and_not_the_bus_temporary_one(string address, string? queue) =>
        Assert.Equal(queue, EndpointActivity.QueueOf(new Uri(address)));

    [Theory]
    [InlineData("amqp://u:p@broker:5672/", "amqp://u:p@broker:5672/")]
    [InlineData("rabbitmq://u:p@broker/", "amqp://u:p@broker:5672/")]
    [InlineData("rabbitmqs://u:p@broker/", "amqps://u:p@broker:5671/")]
    [InlineData("rabbitmq://broker:5673/", "amqp://broker:5673/")]
    public void The_watchdog_connects_with_the_client_library_scheme(string configured, string connected) =>
        Assert.Equal(new Uri(connected), BusRecovery.AmqpUri(new Uri(configured)));
}
