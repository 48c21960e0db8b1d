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
        var chinese = fusion.Resolve(null, cjkWords: true);

        Assert.Equal((1.0, 0.5), (english.TextVector, english.ImageVector));
        Assert.Equal((0.25, 2.0), (chinese.TextVector, chinese.ImageVector));
    }

    [Fact]
    public void Without_cjk_weights_cjk_words_weigh_as_the_others_and_a_request_override_wins()
    {
        var fusion = new FusionOptions { TextVectorWeight = 1, ImageVectorWeight = 0.5 };

        Assert.Equal((1.0, 0.5), (fusion.Resolve(null, cjkWords: true).TextVector, fusion.Resolve(null, cjkWords: true).ImageVector));
        var asked = new FusionOptions { CjkTextVectorWeight = 0 }.Resolve(new SignalWeights { TextVector = 3 }, cjkWords: true);
        Assert.Equal(3.0, asked.TextVector);
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
