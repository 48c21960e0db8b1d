using Platform.Contracts;
using Platform.Encoder;

namespace Platform.Services.Tests;

/// <summary>The text a product's text vector is made from.</summary>
public sealed class ProductTextTests
{
    [Fact]
    public void Title_category_descriptive_attributes_then_description()
    {
        var product = new ProductInfo("emoji-1f435", "Monkey Face", "Monkey face figurine, hand-painted. 猴头", "Animals & Nature", 43.49m,
            new Dictionary<string, string>
            {
                ["tags"] = "animal, banana, face, monkey",
                ["emoji"] = "1F435",          // a code: no lower-case letter
                ["title_zh"] = "猴头",          // Chinese: left to the CJK tower's own texts
                ["subcategory"] = "animal-mammal",
                ["size"] = "42",
            });

        Assert.Equal("Monkey Face. Animals & Nature. animal-mammal, animal, banana, face, monkey. Monkey face figurine, hand-painted. 猴头",
            ProductText.Of(product));
    }

    [Fact]
    public void A_product_with_a_title_alone_is_its_title()
    {
        Assert.Equal("Kite", ProductText.Of(new ProductInfo("p1", "Kite", null, null, 1m)));
    }
}
