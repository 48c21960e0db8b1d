using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Platform.Tests;
using Platform.VectorStore.CrashWriter;
using Platform.VectorStore.Embedded;
using Platform.VectorStore.Tests.Behaviour;

namespace Platform.VectorStore.Tests;

/// <summary>
/// Durability of the embedded engine against <c>kill -9</c>: a real writer process (tests/VectorStore.CrashWriter)
/// prints what each completed write acknowledged and is killed mid-stream; the store is then reopened here and must
/// hold every acknowledged write exactly, nothing that was never written, and take new writes. Also: a damaged
/// write-ahead log tail, and snapshots.
/// </summary>
public sealed class CrashTests : IDisposable
{
    private readonly string _root = EmbeddedStores.NewTempDirectory("crash");

    public void Dispose() => EmbeddedStores.DeleteDirectory(_root);

    private static void Log(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);

    /// <summary>A hang guard, not a timing assertion.</summary>
    private static CancellationTokenSource Guard() => new(TimeSpan.FromMinutes(4));

    [Fact]
    public async Task Every_acknowledged_write_survives_kill_9_mid_stream()
    {
        var dir = Path.Combine(_root, "store");
        const int seed = 1;
        using var writer = WriterProcess.Start(dir, "--seed", $"{seed}", "--min-batch", "1", "--max-batch", "20");
        using var guard = Guard();

        await writer.ReadUntilAsync(_ => writer.AckCount >= 337, guard.Token);
        var lines = await writer.KillAsync();

        var outcome = Outcome.Replay(lines, CrashWorkload.Ops(seed, 1, 20));
        Assert.True(outcome.AckedOps > 0);
        await VerifyThenWriteMoreAsync(dir, outcome);
    }

    [Fact]
    public async Task Kill_9_while_a_big_batch_is_in_flight_loses_nothing_acknowledged()
    {
        var dir = Path.Combine(_root, "store");
        const int seed = 2;
        using var writer = WriterProcess.Start(dir, "--seed", $"{seed}", "--min-batch", "1500", "--max-batch", "3000");
        using var guard = Guard();

        // After a few hundred acknowledgements, kill the moment the next big upsert starts.
        await writer.ReadUntilAsync(line => writer.AckCount >= 300 && line.StartsWith("begin ", StringComparison.Ordinal)
            && line.Contains(" Upsert ", StringComparison.Ordinal) && int.Parse(line.Split(' ')[3]) >= 1500, guard.Token);
        var lines = await writer.KillAsync();

        var outcome = Outcome.Replay(lines, CrashWorkload.Ops(seed, 1500, 3000));
        Assert.NotNull(outcome.InFlight);
        await VerifyThenWriteMoreAsync(dir, outcome);
    }

    [Fact]
    public async Task Acknowledged_writes_survive_kill_9_after_snapshots_have_replaced_the_log()
    {
        var dir = Path.Combine(_root, "store");
        const int seed = 3;
        using var writer = WriterProcess.Start(dir, "--seed", $"{seed}", "--min-batch", "1", "--max-batch", "20", "--snapshot-bytes", "16384");
        using var guard = Guard();

        await writer.ReadUntilAsync(_ => writer.AckCount >= 2500, guard.Token);
        var lines = await writer.KillAsync();

        var files = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Select(f => new FileInfo(f)).ToList();
        Log("after the kill: " + string.Join(", ", files.Select(f => $"{Path.GetRelativePath(dir, f.FullName)} ({f.Length} B)")));
        Assert.True(files.Any(f => !f.Name.Contains("wal", StringComparison.OrdinalIgnoreCase) && f.Name != "LOCK" && f.Length > 16384),
            "no file besides the log holds the data: did a snapshot ever happen with SnapshotAfterWalBytes = 16384?");
        var outcome = Outcome.Replay(lines, CrashWorkload.Ops(seed, 1, 20));
        await VerifyThenWriteMoreAsync(dir, outcome, new EmbeddedStoreOptions { SnapshotAfterWalBytes = 16384 });
    }

    [Fact]
    public async Task A_store_reopened_after_a_clean_dispose_has_everything_snapshots_included()
    {
        var dir = Path.Combine(_root, "store");
        var options = new EmbeddedStoreOptions { SnapshotAfterWalBytes = 8192 };
        var ops = CrashWorkload.Ops(4, 1, 20).Take(400).ToList();
        var model = new Dictionary<string, int>();
        var rng = new Random(4);
        var queries = Enumerable.Range(0, 10).Select(_ => Behaviour.VectorMath.Gaussian(rng, 16)).ToList();
        List<IReadOnlyList<ScoredPoint>> before = [];

        using (var store = EmbeddedVectorStore.Open(dir, options))
        {
            await store.CreateCollectionAsync(CrashWorkload.Collection, CrashWorkload.Schema);
            foreach (var op in ops.Take(300))
                await ApplyAsync(store, op, model);
            foreach (var q in queries)
                before.Add(await store.SearchAsync(CrashWorkload.Collection, new SearchRequest("a", q, 10) { Exact = true }));
        }

        using (var store = EmbeddedVectorStore.Open(dir, options))
        {
            await VerifyExactAsync(store, model);
            for (var i = 0; i < queries.Count; i++)
            {
                var after = await store.SearchAsync(CrashWorkload.Collection, new SearchRequest("a", queries[i], 10) { Exact = true });
                Assert.Equal(before[i].Select(h => h.Id), after.Select(h => h.Id));
                Assert.Equal(before[i].Select(h => h.Score), after.Select(h => h.Score));
            }
            foreach (var op in ops.Skip(300))
                await ApplyAsync(store, op, model);
        }

        // And once more with default options (no snapshot until 64 MiB of log).
        using (var store = EmbeddedVectorStore.Open(dir))
            await VerifyExactAsync(store, model);
    }

    public static TheoryData<string> TornTails => ["truncate 1 byte", "truncate 20 bytes", "flip the last byte", "flip a byte 20 from the end"];

    [Theory]
    [MemberData(nameof(TornTails))]
    public async Task A_torn_log_tail_drops_only_the_last_record_and_keeps_every_earlier_one(string damage)
    {
        var (pristine, damaged, model) = await WriteQuietLogAsync(seed: 5);
        var wal = FindWal(damaged);
        var bytes = File.ReadAllBytes(wal);
        switch (damage)
        {
            case "truncate 1 byte": bytes = bytes[..^1]; break;
            case "truncate 20 bytes": bytes = bytes[..^20]; break;
            case "flip the last byte": bytes[^1] ^= 0xFF; break;
            default: bytes[^20] ^= 0x5A; break;
        }
        File.WriteAllBytes(wal, bytes);

        // The undamaged copy holds everything, sentinel included; the damaged one all but the sentinel.
        using (var store = EmbeddedVectorStore.Open(pristine))
            await VerifyExactAsync(store, model);
        var withoutSentinel = new Dictionary<string, int>(model);
        Assert.True(withoutSentinel.Remove(CrashWorkload.IdOf(CrashWorkload.SentinelN)));
        await VerifyReopensAndTakesWritesAsync(damaged, withoutSentinel);
    }

    public static TheoryData<string> Garbage => ["4096 zero bytes", "100 random bytes", "a header promising more than there is"];

    [Theory]
    [MemberData(nameof(Garbage))]
    public async Task Garbage_after_the_last_record_loses_nothing(string garbage)
    {
        var (_, damaged, model) = await WriteQuietLogAsync(seed: 6);
        var wal = FindWal(damaged);
        byte[] tail = garbage switch
        {
            "4096 zero bytes" => new byte[4096],
            "100 random bytes" => [.. Enumerable.Range(0, 100).Select(i => (byte)(i * 37 + 11))],
            _ => [0x00, 0x10, 0x00, 0x00, 0xDE, 0xAD, 0xBE, 0xEF, 1, 2, 3],
        };
        using (var file = new FileStream(wal, FileMode.Append))
            file.Write(tail);

        await VerifyReopensAndTakesWritesAsync(damaged, model);
    }

    // ---- workload, verification ----

    /// <summary>
    /// Runs the writer for a fixed workload ending in the sentinel, kills it once idle (nothing in flight), and copies
    /// the store: one copy to damage, one to compare. Returns the exact content both should have.
    /// </summary>
    private async Task<(string Pristine, string Damaged, Dictionary<string, int> Model)> WriteQuietLogAsync(int seed)
    {
        var dir = Path.Combine(_root, "written");
        using (var writer = WriterProcess.Start(dir, "--seed", $"{seed}", "--min-batch", "1", "--max-batch", "5", "--ops", "150"))
        {
            using var guard = Guard();
            await writer.ReadUntilAsync(line => line == "idle", guard.Token);
            var lines = await writer.KillAsync();
            var outcome = Outcome.Replay(lines, CrashWorkload.Ops(seed, 1, 5, 150));
            Assert.Null(outcome.InFlight);
            Assert.Equal(151, outcome.AckedOps);
            var pristine = Path.Combine(_root, "pristine");
            var damaged = Path.Combine(_root, "damaged");
            CopyDirectory(dir, pristine);
            CopyDirectory(dir, damaged);
            return (pristine, damaged, outcome.Acked);
        }
    }

    /// <summary>The collection's write-ahead log: the most recently written file named like *wal*.</summary>
    private static string FindWal(string storeDirectory)
    {
        var logs = Directory.EnumerateFiles(storeDirectory, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f).Contains("wal", StringComparison.OrdinalIgnoreCase))
            .Select(f => new FileInfo(f))
            .OrderByDescending(f => f.LastWriteTimeUtc).ThenByDescending(f => f.Length)
            .ToList();
        Assert.True(logs.Count > 0, $"no *wal* file under {storeDirectory}: {string.Join(", ", Directory.EnumerateFiles(storeDirectory, "*", SearchOption.AllDirectories))}");
        Assert.True(logs[0].Length > 100, $"{logs[0].FullName} holds only {logs[0].Length} bytes; expected the whole workload in it");
        Log($"damaging {Path.GetRelativePath(storeDirectory, logs[0].FullName)} ({logs[0].Length} B)");
        return logs[0].FullName;
    }

    /// <summary>Reopens a damaged store: exactly <paramref name="model"/>; a new write; reopened again, still all there.</summary>
    private static async Task VerifyReopensAndTakesWritesAsync(string dir, Dictionary<string, int> model)
    {
        using (var store = EmbeddedVectorStore.Open(dir))
        {
            await VerifyExactAsync(store, model);
            await ApplyAsync(store, new CrashOp(-1, CrashOpKind.Upsert, [(77_000_000, 0), (77_000_001, 0)]), model);
        }
        // The new records went after the last good one, not after the garbage: they are there on the next open.
        using (var store = EmbeddedVectorStore.Open(dir))
            await VerifyExactAsync(store, model);
    }

    /// <summary>Reopens a killed writer's store, checks it against the transcript, writes more, reopens and checks again.</summary>
    private static async Task VerifyThenWriteMoreAsync(string dir, Outcome outcome, EmbeddedStoreOptions? options = null)
    {
        Dictionary<string, int> model;
        using (var store = EmbeddedVectorStore.Open(dir, options))
        {
            model = await VerifyAgainstTranscriptAsync(store, outcome);

            // New writes: new points, a replace and a delete of recovered points.
            var recovered = model.Keys.Order(StringComparer.Ordinal).ToList();
            var replaced = recovered[recovered.Count / 2];
            Assert.True(CrashWorkload.TryParseId(replaced, out var replacedN));
            await ApplyAsync(store, new CrashOp(-1, CrashOpKind.Upsert, [(88_000_000, 0), (88_000_001, 0), (replacedN, 1000)]), model);
            Assert.True(CrashWorkload.TryParseId(recovered[0], out var deletedN));
            await ApplyAsync(store, new CrashOp(-1, CrashOpKind.Delete, [(deletedN, -1)]), model);
            await VerifyExactAsync(store, model);
        }
        using (var store = EmbeddedVectorStore.Open(dir, options))
            await VerifyExactAsync(store, model);
    }

    private static async Task ApplyAsync(IVectorStore store, CrashOp op, Dictionary<string, int> model)
    {
        if (op.Kind == CrashOpKind.Upsert)
        {
            await store.UpsertAsync(CrashWorkload.Collection, [.. op.Points.Select(p => CrashWorkload.Point(p.N, p.Version))]);
            foreach (var (n, version) in op.Points)
                model[CrashWorkload.IdOf(n)] = version;
        }
        else
        {
            await store.DeleteAsync(CrashWorkload.Collection, op.Ids);
            foreach (var id in op.Ids)
                model.Remove(id);
        }
    }

    /// <summary>Every point in the store, by id, with vectors; no id twice.</summary>
    private static async Task<Dictionary<string, VectorPoint>> ReadAllAsync(IVectorStore store)
    {
        var all = new Dictionary<string, VectorPoint>(StringComparer.Ordinal);
        string? offset = null;
        do
        {
            var page = await store.ScrollAsync(CrashWorkload.Collection, new ScrollRequest(1000) { Offset = offset, WithVectors = true });
            foreach (var point in page.Points)
                Assert.True(all.TryAdd(point.Id, point), $"scroll returned {point.Id} twice");
            offset = page.NextOffset;
        }
        while (offset is not null);
        Assert.Equal(all.Count, await store.CountAsync(CrashWorkload.Collection));
        return all;
    }

    /// <summary>The point's version, after checking it is exactly what the workload writes at that version.</summary>
    private static int VersionOf(VectorPoint point)
    {
        Assert.True(CrashWorkload.TryParseId(point.Id, out var n), $"garbage: a point with id '{point.Id}' that was never written");
        var version = (int?)JsonNode.Parse(point.Payload)?["v"];
        Assert.True(version is not null, $"garbage: point {point.Id} has payload {point.Payload}");
        var expected = CrashWorkload.Point(n, version.Value);
        Assert.True(expected.Vectors.Keys.Order(StringComparer.Ordinal).SequenceEqual(point.Vectors.Keys.Order(StringComparer.Ordinal)),
            $"garbage: {point.Id} v{version} has vectors [{string.Join(", ", point.Vectors.Keys)}], expected [{string.Join(", ", expected.Vectors.Keys)}]");
        foreach (var (name, vector) in expected.Vectors)
            Assert.True(vector.AsSpan().SequenceEqual(point.Vectors[name]), $"garbage: {point.Id} v{version} vector '{name}' differs from what was written");
        Payloads.AssertSame(expected.Payload, point.Payload, $"{point.Id} v{version}");
        return version.Value;
    }

    private static async Task VerifyExactAsync(IVectorStore store, Dictionary<string, int> model)
    {
        var all = await ReadAllAsync(store);
        var missing = model.Keys.Where(id => !all.ContainsKey(id)).Take(10).ToList();
        Assert.True(missing.Count == 0, $"{model.Count - all.Count(kv => model.ContainsKey(kv.Key))} points are missing, among them {string.Join(", ", missing)}");
        foreach (var point in all.Values)
        {
            Assert.True(model.TryGetValue(point.Id, out var want), $"{point.Id} is there but should not be (deleted, or never written)");
            Assert.Equal(want, VersionOf(point));
        }
        await AssertSearchableAsync(store, all);
    }

    /// <summary>
    /// Checks the store against what the transcript acknowledged: every acknowledged write there, and the one write in
    /// flight (if any) either applied or not, point by point. Returns what the store holds (id → version).
    /// </summary>
    private static async Task<Dictionary<string, int>> VerifyAgainstTranscriptAsync(IVectorStore store, Outcome outcome)
    {
        var all = await ReadAllAsync(store);
        var held = new Dictionary<string, int>();
        foreach (var point in all.Values)
            held[point.Id] = VersionOf(point);

        var ids = outcome.Acked.Keys.Concat(held.Keys).Concat(outcome.InFlight?.Keys ?? Enumerable.Empty<string>()).ToHashSet();
        foreach (var id in ids)
        {
            int? acked = outcome.Acked.TryGetValue(id, out var v) ? v : null;
            int? now = held.TryGetValue(id, out var h) ? h : null;
            if (now == acked)
                continue;
            Assert.True(outcome.InFlight is not null && outcome.InFlight.TryGetValue(id, out var inFlight) && inFlight == now,
                now is null
                    ? $"acknowledged point {id} (version {acked}) is missing after the kill"
                    : acked is null
                        ? $"{id} version {now} is there although no write of it was acknowledged or in flight"
                        : $"{id} is at version {now}, but version {acked} was acknowledged last");
        }

        if (outcome.InFlight is { } flight)
        {
            var applied = flight.Count(kv => (held.TryGetValue(kv.Key, out var x) ? x : (int?)null) == kv.Value);
            var unchanged = flight.Count(kv => (held.TryGetValue(kv.Key, out var x) ? x : (int?)null) == (outcome.Acked.TryGetValue(kv.Key, out var y) ? y : (int?)null));
            Log($"in flight at the kill: write {outcome.InFlightOp!.Index}, {outcome.InFlightOp.Kind} of {flight.Count} points → {applied} of {flight.Count} points applied ({(applied == flight.Count ? "all" : unchanged == flight.Count ? "none" : "PARTIAL")})");
        }
        Log($"{outcome.AckedOps} writes acknowledged, {outcome.Acked.Count} points live, {held.Count} held after reopening");
        await AssertSearchableAsync(store, all);
        return held;
    }

    /// <summary>Recovered points are found by search too: each of a sample, by its own Euclid vector, exactly and approximately.</summary>
    private static async Task AssertSearchableAsync(IVectorStore store, Dictionary<string, VectorPoint> all)
    {
        var sample = all.Values.Where(p => p.Vectors.ContainsKey("b")).OrderBy(p => p.Id, StringComparer.Ordinal).Where((_, i) => i % 37 == 0).Take(25);
        foreach (var point in sample)
        {
            foreach (var exact in new[] { true, false })
            {
                var hit = (await store.SearchAsync(CrashWorkload.Collection, new SearchRequest("b", point.Vectors["b"], 1) { Exact = exact, WithPayload = false })).FirstOrDefault();
                Assert.True(hit?.Id == point.Id && hit.Score == 0, $"searching {point.Id}'s own vector ({(exact ? "exact" : "approximate")}) found {hit?.Id} at {hit?.Score}");
            }
        }
        var got = await store.GetAsync(CrashWorkload.Collection, [.. all.Keys.Take(200)], withVectors: true);
        Assert.Equal(all.Keys.Take(200), got.Select(p => p.Id));
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    /// <summary>What a writer's transcript says: the state after its acknowledged writes, and the one write it may have had in flight.</summary>
    private sealed record Outcome(Dictionary<string, int> Acked, int AckedOps, CrashOp? InFlightOp, Dictionary<string, int?>? InFlight)
    {
        public static Outcome Replay(IReadOnlyList<string> lines, IEnumerable<CrashOp> workload)
        {
            var acks = new Dictionary<int, List<string>>();
            var lastBegun = -1;
            foreach (var line in lines)
            {
                var parts = line.Split(' ');
                switch (parts[0])
                {
                    case "begin":
                        var index = int.Parse(parts[1]);
                        Assert.True(index == lastBegun + 1, $"the transcript skips from write {lastBegun} to {index}");
                        lastBegun = index;
                        acks[index] = [];
                        break;
                    case "ack" or "del":
                        Assert.True(lastBegun >= 0, $"'{line}' before any write began");
                        acks[lastBegun].Add(line);
                        break;
                    case "ready" or "idle" or "":
                        break;
                    default:
                        Assert.Fail($"unexpected line from the writer: '{line}'");
                        break;
                }
            }

            var state = new Dictionary<string, int>();
            var ackedOps = 0;
            CrashOp? inFlightOp = null;
            Dictionary<string, int?>? inFlight = null;
            foreach (var op in workload)
            {
                if (op.Index > lastBegun)
                    break;
                var expectedLines = op.Points.Select(p => $"{(op.Kind == CrashOpKind.Upsert ? "ack" : "del")} {CrashWorkload.IdOf(p.N)}").ToList();
                var printed = acks[op.Index];
                if (printed.Count == 0)
                {
                    // Begun, never acknowledged: only the last write can be so.
                    Assert.True(op.Index == lastBegun, $"write {op.Index} was never acknowledged but later ones began");
                    inFlightOp = op;
                    inFlight = op.Points.ToDictionary(p => CrashWorkload.IdOf(p.N), p => op.Kind == CrashOpKind.Upsert ? p.Version : (int?)null);
                    break;
                }
                // Killed while printing: the write had completed, its acknowledgement is partly out.
                Assert.True(printed.SequenceEqual(expectedLines.Take(printed.Count)), $"write {op.Index} acknowledged {string.Join("; ", printed)}, the workload says {string.Join("; ", expectedLines)}");
                Assert.True(printed.Count == expectedLines.Count || op.Index == lastBegun, $"write {op.Index} was acknowledged only in part, yet later writes began");
                foreach (var (n, version) in op.Points)
                {
                    if (op.Kind == CrashOpKind.Upsert)
                        state[CrashWorkload.IdOf(n)] = version;
                    else
                        state.Remove(CrashWorkload.IdOf(n));
                }
                ackedOps++;
            }
            return new Outcome(state, ackedOps, inFlightOp, inFlight);
        }
    }

    /// <summary>The crash writer as a child process: <c>dotnet Platform.VectorStore.CrashWriter.dll DIR ...</c>.</summary>
    private sealed class WriterProcess : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _stderr = new();
        private readonly List<string> _lines = [];

        private WriterProcess(Process process)
        {
            _process = process;
            process.ErrorDataReceived += (_, e) =>
            {
                lock (_stderr)
                    _stderr.AppendLine(e.Data);
            };
            process.BeginErrorReadLine();
        }

        public int AckCount { get; private set; }

        private string Stderr
        {
            get
            {
                lock (_stderr)
                    return _stderr.ToString();
            }
        }

        /// <summary>tests/VectorStore.CrashWriter/bin/CONFIG/net10.0/, CONFIG as this test binary's (the test project builds it first).</summary>
        private static string WriterPath
        {
            get
            {
                var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // .../bin/Release/net10.0/
                var path = RepoPaths.InRepo("tests", "VectorStore.CrashWriter", "bin", configuration, "net10.0", "Platform.VectorStore.CrashWriter.dll");
                return File.Exists(path) ? path : throw new FileNotFoundException($"build the crash writer first: {path} is missing");
            }
        }

        public static WriterProcess Start(string directory, params string[] args)
        {
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                StandardOutputEncoding = Encoding.UTF8,
            };
            foreach (var arg in (string[])[WriterPath, directory, .. args])
                start.ArgumentList.Add(arg);
            return new WriterProcess(Process.Start(start)!);
        }

        /// <summary>Reads lines until one satisfies <paramref name="stop"/> (checked after counting it).</summary>
        public async Task ReadUntilAsync(Func<string, bool> stop, CancellationToken cancellationToken)
        {
            while (true)
            {
                string? line;
                try
                {
                    line = await _process.StandardOutput.ReadLineAsync(cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    Assert.Fail($"the crash writer made no progress in time ({AckCount} acks so far); its stderr: {Stderr}");
                    throw;
                }
                if (line is null)
                {
                    await _process.WaitForExitAsync(CancellationToken.None);
                    Assert.Fail($"the crash writer exited ({_process.ExitCode}) after {AckCount} acks; its stderr: {Stderr}");
                }
                Record(line);
                if (stop(line))
                    return;
            }
        }

        private void Record(string line)
        {
            _lines.Add(line);
            if (line.StartsWith("ack ", StringComparison.Ordinal) || line.StartsWith("del ", StringComparison.Ordinal))
                AckCount++;
        }

        /// <summary>SIGKILL, then every line it had printed (a line in the pipe was printed, so acknowledged).</summary>
        public async Task<List<string>> KillAsync()
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
            while (await _process.StandardOutput.ReadLineAsync() is { } line)
                Record(line);
            Log($"killed the writer after {AckCount} acknowledgements ({_lines.Count} lines)");
            return _lines;
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }
            _process.Dispose();
        }
    }
}
