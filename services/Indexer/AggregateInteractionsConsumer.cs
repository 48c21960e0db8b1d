using MassTransit;
using Platform.Catalog.Behaviour;
using Platform.Contracts;

namespace Platform.Indexer;

/// <summary>
/// Folds shoppers' interactions into the aggregates across shoppers (popularity by day, co-occurrence), in batches:
/// one transaction for up to <see cref="InteractionBatchDefinition.MessageLimit"/> events. Idempotent: the log folds
/// each event once however often it is delivered, and an event whose shopper was forgotten is skipped.
/// </summary>
public sealed class AggregateInteractionsConsumer(IInteractionLog log) : IConsumer<Batch<InteractionRecorded>>
{
    public Task Consume(ConsumeContext<Batch<InteractionRecorded>> context) =>
        log.AggregateAsync([.. context.Message.Select(m => m.Message.Interaction.EventId)], context.CancellationToken);
}

public sealed class InteractionBatchDefinition : ConsumerDefinition<AggregateInteractionsConsumer>
{
    public const int MessageLimit = 100;

    public InteractionBatchDefinition()
    {
        EndpointName = "aggregate-interactions";
        // A batch fills from what the endpoint has prefetched.
        ConcurrentMessageLimit = MessageLimit;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<AggregateInteractionsConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(r => r.Interval(5, TimeSpan.FromMilliseconds(500)));
        consumerConfigurator.Options<BatchOptions>(batch => batch
            .SetMessageLimit(MessageLimit)
            .SetTimeLimit(TimeSpan.FromMilliseconds(200))
            .SetConcurrencyLimit(1));
    }
}
