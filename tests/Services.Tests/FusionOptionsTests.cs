using Platform.Contracts.Grains;
using Platform.Retrieval;

namespace Platform.Services.Tests;

/// <summary>How a query's signal weights come from the package's fusion and the request.</summary>
public sealed class FusionOptionsTests
{
    [Fact]
    public void Words_mostly_in_cjk_take_the_cjk_vector_weights_and_others_the_main_ones()
    {
        var fusion = new FusionOptions { TextVectorWeight = 1, ImageVectorWeight = 0.5, CjkTextVectorWeight = 0.25, CjkImageVectorWeight = 2 };

        var english = fusion.Resolve(null);
        var chinese = fusion.Resolve(null, words: QueryWords.Cjk);

        Assert.Equal((1.0, 0.5), (english.TextVector, english.ImageVector));
        Assert.Equal((0.25, 2.0), (chinese.TextVector, chinese.ImageVector));
    }

    [Fact]
    public void Without_cjk_weights_cjk_words_weigh_as_the_others_and_a_request_override_wins()
    {
        var fusion = new FusionOptions { TextVectorWeight = 1, ImageVectorWeight = 0.5 };

        Assert.Equal((1.0, 0.5), (fusion.Resolve(null, words: QueryWords.Cjk).TextVector, fusion.Resolve(null, words: QueryWords.Cjk).ImageVector));
        var asked = new FusionOptions { CjkTextVectorWeight = 0 }.Resolve(new SignalWeights { TextVector = 3 }, words: QueryWords.Cjk);
        Assert.Equal(3.0, asked.TextVector);
    }

    [Theory]
    [InlineData("something warm for my hands", QueryWords.Sentence)]
    [InlineData("a gift for a runner", QueryWords.Sentence)]
    [InlineData("red shoes", QueryWords.Keywords)]
    [InlineData("sneekers", QueryWords.Keywords)]
    [InlineData("冬天保暖的手套给我妈妈", QueryWords.Cjk)]
    [InlineData("  ", QueryWords.Keywords)]
    public void A_query_of_enough_words_is_a_sentence_and_cjk_words_never_are(string words, QueryWords kind) =>
        Assert.Equal(kind, new FusionOptions { SentenceWords = 3 }.KindOf(words));

    [Fact]
    public void A_sentence_takes_the_sentence_weights_and_keywords_keep_theirs()
    {
        var fusion = new FusionOptions
        {
            SentenceWords = 3, FuzzyWeight = 2, TextVectorWeight = 0.5, ImageVectorWeight = 0.5,
            SentenceFuzzyWeight = 1, SentenceTextVectorWeight = 2, SentenceImageVectorWeight = 1, SentenceLexicalWeight = 0.25,
        };

        var keywords = fusion.Resolve(null, words: fusion.KindOf("warm gloves"));
        var sentence = fusion.Resolve(null, words: fusion.KindOf("something warm for my hands"));

        Assert.Equal((2.0, 0.5, 0.5), (keywords.Fuzzy!.Value, keywords.TextVector!.Value, keywords.ImageVector!.Value));
        Assert.Equal((1.0, 2.0, 1.0), (sentence.Fuzzy!.Value, sentence.TextVector!.Value, sentence.ImageVector!.Value));
        // Unset sentence weights (the title match here) are the others'.
        Assert.Equal((0.25, fusion.TitleMatchWeight), (sentence.Lexical!.Value, sentence.Title!.Value));
        Assert.Equal(fusion.LexicalWeight, keywords.Lexical!.Value);
    }

    [Fact]
    public void With_no_sentence_length_no_query_is_a_sentence()
    {
        var fusion = new FusionOptions { SentenceTextVectorWeight = 4 };

        Assert.Equal(QueryWords.Keywords, fusion.KindOf("something warm for my hands on a cold winter morning"));
        Assert.Equal(fusion.TextVectorWeight, fusion.Resolve(null, words: fusion.KindOf("something warm for my hands")).TextVector);
    }

    [Fact]
    public void The_package_file_carries_the_cjk_weights()
    {
        var dir = Directory.CreateTempSubdirectory("fusion-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "fusion.json"), """{ "textVectorWeight": 0.5, "cjkTextVectorWeight": 2 }""");
            var fusion = FusionOptions.ForModel(dir);
            Assert.Equal((0.5, 2.0, (double?)null), (fusion.TextVectorWeight, fusion.CjkTextVectorWeight, fusion.CjkImageVectorWeight));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
