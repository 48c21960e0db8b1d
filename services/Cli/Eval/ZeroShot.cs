using System.Numerics.Tensors;
using Platform.Inference;

namespace Platform.Cli.Eval;

/// <summary>Accuracy on one class of a zero-shot classification.</summary>
public sealed record ClassAccuracy(string Class, int Images, int Correct, double Accuracy);

/// <summary>
/// A zero-shot classification run: accuracy over all images, the mean of per-class accuracies (macro), the share of
/// the largest class (what always guessing it would score), per-class accuracy and the confusion matrix
/// (rows: true class, columns: predicted, in <see cref="Classes"/> order).
/// </summary>
public sealed record ClassificationResult(string Name, string Description, int Images, double Accuracy, double MacroAccuracy,
    double MajorityBaseline, IReadOnlyList<string> Classes, IReadOnlyList<ClassAccuracy> PerClass, int[][] Confusion);

/// <summary>Zero-shot category classification: the nearest class prompt embedding (cosine) to an image embedding.</summary>
public sealed class ZeroShotClassifier
{
    /// <summary>Prompt templates; each class's vector is the normalised mean of its prompts' embeddings.</summary>
    public static readonly string[] Templates =
    [
        "a photo of {0}.",
        "a picture of {0}.",
        "an emoji of {0}.",
        "an icon of {0}.",
        "a 3d render of {0}.",
        "a product from the category {0}.",
    ];

    private readonly List<(string Class, float[] Vector)> _classes;

    public ZeroShotClassifier(ClipEncoder encoder, IEnumerable<string> classes)
    {
        _classes = [];
        foreach (var name in classes.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            var prompts = Templates.Select(t => string.Format(System.Globalization.CultureInfo.InvariantCulture, t, Phrase(name))).ToList();
            var mean = new float[encoder.Dimension];
            foreach (var vector in encoder.EncodeTexts(prompts))
                TensorPrimitives.Add(mean, Normalised(vector), mean);
            _classes.Add((name, Normalised(mean)));
        }
    }

    public IReadOnlyList<string> Classes => _classes.ConvertAll(c => c.Class);

    /// <summary>"Food &amp; Drink" → "food and drink".</summary>
    public static string Phrase(string category) => category.Replace("&", "and", StringComparison.Ordinal).ToLowerInvariant().Trim();

    public string Predict(float[] image)
    {
        var vector = Normalised(image);
        var best = _classes[0].Class;
        var bestScore = float.NegativeInfinity;
        foreach (var (name, classVector) in _classes)
        {
            var score = TensorPrimitives.Dot(vector, classVector);
            if (score > bestScore)
                (best, bestScore) = (name, score);
        }
        return best;
    }

    public ClassificationResult Evaluate(string name, string description, IReadOnlyList<(string TrueClass, float[] Embedding)> items)
    {
        var classes = Classes;
        var index = classes.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i, StringComparer.Ordinal);
        var confusion = classes.Select(_ => new int[classes.Count]).ToArray();
        var correct = 0;
        foreach (var (truth, embedding) in items)
        {
            var predicted = Predict(embedding);
            confusion[index[truth]][index[predicted]]++;
            if (predicted == truth)
                correct++;
        }
        var perClass = classes.Select((c, i) =>
        {
            var n = confusion[i].Sum();
            return new ClassAccuracy(c, n, confusion[i][i], n == 0 ? 0 : (double)confusion[i][i] / n);
        }).ToList();
        var present = perClass.Where(c => c.Images > 0).ToList();
        return new ClassificationResult(name, description, items.Count,
            items.Count == 0 ? 0 : (double)correct / items.Count,
            present.Count == 0 ? 0 : present.Average(c => c.Accuracy),
            items.Count == 0 ? 0 : (double)perClass.Max(c => c.Images) / items.Count,
            classes, perClass, confusion);
    }

    private static float[] Normalised(float[] vector)
    {
        var norm = TensorPrimitives.Norm(vector);
        var result = new float[vector.Length];
        if (norm > 0)
            TensorPrimitives.Divide(vector, norm, result);
        return result;
    }
}
