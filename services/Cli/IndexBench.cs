using System.Buffers.Binary;
using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Platform.VectorStore;
using Platform.VectorStore.Embedded;

namespace Platform.Cli;

/// <summary>
/// <c>platform bench index</c>: builds the embedded HNSW index over a base set of vectors, answers a query set one
/// query per call, and reports build time, queries per second, recall@k against exact search, and memory.
/// </summary>
public static class IndexBench
{
    public static Command Create()
    {
        var baseFile = new Option<FileInfo>("--base") { Description = "Base vectors (.fvecs)", Required = true };
        var queryFile = new Option<FileInfo>("--queries") { Description = "Query vectors (.fvecs)", Required = true };
        var k = new Option<int>("--k") { Description = "Neighbours per query", DefaultValueFactory = _ => 10 };
        var m = new Option<int>("--m") { Description = "HNSW links per node (2M on layer 0)", DefaultValueFactory = _ => 16 };
        var efConstruction = new Option<int>("--ef-construction") { Description = "HNSW breadth while building", DefaultValueFactory = _ => 200 };
        var efSearch = new Option<int[]>("--ef-search") { Description = "HNSW breadth while searching (repeatable)", DefaultValueFactory = _ => [64], AllowMultipleArgumentsPerToken = true };
        var threads = new Option<int>("--threads") { Description = "Threads answering queries (the build is single-writer)", DefaultValueFactory = _ => 1 };
        var metric = new Option<string>("--metric") { Description = "l2, ip (inner product) or cosine", DefaultValueFactory = _ => "l2" };
        var limit = new Option<int>("--limit") { Description = "Use only the first N base vectors (0: all)" };
        var json = new Option<bool>("--json") { Description = "One JSON line per ef_search" };
        var quantize = new Option<string>("--quantize") { Description = "none, or sq8: walk the graph on int8 codes and rescore with the floats", DefaultValueFactory = _ => "none" };
        var rescore = new Option<int[]>("--rescore") { Description = "sq8: candidates rescored with exact float distances (0: all ef; repeatable)", DefaultValueFactory = _ => [0], AllowMultipleArgumentsPerToken = true };
        var sq8Kernel = new Option<string[]>("--sq8-kernel") { Description = "sq8: asym (float query to codes) or int (query encoded, integer code to code; one scale for all dimensions); repeatable", DefaultValueFactory = _ => ["asym"], AllowMultipleArgumentsPerToken = true };
        var repeat = new Option<int>("--repeat") { Description = "Timed passes per setting; qps is their median", DefaultValueFactory = _ => 1 };
        var sq8Train = new Option<int>("--sq8-train") { Description = "sq8: learn the quantiser from the first N base vectors (0: all)" };
        var sq8Build = new Option<string>("--sq8-build") { Description = "sq8: build the graph on float (quantise after) or codes (quantise first)", DefaultValueFactory = _ => "float" };
        var sq8Clip = new Option<double>("--sq8-clip") { Description = "sq8: fraction of each dimension's values clamped at each end", DefaultValueFactory = _ => 0.001 };
        var cpu = new Option<bool>("--cpu") { Description = "Also report qps_cpu (queries per second of process CPU time; steadier on a shared machine)" };
        var command = new Command("index", "Build an HNSW index over --base, answer --queries, report build time, QPS, recall@k and memory")
        {
            baseFile, queryFile, k, m, efConstruction, efSearch, threads, metric, limit, json, quantize, rescore, sq8Train, sq8Build, sq8Clip, sq8Kernel, cpu, repeat,
        };
        command.SetAction(result =>
        {
            var distance = result.GetValue(metric) switch
            {
                "l2" => Distance.Euclid,
                "ip" => Distance.Dot,
                "cosine" => Distance.Cosine,
                var other => throw new ArgumentException($"--metric must be l2, ip or cosine, not '{other}'"),
            };
            var sq8 = result.GetValue(quantize) switch
            {
                "none" => null,
                "sq8" => new Sq8Options(result.GetValue(sq8Train), result.GetValue(sq8Build) switch
                {
                    "float" => false,
                    "codes" => true,
                    var other => throw new ArgumentException($"--sq8-build must be float or codes, not '{other}'"),
                }, result.GetValue(rescore)!, result.GetValue(sq8Clip), [.. result.GetValue(sq8Kernel)!.Select(x => x switch
                {
                    "asym" => false,
                    "int" => true,
                    var other => throw new ArgumentException($"--sq8-kernel must be asym or int, not '{other}'"),
                })]),
                var other => throw new ArgumentException($"--quantize must be none or sq8, not '{other}'"),
            };
            var options = new Options(result.GetValue(k), result.GetValue(m), result.GetValue(efConstruction),
                result.GetValue(threads), distance, result.GetValue(limit), sq8, result.GetValue(cpu), result.GetValue(repeat));
            var asJson = result.GetValue(json);
            foreach (var report in Run(result.GetValue(baseFile)!.FullName, result.GetValue(queryFile)!.FullName, options,
                         result.GetValue(efSearch)!, asJson ? null : Console.Error))
            {
                Console.WriteLine(asJson
                    ? JsonSerializer.Serialize(report, ReportJson)
                    : $"ef_search {report.ef_search}: recall@{report.k} {report.recall_at_k:F4}  {report.qps:F0} queries/s  " +
                      $"build {report.build_seconds:F1} s  memory {report.memory_bytes / 1048576.0:F1} MiB");
            }
            return 0;
        });
        return command;
    }

    public sealed record Options(int K, int M, int EfConstruction, int Threads, Distance Distance, int Limit,
        Sq8Options? Sq8 = null, bool CpuTime = false, int Repeat = 1);

    /// <summary>int8 scalar quantisation for the benchmark: training sample (0: all base vectors), build on codes, rescore count.</summary>
    public sealed record Sq8Options(int Train, bool BuildOnCodes, int[] Rescore, double Clip, bool[] Symmetric);

    /// <summary>One line of the report; names are the JSON keys. The nullable ones are left out unless asked for.</summary>
    public sealed record Report(
        double build_seconds, double qps, double recall_at_k, long memory_bytes, double distances_per_query,
        int n, int dim, int queries, int k, int m, int ef_construction, int ef_search, int threads, string metric)
    {
        public double? qps_cpu { get; init; }
        public double[]? qps_runs { get; init; }
        public string? quantize { get; init; }
        public string? sq8_build { get; init; }
        public int? sq8_train { get; init; }
        public string? sq8_scale { get; init; }
        public string? sq8_kernel { get; init; }
        public int? rescore { get; init; }
        public double? quantize_seconds { get; init; }
        public double? rescored_per_query { get; init; }
        public long? memory_float_bytes { get; init; }
        public long? memory_code_bytes { get; init; }
        public long? memory_without_floats_bytes { get; init; }
        public string? kernels { get; init; }
    }

    private static readonly JsonSerializerOptions ReportJson = new() { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    public static IEnumerable<Report> Run(string basePath, string queryPath, Options options, IReadOnlyList<int> efSearches, TextWriter? progress)
    {
        var (baseVectors, dim) = ReadFvecs(basePath, options.Limit);
        var (queries, queryDim) = ReadFvecs(queryPath, 0);
        if (queryDim != dim)
            throw new InvalidDataException($"{queryPath} has {queryDim}-d vectors; {basePath} has {dim}-d");
        var n = baseVectors.Length / dim;
        var nq = queries.Length / dim;
        progress?.WriteLine($"{n} base vectors, {nq} queries, {dim}-d; building (M {options.M}, ef_construction {options.EfConstruction}) ...");

        var sq8 = options.Sq8;
        using var index = new HnswIndex(dim, options.Distance, options.M, options.EfConstruction,
            sq8 is null ? null : new ScalarQuantization(0, sq8.Clip, sq8.BuildOnCodes, Symmetric: sq8.Symmetric.Contains(true)));
        var trainCount = sq8 is { Train: > 0 } ? Math.Min(sq8.Train, n) : n;
        double quantizeSeconds = 0;
        var watch = Stopwatch.StartNew();
        if (sq8 is { BuildOnCodes: true })
        {
            index.TrainQuantizer(baseVectors.AsSpan(0, trainCount * dim));
            quantizeSeconds = watch.Elapsed.TotalSeconds;
            progress?.WriteLine($"quantiser learnt from {trainCount} vectors in {quantizeSeconds:F1} s");
            watch.Restart();
        }
        for (var i = 0; i < n; i++)
        {
            index.Add(baseVectors.AsSpan(i * dim, dim));
            if (progress is not null && (i + 1) % 20000 == 0)
                progress.WriteLine($"  {i + 1} added, {watch.Elapsed.TotalSeconds:F0} s");
        }
        var buildSeconds = watch.Elapsed.TotalSeconds;
        progress?.WriteLine("exact ground truth ...");
        var truth = new int[nq * options.K];
        Parallel.For(0, nq, q => index.SearchExact(queries.AsSpan(q * dim, dim), options.K, truth.AsSpan(q * options.K, options.K), new float[options.K]));

        var floatMemory = index.MemoryBytes;
        if (sq8 is { BuildOnCodes: false })
        {
            // The same graph on floats first: a paired baseline, measured in the same process minutes apart.
            foreach (var report in Measure(index, queries, dim, options, efSearches, [-1], [false], truth, buildSeconds, n))
                yield return report with { quantize = "none", sq8_build = "float", memory_bytes = floatMemory };
            // Then learn the quantiser and encode everything (timed apart from the build).
            watch.Restart();
            index.TrainQuantizer(baseVectors.AsSpan(0, trainCount * dim));
            quantizeSeconds = watch.Elapsed.TotalSeconds;
            progress?.WriteLine($"quantiser learnt from {trainCount} vectors and {n} encoded in {quantizeSeconds:F1} s");
        }
        foreach (var report in Measure(index, queries, dim, options, efSearches, sq8?.Rescore ?? [-1], sq8?.Symmetric ?? [false], truth, buildSeconds, n))
        {
            yield return sq8 is null ? report : report with
            {
                quantize = "sq8",
                sq8_build = sq8.BuildOnCodes ? "codes" : "float",
                sq8_train = trainCount,
                sq8_scale = sq8.Symmetric.Contains(true) ? "single" : "per-dim",
                quantize_seconds = Math.Round(quantizeSeconds, 3),
                memory_float_bytes = index.VectorBytes,
                memory_code_bytes = index.CodeBytes,
                memory_without_floats_bytes = index.MemoryBytes - index.VectorBytes,
                kernels = VectorMath.Sq8Kernels,
            };
        }
    }

    private static IEnumerable<Report> Measure(HnswIndex index, float[] queries, int dim, Options options, IReadOnlyList<int> efSearches,
        IReadOnlyList<int> rescores, IReadOnlyList<bool> kernels, int[] truth, double buildSeconds, int n)
    {
        var nq = queries.Length / dim;
        var watch = new Stopwatch();
        foreach (var ef in efSearches)
        foreach (var symmetric in kernels)
        foreach (var rescore in rescores)
        {
            var found = new int[nq * options.K];
            // Warm-up pass (JIT, caches) that also counts the work per query, then the measured passes.
            long distances = 0, rescored = 0;
            var scores = new float[options.K];
            for (var q = 0; q < nq; q++)
            {
                index.Search(queries.AsSpan(q * dim, dim), options.K, ef, found.AsSpan(q * options.K, options.K), scores, out var d, out var r, rescore, symmetric);
                distances += d;
                rescored += r;
            }
            var wall = new List<double>();
            var cpu = new List<double>();
            for (var pass = 0; pass < Math.Max(1, options.Repeat); pass++)
            {
                var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                watch.Restart();
                Answer(index, queries, dim, options, ef, rescore, symmetric, found);
                wall.Add(nq / watch.Elapsed.TotalSeconds);
                cpu.Add(nq / (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds);
            }
            var hits = 0;
            for (var q = 0; q < nq; q++)
            {
                var expected = truth.AsSpan(q * options.K, options.K);
                foreach (var id in found.AsSpan(q * options.K, options.K))
                {
                    if (expected.Contains(id))
                        hits++;
                }
            }
            yield return new Report(
                Math.Round(buildSeconds, 3), Math.Round(Median(wall), 1), Math.Round((double)hits / (nq * options.K), 4), index.MemoryBytes,
                Math.Round((double)distances / nq, 1),
                n, dim, nq, options.K, options.M, options.EfConstruction, ef, options.Threads, options.Distance switch { Distance.Euclid => "l2", Distance.Dot => "ip", _ => "cosine" })
            {
                qps_cpu = options.CpuTime ? Math.Round(Median(cpu), 1) : null,
                qps_runs = options.Repeat > 1 ? [.. wall.Select(x => Math.Round(x, 1))] : null,
                rescore = options.Sq8 is null ? null : rescore,
                sq8_kernel = options.Sq8 is null ? null : symmetric ? "int" : "asym",
                rescored_per_query = options.Sq8 is null ? null : Math.Round((double)rescored / nq, 1),
            };
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static void Answer(HnswIndex index, float[] queries, int dim, Options options, int ef, int rescore, bool symmetric, int[] found)
    {
        var nq = queries.Length / dim;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Threads) };
        if (options.Threads <= 1)
        {
            var scores = new float[options.K];
            for (var q = 0; q < nq; q++)
                index.Search(queries.AsSpan(q * dim, dim), options.K, ef, found.AsSpan(q * options.K, options.K), scores, out _, out _, rescore, symmetric);
        }
        else
        {
            Parallel.For(0, nq, parallel, q =>
                index.Search(queries.AsSpan(q * dim, dim), options.K, ef, found.AsSpan(q * options.K, options.K), new float[options.K], out _, out _, rescore, symmetric));
        }
    }

    /// <summary>Reads an .fvecs file: each vector is a little-endian int32 dimension followed by that many float32s.</summary>
    public static (float[] Vectors, int Dimension) ReadFvecs(string path, int limit)
    {
        using var stream = File.OpenRead(path);
        Span<byte> header = stackalloc byte[4];
        stream.ReadExactly(header);
        var dim = BinaryPrimitives.ReadInt32LittleEndian(header);
        if (dim <= 0 || dim > CollectionSchema.MaxDimension)
            throw new InvalidDataException($"{path}: first vector claims {dim} dimensions; is this an .fvecs file?");
        var recordBytes = 4L + 4L * dim;
        if (stream.Length % recordBytes != 0)
            throw new InvalidDataException($"{path}: {stream.Length} bytes is not a whole number of {dim}-d records ({recordBytes} bytes each)");
        var count = (int)(stream.Length / recordBytes);
        if (limit > 0)
            count = Math.Min(count, limit);
        var vectors = new float[(long)count * dim];
        stream.Position = 0;
        var record = new byte[recordBytes];
        for (var i = 0; i < count; i++)
        {
            stream.ReadExactly(record);
            if (BinaryPrimitives.ReadInt32LittleEndian(record) != dim)
                throw new InvalidDataException($"{path}: vector {i} has a different dimension from the first ({dim})");
            for (var j = 0; j < dim; j++)
                vectors[(long)i * dim + j] = BinaryPrimitives.ReadSingleLittleEndian(record.AsSpan(4 + 4 * j));
        }
        return (vectors, dim);
    }
}
