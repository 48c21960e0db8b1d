using System.Text.Json;
using Platform.Inference.Torch;
using Platform.Tests;

namespace Platform.Inference.Tests;

/// <summary>libtorch's thread pool and CUDA state are process-wide, so these tests never run beside each other.</summary>
[CollectionDefinition("native", DisableParallelization = true)]
public sealed class TorchNativeCollection;

[Collection("native")]
public sealed class TorchModuleTests
{
    private const float Tolerance = 1e-5f;

    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", name);

    private static readonly Lazy<JsonElement> Expected = new(() =>
        JsonDocument.Parse(File.ReadAllText(Fixture("torch_expected.json"))).RootElement);

    private static (T[] Input, long[] InputShape, float[] Output, long[] OutputShape) Case<T>(string name)
    {
        var c = Expected.Value.GetProperty(name);
        return (c.GetProperty("input").Deserialize<T[]>()!, c.GetProperty("input_shape").Deserialize<long[]>()!,
                c.GetProperty("output").Deserialize<float[]>()!, c.GetProperty("output_shape").Deserialize<long[]>()!);
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tolerance = Tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(MathF.Abs(expected[i] - actual[i]) <= tolerance, $"element {i}: expected {expected[i]}, got {actual[i]}");
    }

    [Fact]
    public void NativeShim_IsCopiedToTheTestOutput()
    {
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "libplatform_torch.so")),
            "libplatform_torch.so should flow to every project referencing Platform.Inference");
    }

    [Fact]
    public void Forward_Float32_MatchesPython()
    {
        var (input, shape, output, outputShape) = Case<float>("linear_l2");
        using var module = TorchModule.Load(Fixture("linear_l2.pt"));

        var result = module.Forward(input, shape);

        Assert.Equal(outputShape, result.Shape);
        AssertClose(output, result.Data);
        Assert.Equal("cpu", module.Device);
        Assert.Equal(Fixture("linear_l2.pt"), module.Path);
    }

    [Fact]
    public void Forward_Int64_TupleOutput_MatchesPython()
    {
        var (input, shape, output, outputShape) = Case<long>("token_pool");
        using var module = TorchModule.Load(Fixture("token_pool.pt"));

        var result = module.Forward(input, shape);

        Assert.Equal(outputShape, result.Shape);
        AssertClose(output, result.Data);
    }

    [Fact]
    public void Forward_BatchOfN_ReturnsNRowsMatchingSingleRowForwards()
    {
        const int n = 7;
        var random = new Random(1234);
        var batch = Enumerable.Range(0, n * 8).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        using var module = TorchModule.Load(Fixture("linear_l2.pt"));

        var result = module.Forward(batch, [n, 8]);

        Assert.Equal([n, 4L], result.Shape);
        for (var row = 0; row < n; row++)
        {
            var single = module.Forward(batch.AsSpan(row * 8, 8), [1, 8]);
            AssertClose(single.Data, result.Row(row));
            var norm = MathF.Sqrt(result.Row(row).ToArray().Sum(v => v * v));
            Assert.InRange(norm, 1 - 1e-4f, 1 + 1e-4f);
        }
    }

    [Fact]
    public void Forward_InputDoesNotAliasCallerBuffer()
    {
        var input = new float[] { 1, 2, 3, 4, 5, 6, 7, 8 };
        var copy = input.ToArray();
        using var module = TorchModule.Load(Fixture("linear_l2.pt"));

        var a = module.Forward(input, [1, 8]);
        input.AsSpan().Clear();
        var b = module.Forward(copy, [1, 8]);

        Assert.Equal(b.Data, a.Data);
    }

    [Fact]
    public void Forward_LengthShapeMismatch_ThrowsArgumentException()
    {
        using var module = TorchModule.Load(Fixture("linear_l2.pt"));

        var tooShort = Assert.Throws<ArgumentException>(() => module.Forward(new float[15], [2, 8]));
        Assert.Contains("15", tooShort.Message);
        Assert.Contains("16", tooShort.Message);

        var negative = Assert.Throws<ArgumentException>(() => module.Forward(new float[8], [-1, 8]));
        Assert.Contains("negative", negative.Message);

        Assert.Throws<ArgumentException>(() => module.Forward(new float[1], new long[17].Select(_ => 1L).ToArray()));
    }

    [Fact]
    public void Forward_ShapeTheModuleRejects_ThrowsTorchExceptionWithNativeMessage()
    {
        using var module = TorchModule.Load(Fixture("linear_l2.pt"));

        // 3x4 matches the 12 elements but not the module's 8 input features: libtorch itself refuses it.
        var error = Assert.Throws<TorchException>(() => module.Forward(new float[12], [3, 4]));

        Assert.NotEmpty(error.NativeMessage);
        Assert.Contains(error.NativeMessage, error.Message);
        Assert.Contains("[3, 4]", error.Message);
        Assert.DoesNotContain("frame #", error.NativeMessage); // backtrace stripped

        // The module stays usable after a failed forward.
        var (input, shape, output, _) = Case<float>("linear_l2");
        AssertClose(output, module.Forward(input, shape).Data);
    }

    [Fact]
    public void Load_MissingFile_ThrowsFileNotFoundWithPath()
    {
        var path = Path.Combine(Path.GetTempPath(), $"missing-{Guid.NewGuid():N}.pt");

        var error = Assert.Throws<FileNotFoundException>(() => TorchModule.Load(path));

        Assert.Equal(path, error.FileName);
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void Load_CorruptFile_ThrowsTorchExceptionWithNativeMessage()
    {
        var path = Path.Combine(Path.GetTempPath(), $"corrupt-{Guid.NewGuid():N}.pt");
        var bytes = new byte[4096];
        new Random(42).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        try
        {
            var error = Assert.Throws<TorchException>(() => TorchModule.Load(path));

            Assert.NotEmpty(error.NativeMessage);
            Assert.Contains(error.NativeMessage, error.Message);
            Assert.Contains(path, error.Message);
            Assert.DoesNotContain("frame #", error.NativeMessage);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("tpu:0")]
    [InlineData("cuda:x")]
    [InlineData("cuda:")]
    [InlineData("CPU")]
    public void Load_UnknownDevice_ThrowsClearTorchException(string device)
    {
        var error = Assert.Throws<TorchException>(() => TorchModule.Load(Fixture("linear_l2.pt"), device));

        Assert.Contains($"'{device}'", error.NativeMessage);
        Assert.Contains("cpu", error.NativeMessage);
    }

    [Fact]
    public void Load_Cuda_WorksWhenAvailableOtherwiseSaysCudaIsMissing()
    {
        if (!TorchRuntime.IsCudaAvailable)
        {
            var error = Assert.Throws<TorchException>(() => TorchModule.Load(Fixture("linear_l2.pt"), "cuda"));
            Assert.Contains("CUDA is not available", error.NativeMessage);
            return;
        }

        var (input, shape, output, outputShape) = Case<float>("linear_l2");
        using var module = TorchModule.Load(Fixture("linear_l2.pt"), "cuda:0");
        var result = module.Forward(input, shape);
        Assert.Equal(outputShape, result.Shape);
        AssertClose(output, result.Data, 1e-4f);

        var beyond = Assert.Throws<TorchException>(() => TorchModule.Load(Fixture("linear_l2.pt"), $"cuda:{TorchRuntime.CudaDeviceCount}"));
        Assert.Contains("CUDA device(s)", beyond.NativeMessage);
    }

    [Fact]
    public void Forward_FromSeveralThreads_MatchesSerial()
    {
        const int inputs = 32;
        var random = new Random(7);
        var batches = Enumerable.Range(0, inputs)
            .Select(_ => Enumerable.Range(0, 2 * 8).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray())
            .ToArray();
        using var module = TorchModule.Load(Fixture("linear_l2.pt"));
        using var pool = TorchModule.Load(Fixture("token_pool.pt"));
        var serial = batches.Select(b => module.Forward(b, [2, 8]).Data).ToArray();
        var ids = new long[] { 3, 7, 1, 0, 0, 15, 2, 9, 4, 21 };
        var serialIds = pool.Forward(ids, [2, 5]).Data;

        var parallel = new float[inputs][];
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
        {
            try
            {
                for (var round = 0; round < 20; round++)
                {
                    for (var i = t; i < inputs; i += 8)
                        parallel[i] = module.Forward(batches[i], [2, 8]).Data;
                    Assert.Equal(serialIds, pool.Forward(ids, [2, 5]).Data);
                }
            }
            catch (Exception e)
            {
                failures.Enqueue(e);
            }
        })).ToArray();
        foreach (var thread in threads)
            thread.Start();
        foreach (var thread in threads)
            thread.Join();

        Assert.Empty(failures);
        for (var i = 0; i < inputs; i++)
            Assert.Equal(serial[i], parallel[i]);
    }

    [Fact]
    public void UseAfterDispose_ThrowsObjectDisposedException()
    {
        var module = TorchModule.Load(Fixture("linear_l2.pt"));
        module.Dispose();
        module.Dispose(); // idempotent

        Assert.Throws<ObjectDisposedException>(() => module.Forward(new float[8], [1, 8]));
        Assert.Throws<ObjectDisposedException>(() => module.Forward(new long[8], [1, 8]));
    }

    [Fact]
    public void DisposeDuringConcurrentForwards_NeverCrashes()
    {
        var module = TorchModule.Load(Fixture("linear_l2.pt"));
        var input = Enumerable.Range(0, 64 * 8).Select(i => (float)Math.Sin(i)).ToArray();
        var unexpected = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var completed = 0;
        using var started = new CountdownEvent(4);
        var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
        {
            started.Signal();
            try
            {
                while (true)
                {
                    Assert.Equal(64 * 4, module.Forward(input, [64, 8]).Data.Length);
                    Interlocked.Increment(ref completed);
                }
            }
            catch (ObjectDisposedException)
            {
                // expected once Dispose has run
            }
            catch (Exception e)
            {
                unexpected.Enqueue(e);
            }
        })).ToArray();
        foreach (var thread in threads)
            thread.Start();
        started.Wait(TestContext.Current.CancellationToken);
        SpinWait.SpinUntil(() => Volatile.Read(ref completed) >= 20, TimeSpan.FromSeconds(30));
        module.Dispose();
        foreach (var thread in threads)
            thread.Join();

        Assert.Empty(unexpected);
        Assert.True(completed >= 20);
    }

    [Fact]
    public void Resolver_SearchesEnvThenAppFolderThenSourceTree()
    {
        var previous = Environment.GetEnvironmentVariable("PLATFORM_TORCH_SHIM");
        Environment.SetEnvironmentVariable("PLATFORM_TORCH_SHIM", "/opt/custom/libplatform_torch.so");
        try
        {
            var paths = PlatformTorchLibrary.Candidates().Select(c => c.Path).ToList();

            Assert.Equal("/opt/custom/libplatform_torch.so", paths[0]);
            Assert.Equal(Path.Combine(AppContext.BaseDirectory, "libplatform_torch.so"), paths[1]);
            Assert.Equal(Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libplatform_torch.so"), paths[2]);
            Assert.Contains(RepoPaths.InRepo("shared", "Inference", "native", "build", "libplatform_torch.so"), paths.Skip(3));
        }
        finally
        {
            Environment.SetEnvironmentVariable("PLATFORM_TORCH_SHIM", previous);
        }
    }

    [Fact]
    public void Resolver_WhenNothingLoads_ListsEveryPathAndWhy()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"missing-{Guid.NewGuid():N}", "libplatform_torch.so");
        var corrupt = Path.Combine(Path.GetTempPath(), $"corrupt-{Guid.NewGuid():N}.so");
        File.WriteAllBytes(corrupt, [1, 2, 3, 4, 5, 6, 7, 8]);
        try
        {
            var error = Assert.Throws<TorchLibraryNotFoundException>(() =>
                PlatformTorchLibrary.LoadFirst([(missing, "test"), (corrupt, "test")]));

            Assert.IsAssignableFrom<DllNotFoundException>(error);
            Assert.Contains($"{missing} (test): not found", error.Message);
            Assert.Contains($"{corrupt} (test): failed to load", error.Message);
            Assert.Contains("apt-get install libtorch-dev cmake g++", error.Message);
        }
        finally
        {
            File.Delete(corrupt);
        }
    }

    [Fact]
    public void Runtime_ThreadCount_RoundTripsAndRejectsZero()
    {
        var original = TorchRuntime.NumThreads;
        Assert.True(original >= 1);
        try
        {
            TorchRuntime.SetNumThreads(1);
            Assert.Equal(1, TorchRuntime.NumThreads);
        }
        finally
        {
            TorchRuntime.SetNumThreads(original);
        }
        Assert.Equal(original, TorchRuntime.NumThreads);
        Assert.Throws<ArgumentOutOfRangeException>(() => TorchRuntime.SetNumThreads(0));
        Assert.True(TorchRuntime.CudaDeviceCount >= 0);
        Assert.False(string.IsNullOrEmpty(TorchRuntime.Version));
    }
}
