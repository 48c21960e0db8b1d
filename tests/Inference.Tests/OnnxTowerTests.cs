using System.Collections.Concurrent;
using System.Text.Json;
using Platform.Inference.Onnx;
using Platform.Tests;

namespace Platform.Inference.Tests;

/// <summary>Model loads touch the process's one ONNX Runtime environment; these tests never run beside each other.</summary>
[CollectionDefinition("native", DisableParallelization = true)]
public sealed class NativeCollection;

/// <summary>OnnxTower on the tiny fixtures of fixtures/make_onnx_fixtures.py, against the outputs torch computed.</summary>
[Collection("native")]
public sealed class OnnxTowerTests : IDisposable
{
    private const float Tolerance = 1e-5f;
    private readonly string _temp = Directory.CreateTempSubdirectory("onnx-tower-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", name);

    private static readonly Lazy<JsonElement> Expected = new(() =>
        JsonDocument.Parse(File.ReadAllText(Fixture("onnx_expected.json"))).RootElement);

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

    private static float[] RandomRows(int rows, int width, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, rows * width).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
    }

    [Fact]
    public void A_float_model_gives_the_outputs_torch_computed()
    {
        var (input, shape, output, outputShape) = Case<float>("linear_l2");
        using var tower = OnnxTower.Load(Fixture("linear_l2.onnx"));

        Assert.Equal(outputShape, tower.OutputShapeFor(shape));
        AssertClose(output, tower.Run(input, shape));
        Assert.Equal("cpu", tower.Device);
        Assert.Equal(OnnxRuntimeInfo.CpuProvider, tower.ExecutionProvider);
        Assert.Equal(Fixture("linear_l2.onnx"), tower.Path);
        Assert.Equal(("x", "embedding"), (tower.InputName, tower.OutputName));
        Assert.Equal([-1L, 8], tower.InputDimensions);
        Assert.Equal([-1L, 4], tower.OutputDimensions);
        Assert.Equal("batch", tower.InputSymbols[0]);
    }

    [Fact]
    public void An_int64_model_gives_torchs_output_for_the_output_it_names()
    {
        var (input, shape, output, outputShape) = Case<long>("token_pool");
        using var tower = OnnxTower.Load(Fixture("token_pool.onnx"), outputName: "pooled");

        var result = new float[output.Length];
        tower.Run(input, shape, result, outputShape);

        AssertClose(output, result);
        // Both axes of the input are symbolic: a longer padded batch gives the same pooled rows.
        var padded = new long[2 * 8];
        for (var row = 0; row < 2; row++)
            input.AsSpan(row * 5, 5).CopyTo(padded.AsSpan(row * 8));
        tower.Run(padded, [2, 8], result, outputShape);
        AssertClose(output, result);
    }

    [Fact]
    public void Naming_an_output_the_model_lacks_is_refused_with_the_outputs_it_has()
    {
        var error = Assert.Throws<InferenceException>(() => OnnxTower.Load(Fixture("token_pool.onnx"), outputName: "embedding"));

        Assert.Contains("pooled, lengths", error.Message);
        Assert.Contains("'embedding'", error.Message);
        var input = Assert.Throws<InferenceException>(() => OnnxTower.Load(Fixture("token_pool.onnx"), inputName: "input_ids"));
        Assert.Contains("[ids]", input.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(64)]
    public void Any_batch_size_gives_each_row_what_it_gives_alone(int rows)
    {
        var batch = RandomRows(rows, 8, 1234 + rows);
        using var tower = OnnxTower.Load(Fixture("linear_l2.onnx"));

        var result = tower.Run(batch, [rows, 8]);

        Assert.Equal(rows * 4, result.Length);
        for (var row = 0; row < rows; row++)
        {
            var single = tower.Run(batch.AsSpan(row * 8, 8).ToArray(), [1, 8]);
            AssertClose(single, result.AsSpan(row * 4, 4));
            var norm = MathF.Sqrt(single.Sum(v => v * v));
            Assert.InRange(norm, 1 - 1e-4f, 1 + 1e-4f);
        }
    }

    [Fact]
    public void The_input_is_read_in_place_and_left_as_it_was_and_the_output_lands_in_the_callers_slice()
    {
        var input = RandomRows(3, 8, 5);
        var copy = input.ToArray();
        var output = new float[20];
        Array.Fill(output, float.NaN);
        using var tower = OnnxTower.Load(Fixture("linear_l2.onnx"));

        tower.Run(input.AsMemory(8, 16), [2, 8], output.AsMemory(4, 8), [2, 4]);

        Assert.Equal(copy, input);
        Assert.All(output[..4].Concat(output[12..]), v => Assert.True(float.IsNaN(v)));
        AssertClose(tower.Run(copy[8..], [2, 8]), output.AsSpan(4, 8));
    }

    [Fact]
    public void Bad_input_shapes_are_refused_before_the_forward_saying_what_the_model_takes()
    {
        using var tower = OnnxTower.Load(Fixture("linear_l2.onnx"));

        var width = Assert.Throws<ArgumentException>(() => tower.Run(new float[12], [3, 4]));
        Assert.Contains("[?, 8]", width.Message);
        Assert.Contains("axis 1 must be 8", width.Message);

        var rank = Assert.Throws<ArgumentException>(() => tower.Run(new float[16], [2, 8, 1]));
        Assert.Contains("rank 2", rank.Message);

        var length = Assert.Throws<ArgumentException>(() => tower.Run(new float[15], [2, 8]));
        Assert.Contains("15", length.Message);
        Assert.Contains("16", length.Message);

        var negative = Assert.Throws<ArgumentException>(() => tower.Run(new float[8], [-1, 8]));
        Assert.Contains("negative", negative.Message);

        var output = Assert.Throws<ArgumentException>(() => tower.Run(new float[16], [2, 8], new float[4], [2, 4]));
        Assert.Contains("output", output.Message);

        var type = Assert.Throws<ArgumentException>(() => tower.Run(new long[8], [1, 8]));
        Assert.Contains("float32", type.Message);
        Assert.Contains("int64", type.Message);

        // Refused calls leave the tower usable.
        var (input, shape, expected, _) = Case<float>("linear_l2");
        AssertClose(expected, tower.Run(input, shape));
    }

    [Fact]
    public void A_forward_that_fails_inside_onnx_runtime_says_which_model_and_input_and_why()
    {
        using var tower = OnnxTower.Load(Fixture("out_of_range_image_tower.onnx"));

        var error = Assert.Throws<InferenceException>(() => tower.Run(new float[3 * 224 * 224], [1, 3, 224, 224]));

        Assert.Contains(Fixture("out_of_range_image_tower.onnx"), error.Message);
        Assert.Contains("[1, 3, 224, 224]", error.Message);
        Assert.Contains("indices", error.Message, StringComparison.OrdinalIgnoreCase); // ONNX Runtime's own reason
        Assert.IsType<Microsoft.ML.OnnxRuntime.OnnxRuntimeException>(error.InnerException);
    }

    [Fact]
    public void A_missing_model_file_is_a_file_not_found_naming_it()
    {
        var path = Path.Combine(_temp, "missing.onnx");

        var error = Assert.Throws<FileNotFoundException>(() => OnnxTower.Load(path));

        Assert.Equal(path, error.FileName);
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void A_corrupt_model_file_is_refused_naming_it_with_onnx_runtimes_reason()
    {
        var path = Path.Combine(_temp, "corrupt.onnx");
        var bytes = new byte[4096];
        new Random(42).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);

        var error = Assert.Throws<InferenceException>(() => OnnxTower.Load(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("could not load", error.Message);
        Assert.NotNull(error.InnerException);
        Assert.Contains(error.InnerException!.Message, error.Message);
    }

    [Fact]
    public void A_truncated_model_file_is_refused()
    {
        var path = Path.Combine(_temp, "truncated.onnx");
        var bytes = File.ReadAllBytes(Fixture("token_pool.onnx"));
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        var error = Assert.Throws<InferenceException>(() => OnnxTower.Load(path));

        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void A_torchscript_file_is_refused_saying_how_to_convert_it()
    {
        var path = Path.Combine(_temp, "image_encoder.pt");
        File.WriteAllBytes(path, [(byte)'P', (byte)'K', 3, 4, .. new byte[60]]); // a zip archive's header, as .pt files are

        var error = Assert.Throws<InferenceException>(() => OnnxTower.Load(path));

        Assert.Contains("TorchScript", error.Message);
        Assert.Contains("models/convert_to_onnx.py", error.Message);
    }

    [Theory]
    [InlineData("tpu:0")]
    [InlineData("cuda:x")]
    [InlineData("cuda:")]
    [InlineData("cuda:-1")]
    [InlineData("CPU")]
    [InlineData("")]
    public void An_unknown_device_is_refused_naming_the_ones_that_exist(string device)
    {
        var error = Assert.Throws<InferenceDeviceException>(() => OnnxTower.Load(Fixture("linear_l2.onnx"), device));

        Assert.Contains($"'{device}'", error.Message);
        Assert.Contains("cpu or cuda:N", error.Message);
    }

    [Fact]
    public void Cuda_on_a_build_without_the_cuda_provider_says_how_to_build_for_gpu()
    {
        Assert.SkipWhen(OnnxRuntimeInfo.AvailableProviders.Contains(OnnxRuntimeInfo.CudaProvider),
            "this build has the CUDA execution provider");

        var error = Assert.Throws<InferenceDeviceException>(() => OnnxTower.Load(Fixture("linear_l2.onnx"), "cuda:0"));

        Assert.Contains("cuda:0", error.Message);
        Assert.Contains("-p:PlatformGpu=true", error.Message);
        Assert.Contains("Microsoft.ML.OnnxRuntime.Gpu.Linux", error.Message);
        Assert.Throws<InferenceDeviceException>(() => InferenceDevice.Parse("cuda").EnsureAvailable());
    }

    [Fact]
    public void Devices_parse_to_their_execution_providers()
    {
        Assert.Equal(InferenceDevice.Cpu, InferenceDevice.Parse("cpu"));
        Assert.Equal(new InferenceDevice(0), InferenceDevice.Parse("cuda"));
        Assert.Equal(new InferenceDevice(3), InferenceDevice.Parse("cuda:3"));
        Assert.Equal("cuda:3", InferenceDevice.Parse("cuda:3").ToString());
        Assert.Equal(OnnxRuntimeInfo.CudaProvider, InferenceDevice.Parse("cuda:1").ExecutionProvider);
        Assert.Equal(OnnxRuntimeInfo.CpuProvider, InferenceDevice.Parse("cpu").ExecutionProvider);
    }

    [Fact]
    public void Concurrent_callers_on_one_session_each_get_their_own_answers()
    {
        const int inputs = 32;
        var batches = Enumerable.Range(0, inputs).Select(i => RandomRows(1 + i % 5, 8, 100 + i)).ToArray();
        using var linear = OnnxTower.Load(Fixture("linear_l2.onnx"));
        using var pool = OnnxTower.Load(Fixture("token_pool.onnx"), outputName: "pooled");
        var serial = batches.Select(b => linear.Run(b, [b.Length / 8, 8])).ToArray();
        var ids = Enumerable.Range(0, inputs).Select(i => new long[] { i % 16, (i * 7) % 16, 3, 0, 0, 1, 2, i % 5, 0, 0 }).ToArray();
        var serialIds = ids.Select(x => pool.Run(x, [2, 5])).ToArray();

        var parallel = new float[inputs][];
        var parallelIds = new float[inputs][];
        Threads.RunAll(8, t =>
        {
            for (var round = 0; round < 20; round++)
            {
                for (var i = t; i < inputs; i += 8)
                {
                    parallel[i] = linear.Run(batches[i], [batches[i].Length / 8, 8]);
                    parallelIds[i] = pool.Run(ids[i], [2, 5]);
                    Assert.Equal(serial[i], parallel[i]);
                    Assert.Equal(serialIds[i], parallelIds[i]);
                }
            }
        });
        for (var i = 0; i < inputs; i++)
        {
            Assert.Equal(serial[i], parallel[i]);
            Assert.Equal(serialIds[i], parallelIds[i]);
        }
    }

    [Fact]
    public void Use_after_dispose_throws_object_disposed()
    {
        var tower = OnnxTower.Load(Fixture("linear_l2.onnx"));
        tower.Dispose();
        tower.Dispose(); // idempotent

        Assert.Throws<ObjectDisposedException>(() => tower.Run(new float[8], [1, 8]));
    }

    [Fact]
    public void Dispose_during_concurrent_forwards_never_crashes()
    {
        var tower = OnnxTower.Load(Fixture("linear_l2.onnx"));
        var input = Enumerable.Range(0, 64 * 8).Select(i => (float)Math.Sin(i)).ToArray();
        var unexpected = new ConcurrentQueue<Exception>();
        var completed = 0;
        using var started = new CountdownEvent(4);
        var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
        {
            started.Signal();
            try
            {
                while (true)
                {
                    Assert.Equal(64 * 4, tower.Run(input, [64, 8]).Length);
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
        tower.Dispose();
        foreach (var thread in threads)
            thread.Join();

        Assert.Empty(unexpected);
        Assert.True(completed >= 20);
    }

    [Fact]
    public void Thread_options_change_nothing_in_the_answers_and_negative_counts_are_refused()
    {
        var (input, shape, expected, _) = Case<float>("linear_l2");
        var options = new InferenceOptions { IntraOpThreads = 2, InterOpThreads = 2, AllowSpinning = true };
        using var tower = OnnxTower.Load(Fixture("linear_l2.onnx"), options: options);

        AssertClose(expected, tower.Run(input, shape));
        Assert.Equal(1, InferenceOptions.Default.IntraOpThreads);
        Assert.Throws<ArgumentOutOfRangeException>(() => OnnxTower.Load(Fixture("linear_l2.onnx"), options: new InferenceOptions { IntraOpThreads = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => OnnxTower.Load(Fixture("linear_l2.onnx"), options: new InferenceOptions { InterOpThreads = -1 }));
    }

    [Fact]
    public void The_runtime_describes_its_version_build_and_provider()
    {
        var description = OnnxRuntimeInfo.Describe("cpu");

        Assert.StartsWith("ONNX Runtime 1.31", description);
        Assert.Contains(OnnxRuntimeInfo.Package, description);
        Assert.Contains($"device cpu runs on {OnnxRuntimeInfo.CpuProvider}", description);
        Assert.Contains(OnnxRuntimeInfo.CpuProvider, OnnxRuntimeInfo.AvailableProviders);
        Assert.Contains("CUDAExecutionProvider", OnnxRuntimeInfo.Describe("cuda:0"));
    }
}
