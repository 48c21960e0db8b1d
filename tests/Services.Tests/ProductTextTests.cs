using Platform.Contracts;
using Platform.Encoder;

namespace Platform.Services.Tests;

/// <summary>The texts a product's text vector is made from, and how their embeddings make it.</summary>
public sealed class ProductTextTests
{
    private static readonly ProductInfo Monkey = new("emoji-1f435", "Monkey Face", "Monkey face figurine, hand-painted. 猴头", "Animals & Nature", 43.49m,
        new Dictionary<string, string>
        {
            ["tags"] = "animal, banana, face, monkey",
            ["emoji"] = "1F435",          // a code: no lower-case letter
            ["title_zh"] = "猴头",          // Chinese: left to the CJK tower's own texts
            ["subcategory"] = "animal-mammal",
            ["size"] = "42",
        });

    [Fact]
    public void The_name_with_its_descriptive_words_alone_and_then_with_the_description_less_its_chinese()
    {
        Assert.Equal(
            [
                "Monkey Face. Animals & Nature. animal-mammal, animal, banana, face, monkey",
                "Monkey Face. Animals & Nature. animal-mammal, animal, banana, face, monkey. Monkey face figurine, hand-painted.",
            ],
            ProductText.Of(Monkey));
    }

    [Fact]
    public void A_product_with_a_title_alone_is_its_title()
    {
        Assert.Equal(["Kite"], ProductText.Of(new ProductInfo("p1", "Kite", null, null, 1m)));
    }

    [Fact]
    public void A_chinese_product_keeps_its_chinese_description_and_an_english_one_whose_description_is_all_chinese_has_one_text()
    {
        Assert.Equal(["跑步鞋", "跑步鞋. 轻便透气的跑步鞋"], ProductText.Of(new ProductInfo("p2", "跑步鞋", "轻便透气的跑步鞋", null, 1m)));
        Assert.Equal(["Running Shoes"], ProductText.Of(new ProductInfo("p3", "Running Shoes", "轻便透气的跑步鞋", null, 1m)));
    }

    [Fact]
    public void A_batch_folds_each_products_embeddings_into_their_normalised_mean()
    {
        var batch = ProductText.Batch.Of([Monkey, new ProductInfo("p1", "Kite", null, null, 1m)]);
        Assert.Equal(3, batch.Texts.Count);

        var vectors = batch.Vectors([[1f, 0f], [0f, 1f], [0.6f, 0.8f]]);

        Assert.Equal(2, vectors.Length);
        Assert.Equal(MathF.Sqrt(0.5f), vectors[0][0], 1e-6f);
        Assert.Equal(MathF.Sqrt(0.5f), vectors[0][1], 1e-6f);
        Assert.Equal([0.6f, 0.8f], vectors[1]);
        Assert.Throws<ArgumentException>(() => batch.Vectors([[1f, 0f]]));
    }
}
