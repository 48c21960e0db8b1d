using Platform.Search;

namespace Platform.Services.Tests;

public sealed class LexicalTests
{
    [Fact]
    public void Words_are_lower_cased_and_plurals_folded()
    {
        Assert.Equal(["red", "mug", "glass", "bus", "running", "shoe"], TextTokens.Of("Red MUGS, glasses; bus — Running shoes!"));
    }

    [Fact]
    public void Chinese_runs_become_characters_and_bigrams_in_documents()
    {
        Assert.Equal(["红", "红色", "色", "色连", "连", "连衣", "衣", "衣裙", "裙", "xl"], TextTokens.Of("红色连衣裙 XL"));
    }

    [Fact]
    public void Chinese_queries_use_bigrams_unless_a_single_character()
    {
        Assert.Equal(["连衣", "衣裙"], TextTokens.OfQuery("连衣裙"));
        Assert.Equal(["鞋", "red"], TextTokens.OfQuery("鞋 red"));
    }

    [Fact]
    public void A_chinese_name_finds_its_product_above_ones_sharing_a_common_character()
    {
        var index = new LexicalIndex();
        index.Upsert("dress", ["Dress", "连衣裙"], ["衣服, 裙子"]);
        index.Upsert("coat", ["Lab Coat", "白大褂"], ["外衣, 白衣, 实验服, 衣服"]);
        index.Upsert("shoe", ["Running Shoe", "跑步鞋"], []);
        Assert.Equal(["dress"], index.Search("连衣裙", 10).Select(h => h.Id));
        Assert.Equal(["dress"], index.TitleMatches("连衣裙", 10));
        Assert.Equal("shoe", index.Search("鞋", 10).Single().Id);
    }

    [Fact]
    public void Bm25_ranks_documents_with_more_of_the_rare_terms_first()
    {
        var index = new LexicalIndex();
        index.Upsert("a", "Red Ceramic Mug", ["kitchen"]);
        index.Upsert("b", "Blue Ceramic Vase", ["home"]);
        index.Upsert("c", "Red Wool Scarf", ["apparel"]);
        var hits = index.Search("red ceramic", 10);
        Assert.Equal("a", hits[0].Id);
        Assert.Equal(["a", "b", "c"], hits.Select(h => h.Id).Order());
        Assert.Empty(index.Search("bicycle", 10));
    }

    [Fact]
    public void Title_matches_need_every_query_word_and_prefer_the_closest_title()
    {
        var index = new LexicalIndex();
        index.Upsert("long", "Red Ceramic Coffee Mug Set of Four", []);
        index.Upsert("exact", "Red Ceramic Mug", []);
        index.Upsert("partial", "Red Mug", ["ceramic"]);
        Assert.Equal(["exact", "long"], index.TitleMatches("ceramic red mug", 10));
        index.Upsert("dress", "红色连衣裙", []);
        Assert.Equal(["dress"], index.TitleMatches("连衣裙", 10));
    }

    [Fact]
    public void Reindexing_and_removing_a_document_update_its_terms()
    {
        var index = new LexicalIndex();
        index.Upsert("a", "Red Mug", []);
        index.Upsert("a", "Green Mug", []);
        Assert.Empty(index.Search("red", 10));
        Assert.Equal("a", index.Search("green", 10).Single().Id);
        index.Remove("a");
        Assert.Equal(0, index.Count);
        Assert.Empty(index.Search("mug", 10));
    }
}
