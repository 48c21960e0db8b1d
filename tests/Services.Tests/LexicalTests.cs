using Platform.Contracts;
using Platform.Search;
using Platform.VectorStore;
using Platform.VectorStore.Embedded;

namespace Platform.Services.Tests;

/// <summary>Tokens, and lexical search (BM25 and title matches) as <see cref="ProductIndex"/> keeps it in the vector store.</summary>
public sealed class LexicalTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("platform-lexical-").FullName;
    private EmbeddedVectorStore? _store;
    private ProductIndex? _index;

    private ProductIndex Index => _index ??= new ProductIndex(_store ??= EmbeddedVectorStore.Open(_directory, new EmbeddedStoreOptions { Durable = false }), new ProductIndex.Settings(2));

    public void Dispose()
    {
        _store?.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private async Task AddAsync(string id, string title, string? description = null, Dictionary<string, string>? attributes = null) =>
        await Index.UpsertAsync(new ProductEmbedded(new ProductInfo(id, title, description, Attributes: attributes), "hash-" + id, "test", [1f, 0f], [0f, 1f]));

    private async Task<List<string>> LexicalAsync(string query) => [.. (await Index.SearchLexicalAsync(query, 10)).Select(h => h.Id)];

    private async Task<List<string>> TitleMatchesAsync(string query) => [.. (await Index.TitleMatchesAsync(query, 10)).Select(h => h.Id)];

    [Fact]
    public void Words_are_lower_cased_and_stemmed()
    {
        Assert.Equal(["red", "mug", "glass", "bus", "run", "shoe", "batteri", "3d"], TextTokens.Of("Red MUGS, glasses; bus — Running shoes! Batteries 3D"));
        Assert.Equal(TextTokens.OfQuery("running shoes"), TextTokens.Of("Running Shoe"));
    }

    [Fact]
    public void Chinese_runs_in_documents_keep_characters_bigrams_and_long_words()
    {
        Assert.Equal(["红", "色", "连", "衣", "裙", "红色", "色连", "连衣", "衣裙", "连衣裙", "xl"], TextTokens.Of("红色连衣裙 XL"));
    }

    [Fact]
    public void Chinese_queries_are_segmented_into_words_without_particles()
    {
        Assert.Equal(["连衣裙", "连衣", "衣裙"], TextTokens.OfQuery("连衣裙"));
        Assert.Equal(["鞋", "red"], TextTokens.OfQuery("鞋 red"));
        // No bigram straddles two words ("天保"), and the particle 的 says nothing.
        var tokens = TextTokens.OfQuery("冬天保暖的衣物");
        Assert.Contains("冬天", tokens);
        Assert.Contains("衣物", tokens);
        Assert.DoesNotContain("天保", tokens);
        Assert.DoesNotContain("的", tokens);
    }

    [Fact]
    public void Trigrams_are_of_padded_words_long_enough()
    {
        Assert.Equal(["^re", "red", "ed$", "^mu", "mug", "ug$"], TextTokens.Trigrams("Red mug 红色 a"));
        Assert.Empty(TextTokens.Trigrams("red mug", minLength: 4));
    }

    [Theory]
    [InlineData("flat, no heel", "flat,", "heel")]
    [InlineData("the whole cat, not just the face", "the whole cat,", "face")]
    [InlineData("without the face", "", "face")]
    [InlineData("boots without laces but with a zip", "boots with a zip", "laces")]
    [InlineData("sneakers that aren't white", "sneakers that", "white")]
    [InlineData("要整匹马，不只是马头", "要整匹马，", "马头")]
    [InlineData("红色的 不要辣的", "红色的", "辣的")]
    [InlineData("无线耳机", "无线耳机", "")]
    [InlineData("red running shoes", "red running shoes", "")]
    public void Negations_split_what_is_asked_from_what_is_ruled_out(string text, string kept, string ruledOut)
    {
        Assert.Equal((kept, ruledOut), QueryNegation.Split(text));
    }

    [Fact]
    public void A_query_in_context_weighs_the_shoppers_words_over_the_context_and_drops_what_is_ruled_out()
    {
        var terms = LexicalTerms.Query("open", "File Folder", 0.5f);
        var weights = terms.Indices.Zip(terms.Values).ToDictionary(p => p.First, p => p.Second);
        Assert.Equal(1f, weights[LexicalTerms.TermId("open")]);
        Assert.Equal(0.5f, weights[LexicalTerms.TermId("file")]);
        Assert.Equal(0.5f, weights[LexicalTerms.TermId("folder")]);

        // A word both typed and in the context counts as typed; a ruled-out word is in neither.
        terms = LexicalTerms.Query("full moon", "Full Moon Face", 0.5f, ruledOut: "face");
        weights = terms.Indices.Zip(terms.Values).ToDictionary(p => p.First, p => p.Second);
        Assert.Equal(1f, weights[LexicalTerms.TermId("full")]);
        Assert.False(weights.ContainsKey(LexicalTerms.TermId("face")));
    }

    [Fact]
    public async Task Words_in_a_photos_context_find_the_variant_the_words_ask_for()
    {
        await AddAsync("folder", "File Folder");
        await AddAsync("open-folder", "Open File Folder");
        await AddAsync("open-book", "Open Book");
        var hits = await Index.SearchLexicalAsync(LexicalTerms.Query("open", "File Folder", 0.5f), 10);
        Assert.Equal("open-folder", hits[0].Id);
        Assert.Equal(["folder", "open-book", "open-folder"], hits.Select(h => h.Id).Order());
    }

    [Fact]
    public async Task Plurals_and_inflections_find_the_singular_title()
    {
        await AddAsync("shoe", "Running Shoe");
        await AddAsync("mug", "Red Mug");
        Assert.Equal(["shoe"], await LexicalAsync("running shoes"));
        Assert.Equal(["shoe"], await TitleMatchesAsync("running shoes"));
    }

    [Fact]
    public async Task A_misspelt_word_still_finds_its_product_by_trigrams()
    {
        await AddAsync("sneakers", "Running Sneakers");
        await AddAsync("headphones", "Wireless Headphones");
        await AddAsync("mug", "Red Mug");
        Assert.Empty(await LexicalAsync("sneekers"));
        Assert.Equal("sneakers", (await Index.FuzzyMatchesAsync("sneekers", 10))[0].Id);
        Assert.Equal("headphones", (await Index.FuzzyMatchesAsync("wirless headphnes", 10))[0].Id);
        Assert.Empty(await Index.FuzzyMatchesAsync("mug", 10)); // too short to spell loosely
    }

    [Fact]
    public void Term_ids_are_the_32_bit_fnv_1a_hash_of_the_utf8_token()
    {
        // The published FNV-1a test vectors, and a CJK token (UTF-8 E8 A1 A3 E8 A3 99), worked by hand from them.
        Assert.Equal(0x811c9dc5u, LexicalTerms.TermId(""));
        Assert.Equal(0xe40c292cu, LexicalTerms.TermId("a"));
        Assert.Equal(0xbf9cf968u, LexicalTerms.TermId("foobar"));
        var hash = 0x811c9dc5u;
        foreach (var b in new byte[] { 0xE8, 0xA1, 0xA3, 0xE8, 0xA3, 0x99 })
            hash = (hash ^ b) * 16777619u;
        Assert.Equal(hash, LexicalTerms.TermId("衣裙"));
    }

    [Fact]
    public async Task A_chinese_name_finds_its_product_above_ones_sharing_a_common_character()
    {
        await AddAsync("dress", "Dress", "衣服, 裙子", new() { ["title_zh"] = "连衣裙" });
        await AddAsync("coat", "Lab Coat", "外衣, 白衣, 实验服, 衣服", new() { ["title_zh"] = "白大褂" });
        await AddAsync("shoe", "Running Shoe", attributes: new() { ["title_zh"] = "跑步鞋" });
        Assert.Equal(["dress"], await LexicalAsync("连衣裙"));
        Assert.Equal(["dress"], await TitleMatchesAsync("连衣裙"));
        Assert.Equal(["shoe"], await LexicalAsync("鞋"));
    }

    [Fact]
    public async Task Lexical_scores_are_bm25_with_title_terms_weighted_and_the_configured_average_length()
    {
        await AddAsync("a", "Red Ceramic Mug", "kitchen");
        await AddAsync("b", "Blue Ceramic Vase", "home");
        await AddAsync("c", "Red Wool Scarf", "apparel");

        var hits = await Index.SearchLexicalAsync("red ceramic", 10);

        // Each product: 3 title tokens × 3 + 1 other = length 10. "red" is in a and c, "ceramic" in a and b; N = 3.
        static double Bm25(int tf, int length) => tf * 2.2 / (tf + 1.2 * (1 - 0.75 + 0.75 * length / LexicalTerms.AverageLength));
        var idf2 = Math.Log(1 + (3 - 2 + 0.5) / (2 + 0.5));
        Assert.Equal(["a", "b", "c"], hits.Select(h => h.Id));
        Assert.Equal(2 * idf2 * Bm25(3, 10), hits[0].Score, 1e-5);
        Assert.Equal(idf2 * Bm25(3, 10), hits[1].Score, 1e-5);
        Assert.Equal(idf2 * Bm25(3, 10), hits[2].Score, 1e-5);
        Assert.Empty(await LexicalAsync("bicycle"));
        Assert.Empty(await LexicalAsync("!!!"));
    }

    [Fact]
    public async Task Title_matches_need_every_query_word_and_prefer_the_closest_title()
    {
        await AddAsync("long", "Red Ceramic Coffee Mug Set of Four");
        await AddAsync("exact", "Red Ceramic Mug");
        await AddAsync("partial", "Red Mug", "ceramic");
        Assert.Equal(["exact", "long"], await TitleMatchesAsync("ceramic red mug"));
        await AddAsync("dress", "红色连衣裙");
        Assert.Equal(["dress"], await TitleMatchesAsync("连衣裙"));
    }

    [Fact]
    public async Task A_title_holding_all_but_one_query_word_is_no_title_match_however_short()
    {
        // The tightest cases: a title of exactly the m − 1 words it shares with an m-word query.
        await AddAsync("two", "Alpha Beta");
        await AddAsync("four", "Alpha Beta Gamma Delta");
        await AddAsync("all", "Alpha Beta Gamma Delta Epsilon Zeta Eta Theta Iota Kappa Lambda Mu");
        Assert.Equal(["four", "all"], await TitleMatchesAsync("alpha beta gamma"));
        Assert.Equal(["all"], await TitleMatchesAsync("alpha beta gamma delta epsilon"));
        Assert.Equal(["four", "all"], await TitleMatchesAsync("delta alpha"));
        Assert.Equal(["two", "four", "all"], await TitleMatchesAsync("beta"));
    }

    [Fact]
    public async Task Reindexing_a_product_replaces_its_terms()
    {
        await AddAsync("a", "Red Mug");
        await AddAsync("a", "Green Mug");
        Assert.Empty(await LexicalAsync("red"));
        Assert.Empty(await TitleMatchesAsync("red"));
        Assert.Equal(["a"], await LexicalAsync("green"));
        Assert.Equal(["a"], await TitleMatchesAsync("green mug"));
        Assert.Equal(1, await Index.CountAsync());
    }

    [Fact]
    public async Task A_collection_without_the_lexical_spaces_is_remade_and_its_products_count_as_lost()
    {
        // The collection as the platform made it before lexical terms moved into the store.
        var directory = Directory.CreateTempSubdirectory("platform-lexical-old-").FullName;
        try
        {
            using (var store = EmbeddedVectorStore.Open(directory))
            {
                var dense = new VectorParams(2, Distance.Cosine);
                await store.CreateCollectionAsync("products", new CollectionSchema(new Dictionary<string, VectorParams> { ["image"] = dense, ["text"] = dense }));
                await store.UpsertAsync("products", [new VectorPoint("old", new Dictionary<string, float[]> { ["image"] = [1f, 0f], ["text"] = [1f, 0f] })]);
            }
            using (var store = EmbeddedVectorStore.Open(directory))
            {
                var index = new ProductIndex(store, new ProductIndex.Settings(2));
                Assert.Empty(await index.StoredIdsAsync());
                Assert.True(index.Recreated);
                await index.UpsertAsync(new ProductEmbedded(new ProductInfo("new", "Blue Kettle"), "h", "test", [1f, 0f], [0f, 1f]));
                Assert.Equal(["new"], await index.StoredIdsAsync());
                Assert.Equal(["new"], (await index.SearchLexicalAsync("kettle", 5)).Select(h => h.Id));
            }
            using (var store = EmbeddedVectorStore.Open(directory))
            {
                // Reopened, the schema matches: nothing is remade, and lexical search works at once.
                var index = new ProductIndex(store, new ProductIndex.Settings(2));
                Assert.Equal(["new"], (await index.TitleMatchesAsync("kettle blue", 5)).Select(h => h.Id));
                Assert.False(index.Recreated);
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
