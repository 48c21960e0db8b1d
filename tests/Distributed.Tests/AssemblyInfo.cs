// Each test class starts a whole cluster (Redis, RabbitMQ, PostgreSQL, an OTLP receiver and five role processes) and
// the fault tests load it hard: two at once on a 2-core machine starve each other's start-up. One class at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
