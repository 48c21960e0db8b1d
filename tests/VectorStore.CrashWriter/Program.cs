using System.Globalization;
using System.Text;
using Platform.VectorStore;
using Platform.VectorStore.CrashWriter;
using Platform.VectorStore.Embedded;

// Usage: crash-writer DIR [--seed N] [--min-batch N] [--max-batch N] [--ops N] [--snapshot-bytes N]
// Opens an embedded store in DIR and writes CrashWorkload.Ops until killed. Before each write it prints
// "begin <index> <kind> <count>"; once the write's task has completed it prints "ack <id>" (upserts) or "del <id>"
// (deletes) for each point and flushes. With --ops it stops after N writes and the sentinel, prints "idle" and waits.
if (args.Length == 0 || args[0].StartsWith("--", StringComparison.Ordinal))
{
    Console.Error.WriteLine("usage: crash-writer DIR [--seed N] [--min-batch N] [--max-batch N] [--ops N] [--snapshot-bytes N]");
    return 2;
}

var directory = args[0];
int seed = 1, minBatch = 1, maxBatch = 20;
int? count = null;
long? snapshotBytes = null;
for (var i = 1; i < args.Length; i += 2)
{
    if (i + 1 >= args.Length)
    {
        Console.Error.WriteLine($"{args[i]} needs a value");
        return 2;
    }
    var value = long.Parse(args[i + 1], CultureInfo.InvariantCulture);
    switch (args[i])
    {
        case "--seed": seed = checked((int)value); break;
        case "--min-batch": minBatch = checked((int)value); break;
        case "--max-batch": maxBatch = checked((int)value); break;
        case "--ops": count = checked((int)value); break;
        case "--snapshot-bytes": snapshotBytes = value; break;
        default:
            Console.Error.WriteLine($"unknown option {args[i]}");
            return 2;
    }
}

var options = new EmbeddedStoreOptions();
if (snapshotBytes is { } bytes)
    options = options with { SnapshotAfterWalBytes = bytes };

// Never disposed: the process ends by being killed.
IVectorStore store = EmbeddedVectorStore.Open(directory, options);
await store.CreateCollectionAsync(CrashWorkload.Collection, CrashWorkload.Schema);

var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = false };
stdout.WriteLine("ready");
stdout.Flush();
foreach (var op in CrashWorkload.Ops(seed, minBatch, maxBatch, count))
{
    if (op.Kind == CrashOpKind.Upsert)
    {
        var points = op.Points.Select(p => CrashWorkload.Point(p.N, p.Version)).ToList();
        stdout.WriteLine($"begin {op.Index} {op.Kind} {op.Points.Count}");
        stdout.Flush();
        await store.UpsertAsync(CrashWorkload.Collection, points);
        foreach (var point in points)
            stdout.WriteLine($"ack {point.Id}");
    }
    else
    {
        var ids = op.Ids;
        stdout.WriteLine($"begin {op.Index} {op.Kind} {op.Points.Count}");
        stdout.Flush();
        await store.DeleteAsync(CrashWorkload.Collection, ids);
        foreach (var id in ids)
            stdout.WriteLine($"del {id}");
    }
    stdout.Flush();
}
stdout.WriteLine("idle");
stdout.Flush();
await Task.Delay(Timeout.Infinite);
return 0;
