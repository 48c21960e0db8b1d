using System.Text;
using Platform.Contracts;
using Platform.Inference;

namespace Platform.Encoder;

/// <summary>
/// The texts of a product that the text tower encodes; its text vector is their embeddings' mean. A sentence
/// encoder's mean pooling lets a long description outweigh the product's name, so a product with a description has
/// two texts: its name and descriptive words alone, and the same followed by the description. Measured with
/// shopping-minilm on the dev set's English queries against the demo catalog, text vectors alone (R@10): title,
/// category and description 0.48; with the attribute words 0.545; the description's Chinese name left out 0.557;
/// the name and words alone 0.572; the mean of the two texts 0.579.
/// </summary>
public static class ProductText
{
    /// <summary>
    /// Title first (it survives truncation to the context length), then the category and the descriptive attribute
    /// values (the merchant's tags, subcategory, colour, material…); the second text adds the description. An
    /// attribute value counts as descriptive when it has a lower-case letter (so codes and numbers such as "1F435" or
    /// "42" stay out) and is not mostly CJK (a Chinese attribute would turn an English text over to the CJK tower's
    /// reading, or add tokens an English tower cannot read). For the same reason a text not mostly in CJK leaves the
    /// CJK runs of its description out ("… for a shelf or desk. 猴头": the English tower reads 猴头 as unknown pieces);
    /// lexical search still has them.
    /// </summary>
    public static IReadOnlyList<string> Of(ProductInfo product)
    {
        var parts = new List<string>(3) { product.Title };
        if (!string.IsNullOrWhiteSpace(product.Category))
            parts.Add(product.Category);
        if (product.Attributes is { Count: > 0 } attributes)
        {
            var words = attributes.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => a.Value?.Trim())
                .Where(v => !string.IsNullOrEmpty(v) && v.Any(char.IsLower) && !CjkScript.IsMostlyCjk(v)).ToList();
            if (words.Count > 0)
                parts.Add(string.Join(", ", words));
        }
        var name = string.Join(". ", parts);
        if (string.IsNullOrWhiteSpace(product.Description))
            return [name];
        var description = CjkScript.IsMostlyCjk(name) ? product.Description.Trim() : WithoutCjk(product.Description);
        return description.Length == 0 ? [name] : [name, $"{name}. {description}"];
    }

    /// <summary>The texts of a batch of products in one list (for one forward pass), and their embeddings folded back per product.</summary>
    public sealed class Batch
    {
        private readonly int[] _start;

        private Batch(List<string> texts, int[] start) => (Texts, _start) = (texts, start);

        /// <summary>Every product's texts, product after product.</summary>
        public IReadOnlyList<string> Texts { get; }

        public static Batch Of(IEnumerable<ProductInfo> products)
        {
            var texts = new List<string>();
            var start = new List<int>();
            foreach (var product in products)
            {
                start.Add(texts.Count);
                texts.AddRange(ProductText.Of(product));
            }
            start.Add(texts.Count);
            return new Batch(texts, [.. start]);
        }

        /// <summary>Each product's text vector: the L2-normalised mean of its texts' embeddings (in <see cref="Texts"/>' order).</summary>
        /// <exception cref="ArgumentException">Not one embedding per text.</exception>
        public float[][] Vectors(IReadOnlyList<float[]> embeddings)
        {
            if (embeddings.Count != Texts.Count)
                throw new ArgumentException($"{embeddings.Count} embeddings for {Texts.Count} product texts", nameof(embeddings));
            var vectors = new float[_start.Length - 1][];
            for (var p = 0; p < vectors.Length; p++)
            {
                var (first, end) = (_start[p], _start[p + 1]);
                if (end - first == 1)
                {
                    vectors[p] = embeddings[first];
                    continue;
                }
                var mean = new float[embeddings[first].Length];
                for (var t = first; t < end; t++)
                {
                    for (var i = 0; i < mean.Length; i++)
                        mean[i] += embeddings[t][i];
                }
                var norm = MathF.Sqrt(mean.Sum(x => x * x));
                if (norm > 0)
                {
                    for (var i = 0; i < mean.Length; i++)
                        mean[i] /= norm;
                }
                vectors[p] = mean;
            }
            return vectors;
        }
    }

    /// <summary><paramref name="text"/> without its CJK characters, its spaces collapsed and the punctuation they leave at the end dropped.</summary>
    private static string WithoutCjk(string text)
    {
        var kept = new StringBuilder(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            if (CjkScript.IsCjk(rune))
                kept.Append(' ');
            else
                kept.Append(rune.ToString());
        }
        var collapsed = string.Join(' ', kept.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries));
        return collapsed.TrimEnd(' ', ',', ';', ':', '(', '[', '/', '-');
    }
}
