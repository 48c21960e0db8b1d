using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Platform.Contracts;
using Platform.Tests;

namespace Platform.Integration.Tests;

/// <summary>Every kind of bad input gets a 4xx ProblemDetails saying what is wrong, stores nothing, and the server keeps serving.</summary>
[Collection(CatalogCollection.Name)]
public sealed class BadInputTests(CatalogServerFixture fixture)
{
    private HttpClient Client => fixture.Client;

    private static ProductInfo NewProduct(string id) => new(id, "Test Lamp", "a lamp", "home", 10m, new Dictionary<string, string> { ["color"] = "white" });

    private static async Task<byte[]> GoodImageAsync() => await File.ReadAllBytesAsync(Fixtures.Products[0].ImagePath);

    /// <summary>Asserts the status, that the body is a ProblemDetails whose detail contains every fragment, and that nothing was stored.</summary>
    private async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string? productId, params string[] fragments)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var detail = JsonDocument.Parse(text).RootElement.GetProperty("detail").GetString() ?? "";
        foreach (var fragment in fragments)
            Assert.True(detail.Contains(fragment, StringComparison.OrdinalIgnoreCase), $"'{detail}' does not mention '{fragment}'");
        if (productId is not null)
        {
            using var stored = await Client.GetAsync($"/v1/products/{productId}");
            Assert.Equal(HttpStatusCode.NotFound, stored.StatusCode);
        }
        using var live = await Client.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    [Fact]
    public async Task Corrupt_image_is_refused()
    {
        var image = await File.ReadAllBytesAsync(Fixtures.Products.First(p => p.ImagePath.EndsWith(".jpg")).ImagePath);
        using var response = await Fixtures.PostJsonAsync(Client, NewProduct("bad-corrupt"), image[..(image.Length / 2)]);
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "bad-corrupt", "corrupt");
    }

    [Fact]
    public async Task Unsupported_image_format_is_refused()
    {
        using var response = await Fixtures.PostMultipartAsync(Client, NewProduct("bad-bmp"), TestImages.Bmp(4, 4), "x.bmp");
        await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType, "bad-bmp", "JPEG", "PNG", "WebP", "GIF");
    }

    [Fact]
    public async Task Bytes_that_are_no_image_are_refused()
    {
        var noise = new byte[4096];
        new Random(7).NextBytes(noise);
        using var response = await Fixtures.PostJsonAsync(Client, NewProduct("bad-noise"), noise);
        await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType, "bad-noise");
    }

    [Fact]
    public async Task Empty_image_is_refused()
    {
        using var response = await Fixtures.PostMultipartAsync(Client, NewProduct("bad-empty-image"), [], "empty.png");
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "bad-empty-image", "empty");
    }

    [Fact]
    public async Task Decompression_bomb_is_refused_before_decoding()
    {
        using var response = await Fixtures.PostJsonAsync(Client, NewProduct("bad-bomb"), TestImages.PngClaiming(30000, 30000));
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "bad-bomb", "30000", "pixels");
    }

    [Fact]
    public async Task Empty_title_is_refused()
    {
        using var response = await Fixtures.PostJsonAsync(Client, NewProduct("bad-title") with { Title = "  " }, await GoodImageAsync());
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "bad-title", "'title'");
    }

    [Fact]
    public async Task Missing_id_is_refused()
    {
        using var response = await Fixtures.PostJsonAsync(Client, NewProduct(""), await GoodImageAsync());
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, null, "'id'");
    }

    [Fact]
    public async Task Invalid_json_is_refused()
    {
        using var response = await Client.PostAsync("/v1/products", new StringContent("{\"id\": \"x\", ", Encoding.UTF8, "application/json"));
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, null, "JSON");
    }

    [Fact]
    public async Task Invalid_base64_image_is_refused()
    {
        using var response = await Client.PostAsJsonAsync("/v1/products", new { id = "bad-b64", title = "Lamp", image = "not base64!!" });
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "bad-b64", "base64");
    }

    /// <summary>Multipart bodies that do not parse: no boundary, a body cut short, a part header without its
    /// blank line, a part that is not a form field.</summary>
    public static TheoryData<string, string, string> BrokenForms => new()
    {
        { "/v1/products", "multipart/form-data", "--b\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\nx\r\n--b--\r\n" },
        { "/v1/products", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\nbad-cut" },
        { "/v1/products", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"id\"" },
        { "/v1/products", "multipart/form-data; boundary=b", "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n" },
        { "/v1/search/image", "multipart/form-data", "--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\nx\r\n--b--\r\n" },
        { "/v1/search/image", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\nxx" },
    };

    [Theory]
    [MemberData(nameof(BrokenForms))]
    public async Task A_multipart_body_that_does_not_parse_is_a_400_saying_so(string path, string contentType, string body)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        using var response = await Client.PostAsync(path, content);
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, path == "/v1/products" ? "bad-cut" : null, "multipart/form-data body is malformed");
    }

    [Fact]
    public async Task Oversized_body_is_refused()
    {
        // Expect: 100-continue, as curl and browsers send for large bodies: the server can refuse before the upload.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/products")
        {
            Content = new MultipartFormDataContent
            {
                { new StringContent("bad-huge"), "id" },
                { new StringContent("Huge"), "title" },
                { new ByteArrayContent(new byte[17 * 1024 * 1024]), "image", "huge.jpg" },
            },
        };
        request.Headers.ExpectContinue = true;
        using var response = await Client.SendAsync(request);
        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "bad-huge", "larger");
    }

    [Fact]
    public async Task Oversized_image_search_body_is_refused()
    {
        var content = new ByteArrayContent(new byte[17 * 1024 * 1024]);
        content.Headers.ContentType = new("image/jpeg");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/search/image") { Content = content };
        request.Headers.ExpectContinue = true;
        using var response = await Client.SendAsync(request);
        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, null, "larger");
    }

    [Fact]
    public async Task Unknown_product_is_404_naming_it()
    {
        using var response = await Client.GetAsync("/v1/products/no-such-product");
        await AssertProblemAsync(response, HttpStatusCode.NotFound, null, "no-such-product");
    }

    [Theory]
    [InlineData("0")]
    [InlineData("101")]
    [InlineData("-3")]
    [InlineData("ten")]
    public async Task K_out_of_range_is_refused(string k)
    {
        using var text = await Client.GetAsync($"/v1/search?q=mug&k={k}");
        await AssertProblemAsync(text, HttpStatusCode.BadRequest, null, "'k'", "1", "100");
        var content = new ByteArrayContent(await GoodImageAsync());
        content.Headers.ContentType = new(Fixtures.ContentTypeOf(Fixtures.Products[0].ImagePath));
        using var image = await Client.PostAsync($"/v1/search/image?k={k}", content);
        await AssertProblemAsync(image, HttpStatusCode.BadRequest, null, "'k'");
    }

    [Fact]
    public async Task Empty_query_is_refused()
    {
        using var response = await Client.GetAsync("/v1/search?q=%20");
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, null, "'q'");
    }

    [Fact]
    public async Task Image_search_with_a_corrupt_image_is_refused()
    {
        var image = await File.ReadAllBytesAsync(Fixtures.Products.First(p => p.ImagePath.EndsWith(".jpg")).ImagePath);
        var content = new ByteArrayContent(image[..(image.Length / 2)]);
        content.Headers.ContentType = new("image/jpeg");
        using var response = await Client.PostAsync("/v1/search/image", content);
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, null, "corrupt");
    }

    [Fact]
    public async Task Image_search_without_an_image_content_type_is_refused()
    {
        using var response = await Client.PostAsync("/v1/search/image", new StringContent("hello"));
        await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType, null, "image/*");
    }
}
