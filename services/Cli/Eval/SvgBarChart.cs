using System.Globalization;
using System.Security;
using System.Text;

namespace Platform.Cli.Eval;

/// <summary>
/// A small grouped bar chart as a standalone SVG: values in [0, 1], drawn as percentages; one group per label, one bar per series;
/// a missing value leaves a gap marked "n/a". No dependencies; the output depends only on the inputs.
/// </summary>
public sealed class SvgBarChart(string title, string axisLabel, IReadOnlyList<string> series)
{
    private static readonly string[] Palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1"];

    private const double BarWidth = 18;
    private const double GroupGap = 26;
    private const double PlotHeight = 260;
    private const double Left = 56;
    private const double Top = 56;
    private const double Bottom = 100;
    private const double Right = 24;

    private readonly List<(string Label, IReadOnlyList<double?> Values)> _groups = [];

    public void AddGroup(string label, IReadOnlyList<double?> values)
    {
        if (values.Count != series.Count)
            throw new ArgumentException($"{values.Count} values for {series.Count} series", nameof(values));
        _groups.Add((label, values));
    }

    public string Render()
    {
        var groupWidth = series.Count * BarWidth + GroupGap;
        // Wide enough for the title too (about 7.5 px a character at 14 px bold).
        var plotWidth = Math.Max(_groups.Count * groupWidth, Math.Max(240, title.Length * 7.5 - Left));
        var width = Left + plotWidth + Right;
        var height = Top + PlotHeight + Bottom;
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture,
            $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{N(width)}\" height=\"{N(height)}\" viewBox=\"0 0 {N(width)} {N(height)}\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"11\">\n");
        svg.Append(CultureInfo.InvariantCulture, $"<rect width=\"{N(width)}\" height=\"{N(height)}\" fill=\"#ffffff\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{N(Left)}\" y=\"22\" font-size=\"14\" font-weight=\"bold\">{X(title)}</text>\n");

        // Legend, top right under the title.
        var legendX = Left;
        for (var s = 0; s < series.Count; s++)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{N(legendX)}\" y=\"32\" width=\"10\" height=\"10\" fill=\"{Palette[s % Palette.Length]}\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{N(legendX + 14)}\" y=\"41\">{X(series[s])}</text>\n");
            legendX += 24 + 7 * series[s].Length;
        }

        // Grid and y axis.
        for (var tick = 0; tick <= 5; tick++)
        {
            var value = tick / 5.0;
            var y = Top + PlotHeight * (1 - value);
            svg.Append(CultureInfo.InvariantCulture,
                $"<line x1=\"{N(Left)}\" y1=\"{N(y)}\" x2=\"{N(Left + plotWidth)}\" y2=\"{N(y)}\" stroke=\"{(tick == 0 ? "#333333" : "#dddddd")}\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{N(Left - 6)}\" y=\"{N(y + 4)}\" text-anchor=\"end\">{(value * 100).ToString("0", CultureInfo.InvariantCulture)}</text>\n");
        }
        var midY = Top + PlotHeight / 2;
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"16\" y=\"{N(midY)}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {N(midY)})\">{X(axisLabel)}</text>\n");

        // Bars.
        for (var g = 0; g < _groups.Count; g++)
        {
            var (label, values) = _groups[g];
            var x0 = Left + g * groupWidth + GroupGap / 2;
            for (var s = 0; s < values.Count; s++)
            {
                var x = x0 + s * BarWidth;
                if (values[s] is not { } v)
                {
                    svg.Append(CultureInfo.InvariantCulture,
                        $"<text x=\"{N(x + BarWidth / 2)}\" y=\"{N(Top + PlotHeight - 4)}\" text-anchor=\"middle\" font-size=\"8\" fill=\"#999999\">n/a</text>\n");
                    continue;
                }
                v = Math.Clamp(v, 0, 1);
                var h = PlotHeight * v;
                svg.Append(CultureInfo.InvariantCulture,
                    $"<rect x=\"{N(x + 1)}\" y=\"{N(Top + PlotHeight - h)}\" width=\"{N(BarWidth - 2)}\" height=\"{N(h)}\" fill=\"{Palette[s % Palette.Length]}\"><title>{X(series[s])} {X(label)}: {v.ToString("0.000", CultureInfo.InvariantCulture)}</title></rect>");
                svg.Append(CultureInfo.InvariantCulture,
                    $"<text x=\"{N(x + BarWidth / 2)}\" y=\"{N(Top + PlotHeight - h - 3)}\" text-anchor=\"middle\" font-size=\"8\">{(v * 100).ToString("0", CultureInfo.InvariantCulture)}</text>\n");
            }
            var labelX = x0 + values.Count * BarWidth / 2;
            var labelY = Top + PlotHeight + 14;
            svg.Append(CultureInfo.InvariantCulture,
                $"<text x=\"{N(labelX)}\" y=\"{N(labelY)}\" text-anchor=\"end\" transform=\"rotate(-35 {N(labelX)} {N(labelY)})\">{X(label)}</text>\n");
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static string N(double x) => x.ToString("0.##", CultureInfo.InvariantCulture);

    private static string X(string text) => SecurityElement.Escape(text);
}
