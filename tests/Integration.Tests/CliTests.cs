using System.Diagnostics;
using System.Text.Json;

namespace Platform.Integration.Tests;

/// <summary>The <c>platform</c> CLI's client commands against a real server, and words in Chinese.</summary>
public sealed class CliTests : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("platform-cli-").FullName;
    private readonly string _work = Directory.CreateTempSubdirectory("platform-cli-work-").FullName;
    private PlatformProcess _server = null!;

    public async ValueTask InitializeAsync() => _server = await PlatformProcess.StartAsync(_data);

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_data, recursive: true);
        Directory.Delete(_work, recursive: true);
    }

    private static async Task<(int ExitCode, string Output)> RunCliAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(PlatformProcess.CliPath);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        start.Environment["COLUMNS"] = "200"; // keep Spectre's tables from wrapping reasons
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    [Fact]
    public async Task Ingest_sends_a_catalog_and_summarises_what_failed_and_why()
    {
        var products = Fixtures.Products.Take(3).ToList();
        var corrupt = Path.Combine(_work, "broken.jpg");
        var jpeg = await File.ReadAllBytesAsync(Fixtures.Products.First(p => p.ImagePath.EndsWith(".jpg")).ImagePath);
        await File.WriteAllBytesAsync(corrupt, jpeg[..(jpeg.Length / 2)]);
        var lines = products.Select(p => JsonSerializer.Serialize(new
        {
            id = "cli-" + p.Product.Id, title = p.Product.Title, category = p.Product.Category, attributes = p.Product.Attributes, image = p.ImagePath,
        })).ToList();
        lines.Add("{ this is not json");
        lines.Add(JsonSerializer.Serialize(new { id = "cli-broken", title = "Broken Image", image = "broken.jpg" }));
        var catalog = Path.Combine(_work, "catalog.jsonl");
        await File.WriteAllLinesAsync(catalog, lines);

        var (exit, output) = await RunCliAsync("ingest", catalog, "--server", _server.Address.ToString(), "--wait");

        Assert.True(exit == 1, $"exit {exit}: {output}");
        Assert.Contains("3 accepted, 2 failed, of 5 lines", output);
        Assert.Contains("not valid JSON", output);
        Assert.Contains("cli-broken", output);
        Assert.Contains("orrupt", output);
        foreach (var (product, _) in products)
            Assert.Equal("indexed", await Fixtures.StatusAsync(_server.Client, "cli-" + product.Id));
    }

    [Fact]
    public async Task Search_prints_results_from_a_running_server()
    {
        var (product, imagePath) = Fixtures.Products[4];
        using (var response = await Fixtures.PostJsonAsync(_server.Client, product, await File.ReadAllBytesAsync(imagePath)))
            Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        await Fixtures.WaitIndexedAsync(_server.Client, [product.Id], TimeSpan.FromSeconds(60));

        var (exit, output) = await RunCliAsync("search", product.Title, "--server", _server.Address.ToString(), "--json");
        Assert.True(exit == 0, output);
        Assert.Equal(product.Id, JsonDocument.Parse(output).RootElement[0].GetProperty("id").GetString());

        var (imageExit, imageOutput) = await RunCliAsync("search", "--image", imagePath, "--server", _server.Address.ToString(), "--json");
        Assert.True(imageExit == 0, imageOutput);
        Assert.Equal(product.Id, JsonDocument.Parse(imageOutput).RootElement[0].GetProperty("id").GetString());
    }

    [Fact]
    public async Task Chinese_words_find_a_product_with_a_Chinese_title()
    {
        var (_, imagePath) = Fixtures.Products[5];
        var dress = new Contracts.ProductInfo("zh-dress", "红色连衣裙 夏季新款", "轻薄雪纺，适合夏天", "服装", 199m);
        var (_, otherImage) = Fixtures.Products[6];
        var shoes = new Contracts.ProductInfo("zh-shoes", "男士跑步鞋", "透气网面", "鞋类", 299m);
        using (var a = await Fixtures.PostJsonAsync(_server.Client, dress, await File.ReadAllBytesAsync(imagePath)))
            Assert.Equal(System.Net.HttpStatusCode.Accepted, a.StatusCode);
        using (var b = await Fixtures.PostJsonAsync(_server.Client, shoes, await File.ReadAllBytesAsync(otherImage)))
            Assert.Equal(System.Net.HttpStatusCode.Accepted, b.StatusCode);
        await Fixtures.WaitIndexedAsync(_server.Client, ["zh-dress", "zh-shoes"], TimeSpan.FromSeconds(60));

        Assert.Equal("zh-dress", (await Fixtures.SearchTextAsync(_server.Client, "连衣裙"))[0].Id);
        Assert.Equal("zh-shoes", (await Fixtures.SearchTextAsync(_server.Client, "跑步鞋"))[0].Id);
        Assert.Equal("红色连衣裙 夏季新款", (await Fixtures.SearchTextAsync(_server.Client, "红色 连衣裙"))[0].Title);
    }

    [Fact]
    public async Task Serve_with_a_folder_that_is_no_model_package_says_so_and_exits()
    {
        var (exit, output) = await RunCliAsync("serve", "--model", _work, "--data", Path.Combine(_work, "data"), "--urls", "http://127.0.0.1:0");
        Assert.Equal(2, exit);
        Assert.Contains("model.json does not exist", output);
        Assert.DoesNotContain("   at ", output); // a message, not a stack trace
    }
}
